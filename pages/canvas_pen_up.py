"""Send a canvas stroke the moment the pen lifts, not 200 ms later. Not a page (app.py does not list it).

streamlit-drawable-canvas 0.13.0 (pinned in requirements.txt) sends a drawing to Python through a trailing debounce
of 200 ms (`Bc = 200` in its frontend/build/index-*.js: every finished path schedules the send), which is most of
the time a reader waits for the answer. Its toolbar's "Update the app with this drawing" button sends at once (it
cancels the pending send and sends the same drawing). This component, mounted beside the canvas, presses that button
as soon as a stroke that began on the canvas ends: the debounced send is cancelled, and exactly one send happens, as
before, only sooner. It renders nothing. tests/test_streamlit_patches.py fails when the installed canvas no longer
has the button or the debounce, so an upgrade knows to look here.
"""

from __future__ import annotations

import streamlit as st

WRITTEN_FOR = "0.13.0"  # streamlit-drawable-canvas
SEND_BUTTON_LABEL = "Update the app with this drawing"  # the canvas toolbar's button, as its frontend labels it

# A stroke is a pointer pressed on the canvas' upper <canvas> (inside the component's open shadow root) and released
# anywhere. On release, after the canvas' own handlers have finished the path (the next task: setTimeout 0), press
# that canvas' send button. Listening on window, in the capture phase for the press: the canvas may stop its events.
_JS = f"""
export default function () {{
  let pressed = null;
  const down = (event) => {{
    const canvas = event.composedPath().find((node) => node.classList && node.classList.contains("upper-canvas"));
    pressed = canvas ? canvas.getRootNode() : null;
  }};
  const up = () => {{
    const root = pressed;
    pressed = null;
    if (!root) return;
    setTimeout(() => {{
      const send = root.querySelector('button[aria-label="{SEND_BUTTON_LABEL}"]');
      if (send) send.click();
    }}, 0);
  }};
  window.addEventListener("pointerdown", down, true);
  window.addEventListener("pointerup", up, true);
  return () => {{
    window.removeEventListener("pointerdown", down, true);
    window.removeEventListener("pointerup", up, true);
  }};
}}
"""

_send_on_pen_up = st.components.v2.component("mnist_lab.canvas_send_on_pen_up", js=_JS, html="")


def send_strokes_on_pen_up(key: str) -> None:
    """Mount (once per run that draws the canvas) the listener that sends each stroke when the pen lifts."""
    _send_on_pen_up(key=key)
