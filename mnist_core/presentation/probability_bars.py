"""The Draw page's answer: the network's probability for each digit as ten bars of plain HTML and CSS.

A Plotly figure took about 100 ms of the browser's time to appear after the answer's digit (measured in chromium,
bench/bench_draw_loop.py), the largest part of the draw loop once the canvas sends at pen-up; ten bars need no
charting library. Each bar's tooltip and the figure's label for screen readers carry every value.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mnist_core.data.mnist import NUM_CLASSES
from mnist_core.i18n import Translator, translator
from mnist_core.presentation.charts import OTHER_DIGITS_COLOUR, TRAIN_COLOUR

CSS_CLASS = "mnist-lab-probabilities"
SHOWN_FROM = 0.005  # a bar's value is written above it from half a percent up; the tooltip always has it
HEIGHT_PX = 190

_STYLE = f"""<style>
.{CSS_CLASS} {{ margin: 0; font-family: inherit; }}
.{CSS_CLASS} figcaption {{ font-weight: 600; font-size: 0.95rem; margin-bottom: 0.4rem; }}
.{CSS_CLASS} .bars {{ display: flex; gap: 6px; align-items: flex-end; height: {HEIGHT_PX}px;
  border-bottom: 1px solid rgba(49, 51, 63, 0.2); }}
.{CSS_CLASS} .bar {{ flex: 1; display: flex; flex-direction: column; justify-content: flex-end; height: 100%; }}
.{CSS_CLASS} .fill {{ background: {OTHER_DIGITS_COLOUR}; border-radius: 3px 3px 0 0; min-height: 1px; }}
.{CSS_CLASS} .answer .fill {{ background: {TRAIN_COLOUR}; }}
.{CSS_CLASS} .value {{ font-size: 0.75rem; text-align: center; color: rgba(49, 51, 63, 0.7); min-height: 1.1rem; }}
.{CSS_CLASS} .answer .value {{ color: {TRAIN_COLOUR}; font-weight: 600; }}
.{CSS_CLASS} .digits {{ display: flex; gap: 6px; }}
.{CSS_CLASS} .digits span {{ flex: 1; text-align: center; font-size: 0.85rem; }}
.{CSS_CLASS} .digits .answer {{ font-weight: 700; color: {TRAIN_COLOUR}; }}
</style>"""


def probability_bars_html(probabilities: Sequence[float], answer: int, t: Translator | None = None) -> str:
    """Ten bars, one per digit, each as tall as the network's probability for it; the answer's in the primary
    colour. A self-contained HTML snippet (its own <style>) for st.html."""
    if len(probabilities) != NUM_CLASSES:
        raise ValueError(f"expected {NUM_CLASSES} probabilities (got {len(probabilities)})")
    t = t or translator()
    values = [min(1.0, max(0.0, float(p))) for p in probabilities]
    title = t("Probability of each digit")
    spoken = ", ".join(
        t("digit {digit}: {probability}", digit=d, probability=t.percent(v, 1)) for d, v in enumerate(values)
    )
    bars, digits = [], []
    for digit, value in enumerate(values):
        chosen = " answer" if digit == answer else ""
        tooltip = escape(t("digit {digit}: {probability}", digit=digit, probability=t.percent(value, 1)))
        shown = escape(t.percent(value, 0)) if value >= SHOWN_FROM else ""
        bars.append(
            f'<div class="bar{chosen}" title="{tooltip}" data-digit="{digit}">'
            f'<span class="value">{shown}</span><div class="fill" style="height: {value * 100:.1f}%"></div></div>'
        )
        digits.append(f'<span class="{chosen.strip()}">{digit}</span>')
    return (
        f'{_STYLE}<figure class="{CSS_CLASS}" role="img" aria-label="{escape(title)}: {escape(spoken)}">'
        f"<figcaption>{escape(title)}</figcaption>"
        f'<div class="bars">{"".join(bars)}</div><div class="digits">{"".join(digits)}</div></figure>'
    )
