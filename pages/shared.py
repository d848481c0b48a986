"""What several pages share: cached data and models, the run store. Not a page (app.py does not list it)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mnist_core.data import MnistData, load_mnist
from mnist_core.store import RunStore


def _no_keras_cleanup_after_every_run() -> None:
    """Streamlit calls keras.backend.clear_session() after every script run once Keras is loaded, for apps that
    build models in the script. That is a full garbage collection, about 0.12 s of CPU here, on every widget
    change and on every once-a-second poll of the Train page's live view, for the rest of the server's life.
    This app builds a model in the server in one place only (the Train page's summary), which clears the session
    itself; loaded models (Draw, Runs) are cached and never rebuilt. So skip Streamlit's per-run call."""
    from streamlit.runtime.scriptrunner import script_runner

    script_runner._clean_problem_modules = lambda: None


_no_keras_cleanup_after_every_run()


def _leave_legacy_pages_mode() -> None:
    """Make sure app.py's navigation is in charge, whatever URL a fresh server is first asked for.

    A `pages/` folder puts a fresh Streamlit server in its legacy multipage mode until app.py has called
    st.navigation once: a first request for /train then runs pages/train.py alone, with a sidebar listing every file
    in pages/. Leaving that mode and rerunning runs app.py, whose st.navigation opens the page that was asked for.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()


@st.cache_data(show_spinner="Loading MNIST...")
def mnist() -> MnistData:
    """The arrays load once per server process; moving through the data set never reloads them."""
    return load_mnist()


def store() -> RunStore:
    return RunStore()


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def predictor(model_path: str, modified: float):
    """One loaded model per file version (`modified` makes a retrained file load anew)."""
    from mnist_core.predict import Predictor

    return Predictor.from_path(model_path)


def load_predictor(model_path: str | Path):
    path = Path(model_path)
    return predictor(str(path), path.stat().st_mtime)


def init_state(defaults: dict) -> None:
    """Set up a page's session state once: keys already there (the user's choices) are left as they are."""
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


# Widgets keep their values for the whole session: leaving a page and coming back finds the controls as they were.
KEEP = "session"
