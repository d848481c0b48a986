"""The Draw page's probabilities as ten HTML bars (mnist_core/presentation/probability_bars.py)."""

from __future__ import annotations

import re

import pytest

from mnist_core.i18n import translator
from mnist_core.presentation.probability_bars import probability_bars_html


def test_each_bar_is_as_tall_as_its_probability_and_the_answer_stands_out():
    probabilities = [0.0, 0.01, 0.0, 0.95, 0.0, 0.04, 0.0, 0.0, 0.0, 0.0]
    html = probability_bars_html(probabilities, 3)
    heights = [float(h) for h in re.findall(r'class="fill" style="height: ([0-9.]+)%"', html)]
    assert heights == pytest.approx([p * 100 for p in probabilities])
    assert re.findall(r'class="bar answer" title="([^"]+)"', html) == ["digit 3: 95.0%"]
    assert html.count('class="bar answer"') == 1
    # Values under half a percent are left unwritten above their bars; every bar's tooltip has its value.
    shown = re.findall(r'<span class="value">([^<]*)</span>', html)
    assert shown == ["", "1%", "", "95%", "", "4%", "", "", "", ""]
    assert "digit 0: 0.0%" in html


def test_the_title_and_the_spoken_label_follow_the_readers_language():
    html = probability_bars_html([0.1] * 10, 0, t=translator("zh"))
    assert "每个数字的概率" in html
    assert 'aria-label="每个数字的概率: ' in html


def test_values_outside_zero_to_one_are_clipped_and_a_wrong_count_is_refused():
    html = probability_bars_html([1.2, -0.1] + [0.0] * 8, 0)
    assert 'style="height: 100.0%"' in html
    assert 'style="height: 0.0%"' in html
    with pytest.raises(ValueError, match="expected 10 probabilities"):
        probability_bars_html([0.5, 0.5], 0)
