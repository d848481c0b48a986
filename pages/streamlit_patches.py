"""Two workarounds for Streamlit behaviour this app cannot change, in one place, written for one version.

Streamlit 1.67.0 (pinned in requirements.txt). tests/test_streamlit_patches.py checks that the behaviour each
relies on is still there, and fails when an upgrade changes it: the next upgrade then knows to look here.

1. Keras' session cleared after every script run. Once Keras is loaded, Streamlit calls
   keras.backend.clear_session() after every run (script_runner._clean_problem_modules), for apps that build
   models in the script: a full garbage collection, about 0.12 s of CPU here, on every widget change and every
   once-a-second poll of the Train page's live view. This app builds a model in the server in one place only (the
   Train page's summary, which clears the session itself); loaded models are cached and never rebuilt.
2. Legacy multipage mode. A `pages/` folder beside app.py (the layout this project keeps) puts a fresh server in
   Streamlit's legacy multipage mode until app.py has called st.navigation once (PagesManager decides when the
   first session connects): a first request for /train then runs pages/train.py alone, without app.py.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx, script_runner

WRITTEN_FOR = "1.67.0"
# Streamlit's own per-run cleanup, kept so the test can check what it does after the app has replaced it.
STREAMLIT_CLEANUP = script_runner._clean_problem_modules


def skip_keras_cleanup_after_every_run() -> None:
    """Workaround 1: make Streamlit's per-run cleanup a no-op (it clears Keras, and matplotlib, which we do not use)."""
    script_runner._clean_problem_modules = lambda: None


def leave_legacy_pages_mode(app_ran: bool) -> None:
    """Workaround 2: if this run is Streamlit's legacy multipage mode, rerun so that app.py's navigation runs the page.

    Several tabs opened at once on a fresh server may all start in that mode. Such a run lists app.py itself among
    its pages, which app.py's navigation never does; leaving the mode and rerunning runs app.py, whose st.navigation
    opens the page that was asked for. On a server that happens only in a session's first run. AppTest
    (streamlit.testing) puts every run back in that mode; there a rerun would drop the button a test clicked, so a
    session that has run app.py before (`app_ran`) is left alone.
    """
    ctx = get_script_run_ctx()
    if ctx is None or app_ran:
        return
    app = Path(ctx.pages_manager.main_script_path).resolve()
    if any(Path(page.get("script_path") or "").resolve() == app for page in ctx.pages_manager.get_pages().values()):
        PagesManager.uses_pages_directory = False
        st.rerun()
