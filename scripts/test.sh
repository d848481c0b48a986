#!/usr/bin/env bash
# Set everything up (chromium and postgresql included), then lint and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Lint and format first (rules in pyproject.toml): seconds, and a finding fails the run like a test.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The engine's architecture (layers, no cycles, no Streamlit in the engine) and its declared dependencies.
.venv/bin/lint-imports --no-cache
.venv/bin/deptry .
exec .venv/bin/python -m pytest "$@"
