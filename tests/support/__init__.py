"""Helpers the tests and the benchmarks share (the fixtures stay in the conftest.py files).

commands       the command line run as a user runs it; SMALL, a run that trains in seconds; wait_until
server         the real Streamlit server started as scripts/start.sh starts it, and Debian's chromium
pages          AppTest helpers: open a page, read what it shows, make finished and running runs
drawn_digits   the drawn-digit set: pen strokes rendered like canvas drawings and photos of paper
pg_cluster     a throwaway PostgreSQL server for the shared-study tests
process_guard  finding the processes a test started (by an environment marker) and stopping them by pid
"""
