"""The Streamlit behaviour pages/streamlit_patches.py works around is still there. When one of these fails after an
upgrade, read that module: the workaround may be needed no more, or may need changing."""

import sys
from pathlib import Path

import streamlit
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from pages import streamlit_patches

ROOT = Path(__file__).resolve().parents[1]


def test_the_patches_were_written_for_the_installed_streamlit():
    assert streamlit.__version__ == streamlit_patches.WRITTEN_FOR, (
        f"Streamlit {streamlit.__version__} is installed; pages/streamlit_patches.py was written for "
        f"{streamlit_patches.WRITTEN_FOR}: check each workaround against the new version, then update WRITTEN_FOR"
    )


def test_the_app_replaces_streamlits_cleanup():
    streamlit_patches.skip_keras_cleanup_after_every_run()
    assert script_runner._clean_problem_modules is not streamlit_patches.STREAMLIT_CLEANUP


def test_streamlit_still_clears_the_keras_session_after_every_run(monkeypatch):
    """What workaround 1 skips: the cleanup Streamlit runs after each script run calls Keras' clear_session()."""
    calls = []
    fake_keras = type(sys)("keras")
    fake_keras.backend = type(sys)("keras.backend")
    fake_keras.backend.clear_session = lambda: calls.append("cleared")
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    streamlit_patches.STREAMLIT_CLEANUP()
    assert calls == ["cleared"]


def test_a_pages_folder_still_puts_a_fresh_server_in_legacy_multipage_mode(monkeypatch):
    """What workaround 2 leaves: the first PagesManager of a process decides the mode from a pages/ folder."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    PagesManager(str(ROOT / "app.py"))
    assert PagesManager.uses_pages_directory is True


def _canvas_frontend() -> str:
    from importlib.util import find_spec

    # Found, not imported: importing it registers its component, which needs a running server.
    build = Path(find_spec("streamlit_drawable_canvas").origin).parent / "frontend" / "build"
    return "".join(path.read_text() for path in build.glob("index-*.js"))


def test_the_pen_up_sender_was_written_for_the_installed_canvas():
    from importlib.metadata import version

    from pages import canvas_pen_up

    assert version("streamlit-drawable-canvas") == canvas_pen_up.WRITTEN_FOR, (
        "pages/canvas_pen_up.py presses the canvas toolbar's send button; check the new canvas still debounces its "
        "sends and still has that button, then update WRITTEN_FOR"
    )


def test_the_canvas_still_delays_its_sends_and_still_has_the_button_that_sends_at_once():
    """What pages/canvas_pen_up.py relies on: a debounced send of 200 ms, and a toolbar button that sends now."""
    from pages.canvas_pen_up import SEND_BUTTON_LABEL

    source = _canvas_frontend()
    assert "Bc = 200" in source  # the debounce the sender shortcuts
    assert f'"{SEND_BUTTON_LABEL}", t.onSend' in source  # the button, wired to the send-now handler
    assert "upper-canvas" in source  # the element a stroke starts on
