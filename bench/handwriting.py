"""Real handwriting by writers other than MNIST's, rendered as a canvas drawing and as a photo of paper.

The digits are UCI's "Optical Recognition of Handwritten Digits" test set (Alpaydin and Kaynak, Bogazici
University: 1,797 digits by 13 writers who wrote none of MNIST's), as scikit-learn ships it offline
(`sklearn.datasets.load_digits`). Each digit there is a 32x32 scan of a filled-in form, reduced to 8x8 counts of
inked pixels per 4x4 block (0 to 16). This module rebuilds a stroke shape from those counts (bicubic up-sampling,
then the half-ink contour), then draws it as a person would give it to MNIST Lab:

  canvas   white ink on black, on a 280x280 canvas like the Draw page's, at a random size and place, with the pen
           thinner or thicker (morphology), slanted and turned a little;
  paper    dark ink (black, blue or pencil grey) on uneven off-white paper, photographed: a smaller digit in a larger
           frame, lighting gradient, blur, sensor noise, slight perspective, JPEG.

Both go through the same preprocessing as the Draw page's canvas and uploads. The set is used only to measure
(bench/bench_handwriting.py), never to train or to choose a setting. Its 8x8 reduction loses detail the writers
put on paper: a figure here is a lower bound on how well the same writers' full-resolution digits would be read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

CANVAS = 280
PHOTO = 360
WRITERS = 13  # the UCI test set's writers (the training set's 30 are not in scikit-learn's copy)


@dataclass(frozen=True)
class HandwrittenDigits:
    counts: np.ndarray  # (N, 8, 8) inked pixels per 4x4 block, 0..16
    labels: np.ndarray  # (N,)
    source: str


def load_optdigits() -> HandwrittenDigits:
    from sklearn.datasets import load_digits  # the test group's dependency; the app never needs it

    digits = load_digits()
    return HandwrittenDigits(
        counts=np.asarray(digits.images, np.float32),
        labels=np.asarray(digits.target, int),
        source="UCI optdigits test set (scikit-learn load_digits): 13 writers, Bogazici University",
    )


def glyph(counts: np.ndarray, height: int) -> np.ndarray:
    """A stroke shape (float ink in [0, 1], about `height` px tall) rebuilt from an 8x8 block-count image."""
    fraction = Image.fromarray(np.asarray(counts, np.float32) / 16.0)
    big = np.asarray(fraction.resize((height, height), Image.Resampling.BICUBIC), np.float32)
    # The half-ink contour of the up-sampled counts is the stroke's edge; soften it to an anti-aliased edge.
    mask = Image.fromarray(np.uint8((big > 0.5) * 255))
    return np.asarray(mask.filter(ImageFilter.GaussianBlur(height / 160)), np.float32) / 255.0


def _pen(image: Image.Image, change: int) -> Image.Image:
    """A thicker (change > 0) or thinner (< 0) pen: dilate or erode by |change| pixels."""
    for _ in range(abs(change)):
        image = image.filter(ImageFilter.MaxFilter(3) if change > 0 else ImageFilter.MinFilter(3))
    return image


def _slant(image: Image.Image, shear: float, angle: float, fill: int) -> Image.Image:
    width, height = image.size
    sheared = image.transform(
        image.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * height / 2, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
        fillcolor=fill,
    )
    return sheared.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)


def render_canvas(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(280, 280, 4) uint8 RGBA, white strokes on black: what the Draw page's canvas sends."""
    height = int(rng.integers(110, 240))
    ink = Image.fromarray(np.uint8(glyph(counts, height) * 255))
    ink = _pen(ink, int(rng.integers(-4, 5)))
    ink = _slant(ink, float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-12, 12)), 0)
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    slack = max(0, CANVAS - height)
    canvas.paste(ink, (int(rng.integers(0, slack + 1)), int(rng.integers(0, slack + 1))))
    grey = np.asarray(canvas)
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])


INKS = ((20, 20, 25), (25, 35, 120), (70, 70, 75))  # black pen, blue pen, pencil


def render_paper(counts: np.ndarray, rng: np.random.Generator) -> bytes:
    """A JPEG photo of the digit written on paper: dark ink on uneven off-white, blurred, noisy, tilted."""
    height = int(rng.integers(90, 220))
    ink = Image.fromarray(np.uint8(glyph(counts, height) * 255))
    ink = _pen(ink, int(rng.integers(-2, 5)))
    ink = _slant(ink, float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-10, 10)), 0)
    coverage = Image.new("L", (PHOTO, PHOTO), 0)
    slack = PHOTO - height
    coverage.paste(
        ink, (int(rng.integers(slack // 4, 3 * slack // 4 + 1)), int(rng.integers(slack // 4, 3 * slack // 4 + 1)))
    )
    alpha = np.asarray(coverage, np.float32)[..., None] / 255.0 * rng.uniform(0.75, 1.0)
    # Paper: off-white, lit unevenly from one side.
    y, x = np.mgrid[0:PHOTO, 0:PHOTO] / PHOTO
    direction = rng.uniform(0, 2 * np.pi)
    light = 1.0 - rng.uniform(0.05, 0.3) * (np.cos(direction) * x + np.sin(direction) * y)
    paper = np.array(rng.uniform([215, 205, 190], [250, 248, 240]), np.float32) * light[..., None]
    colour = np.array(INKS[int(rng.integers(len(INKS)))], np.float32)
    photo = paper * (1 - alpha) + colour * alpha
    photo += rng.normal(0, rng.uniform(1.5, 6.0), photo.shape)
    image = Image.fromarray(np.uint8(np.clip(photo, 0, 255)), "RGB")
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.6))))
    # A phone held not quite square to the page: a slight perspective, then the frame cropped to the page.
    d = PHOTO * 0.04
    corners = [(float(rng.uniform(-d, d)), float(rng.uniform(-d, d))) for _ in range(4)]
    quad = (
        corners[0][0], corners[0][1],
        corners[1][0], PHOTO + corners[1][1],
        PHOTO + corners[2][0], PHOTO + corners[2][1],
        PHOTO + corners[3][0], corners[3][1],
    )  # fmt: skip
    image = image.transform(image.size, Image.Transform.QUAD, quad, resample=Image.Resampling.BICUBIC)
    margin = int(d * 2) + 1
    image = image.crop((margin, margin, PHOTO - margin, PHOTO - margin))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(55, 92)))
    return buffer.getvalue()
