"""What several pages share: the reader's language, cached data and models, the run store. Not a page (app.py
does not list it).

Each page starts with `t = tr()`, the translator of this session's reader, and writes what a person reads through
it: `t("Training images")`, `t("Start at (of {count})", count=t.number(n))`, `t.ngettext("{n} run", "{n} runs",
n)`, `t.message(error)` for an engine message. The language is looked up per session, never switched process-wide:
one server serves readers of both languages at once.

app.py imports this module before any page runs and runs every page through `run_page`. Tabs opening pages of a
freshly started server run their scripts at the same time, in threads of one process, and a module that one
thread is importing is visible, half-built, to the others (Plotly looks pandas up in sys.modules; two threads
importing TensorFlow at once fail with a deadlock error). So the libraries the pages share are imported here,
once, before any page runs, and a page's first run in the server process, which imports what it alone needs and
may load Keras or a model, runs alone; so does loading a model.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from pathlib import Path

import streamlit as st

from mnist_core.data.mnist import MnistData, load_mnist
from mnist_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator, language_of, translator
from mnist_core.networks import backend  # before any page imports TensorFlow: its start-up log stays hidden
from mnist_core.store import RunStore
from pages import streamlit_patches

# Imported here before any page runs: what the pages and their charts use (Plotly looks the others up).
SHARED_LIBRARIES = ("numpy", "pandas", "PIL.Image", "plotly.graph_objects")
for _library in SHARED_LIBRARIES:
    importlib.import_module(_library)

# The engine's packages, loaded whole here, in the one thread that first imports this module (Python's import lock
# makes every other thread wait for it). On a fresh server the first tabs run their page scripts at once, some
# without app.py (Streamlit's legacy mode, see streamlit_patches); two threads first importing different modules of
# one package can deadlock, each holding a module the other's package needs, and Python then hands one of them a
# half-made module ("cannot import name ... from partially initialized module"). So every page imports this module
# before any part of the engine, and the engine is whole by the time a page's own imports run. (mnist_core.study,
# 0.2 s of Optuna, is left to the Experiments page's first run.)
ENGINE_PACKAGES = (
    "mnist_core.data",
    "mnist_core.i18n",
    "mnist_core.networks",
    "mnist_core.store",
    "mnist_core.inspection",
    "mnist_core.jobs",
    "mnist_core.presentation",
)
for _package in ENGINE_PACKAGES:
    importlib.import_module(_package)

# Held by a page's first run in this server process, and while a model loads (it may import TensorFlow).
_first_runs = threading.RLock()
_pages_run_once: set[str] = set()
# In a session's state once app.py has run a page for it.
_APP_RAN = "shared.app_ran"


streamlit_patches.skip_keras_cleanup_after_every_run()


def run_page(page) -> None:
    """Run the page st.navigation chose (app.py calls this). A page's first run in this server process holds
    `_first_runs`, so no two pages import their libraries, or load Keras, at the same time."""
    st.session_state[_APP_RAN] = True
    if page.url_path in _pages_run_once:
        page.run()
        return
    with _first_runs:
        page.run()
    _pages_run_once.add(page.url_path)  # not if the run stopped early (a rerun, an error): the next run is first


def _leave_legacy_pages_mode() -> None:
    """Called by init_state(), store() and load_predictor(), one of which every page calls before its real work."""
    streamlit_patches.leave_legacy_pages_mode(app_ran=bool(st.session_state.get(_APP_RAN)))


@st.cache_data(show_spinner=False)
def _mnist() -> MnistData:
    return load_mnist()


_mnist_loaded = False


def mnist() -> MnistData:
    """The arrays load once per server process; moving through the data set never reloads them. The first load
    says so in the reader's language (a cache's own spinner text is fixed when the module loads)."""
    global _mnist_loaded
    if _mnist_loaded:
        return _mnist()
    t = tr()
    with st.spinner(t("Loading MNIST...")):
        data = _mnist()
    _mnist_loaded = True
    return data


def store() -> RunStore:
    _leave_legacy_pages_mode()
    return RunStore()


@st.cache_resource(show_spinner="Loading the model...", max_entries=4)
def predictor(model_path: str, version: int | None):
    """One loaded model per file version (`modified` makes a retrained file load anew)."""
    from mnist_core.inspection.predict import Predictor

    return Predictor.from_path(model_path)


def load_predictor(model_path: str | Path, version: int | None = 0):
    """The loaded model of a file; `version` (a run's `model_version`) makes a retrained file load anew."""
    _leave_legacy_pages_mode()
    with loading_keras():
        return predictor(str(model_path), version)


@contextlib.contextmanager
def loading_keras():
    """Hold this while doing what may import TensorFlow (loading a model, importing one, building one): never while
    another page's first run imports it. The server's first holder imports Keras with TensorFlow's start-up log kept
    off the terminal (mnist_core/networks/backend.py)."""
    with _first_runs:
        backend.import_keras()
        yield


def init_state(defaults: dict) -> None:
    """Set up a page's session state once: keys already there (the user's choices) are left as they are."""
    _leave_legacy_pages_mode()
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


# Widgets keep their values for the whole session: leaving a page and coming back finds the controls as they were.
KEEP = "session"


# --- the reader's language ------------------------------------------------------------------------------------
# The URL's ?lang= (a link, a reload, the sidebar control) names the language; the session remembers it, since a
# navigation link opens the next page without the query string (Streamlit clears it on a page switch).
LANGUAGE_PARAM = "lang"
_CHOSEN = "shared.language"
LANGUAGE_CONTROL = "shared.language_control"


def language() -> str:
    """This session's language: ?lang= in the URL, then the one chosen earlier in this session (put back in the
    URL, which the navigation dropped), then the browser's (any zh-*: Chinese), then English."""
    asked = language_of(st.query_params.get(LANGUAGE_PARAM))
    if asked:
        st.session_state[_CHOSEN] = asked
        return asked
    chosen = st.session_state.get(_CHOSEN)
    if chosen:
        st.query_params[LANGUAGE_PARAM] = chosen
        return chosen
    return language_of(st.context.locale) or DEFAULT_LANGUAGE


def tr() -> Translator:
    """The translator of this session's reader (a shared, read-only object: asking for it is a dict lookup)."""
    return translator(language())


def _language_chosen() -> None:
    chosen = st.session_state[LANGUAGE_CONTROL]
    st.session_state[_CHOSEN] = chosen
    st.query_params[LANGUAGE_PARAM] = chosen


def language_control() -> None:
    """The sidebar's English / 中文 switch (app.py draws it on every page). Its label is in both languages, so a
    reader who cannot read the current one still finds it."""
    st.session_state[LANGUAGE_CONTROL] = language()
    st.sidebar.segmented_control(
        "Language · 语言",
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=LANGUAGE_CONTROL,
        on_change=_language_chosen,
        required=True,
    )
