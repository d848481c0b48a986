"""bench/handwriting.py: the real handwriting the benchmark measures models on (UCI optdigits, 13 writers who are
not MNIST's), rendered as the Draw page's canvas sends a drawing and as a photo of paper."""

from __future__ import annotations

import numpy as np
import pytest

from bench.handwriting import CANVAS, load_optdigits, render_canvas, render_paper
from mnist_core.data.preprocess import open_image, prepare


@pytest.fixture(scope="module")
def digits():
    return load_optdigits()


def test_the_set_is_the_optdigits_test_set_offline(digits):
    assert digits.counts.shape == (1797, 8, 8)
    assert digits.counts.max() == 16
    assert sorted(set(digits.labels.tolist())) == list(range(10))
    assert min(np.bincount(digits.labels)) >= 170


def test_a_canvas_rendering_is_white_ink_on_black_like_the_draw_page_sends(digits):
    picture = render_canvas(digits.counts[0], np.random.default_rng(1))
    assert picture.shape == (CANVAS, CANVAS, 4)
    assert picture.dtype == np.uint8
    prepared = prepare(picture)
    assert prepared is not None
    assert not prepared.dark_on_light


def test_a_paper_rendering_is_a_jpeg_of_dark_ink_on_light_paper(digits):
    data = render_paper(digits.counts[0], np.random.default_rng(1))
    assert data[:3] == b"\xff\xd8\xff"  # a JPEG, as a phone saves it
    image = open_image(data, name="photo.jpg")
    prepared = prepare(image)
    assert prepared is not None
    assert prepared.dark_on_light


def test_renderings_are_the_same_for_the_same_seed_and_differ_between_seeds(digits):
    first = render_canvas(digits.counts[5], np.random.default_rng(3))
    assert np.array_equal(first, render_canvas(digits.counts[5], np.random.default_rng(3)))
    assert not np.array_equal(first, render_canvas(digits.counts[5], np.random.default_rng(4)))
