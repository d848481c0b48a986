"""The project's drawn test digits: pen strokes for all ten digits, rendered the ways people draw them. Test data
and the code that makes it: not part of mnist_core (the Draw page and `predict` never use it).

MNIST's test set says how well a model reads MNIST; it says little about a digit drawn with a mouse on a 280x280
canvas, small in a corner or with a fat pen. This module holds hand-designed pen strokes for each digit (two styles
each) and renders them at several placements and pen widths, on the canvas (white ink on black, RGBA, as the Draw
page receives it) and on paper (dark ink on light, uneven paper, saved as JPEG like a phone photo). The same strokes
drive the browser tests' mouse, so a test draws exactly what the benchmark measures.

    python -m tests.support.drawn_digits tests/data/drawn     # (re)write the set; deterministic

tests/data/drawn/recorded/ holds the same strokes drawn with the mouse on the real canvas in Chromium, saved through
the Draw page's Save button (RECORD_DRAWINGS=tests/data/drawn/recorded pytest tests/browser/test_draw_page.py -k
record): the canvas' own brush and anti-aliasing; a pen of 18 px centred, small, in a corner and large (80 drawings,
used to choose the preprocessing's stroke limits), then, recorded after those limits were fixed, a 28 px pen on a
75 px digit and a 10 px pen in the top-left corner (40 drawings, `*-pen28_*`, `*-pen10_*`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS = 280
Stroke = list[tuple[float, float]]  # points in the unit square: x right, y down


def _arc(cx, cy, rx, ry, start, end, n=24) -> Stroke:
    """Points on an ellipse from angle `start` to `end` in degrees (0 = right, 90 = bottom: y grows downwards)."""
    angles = np.radians(np.linspace(start, end, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Two styles for each digit, each a list of strokes (one stroke = pen down, move, pen up).
DIGITS: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.32, 0.48, -90, 275, 40)],
        [_arc(0.5, 0.5, 0.4, 0.46, -100, 262, 40)],
    ],
    1: [
        [[(0.52, 0.0), (0.5, 1.0)]],
        [[(0.3, 0.18), (0.55, 0.0), (0.55, 1.0)]],
    ],
    2: [
        [_arc(0.5, 0.3, 0.34, 0.3, 190, 385, 20) + [(0.12, 1.0), (0.92, 1.0)]],
        [_arc(0.48, 0.28, 0.3, 0.28, 200, 400, 20) + [(0.4, 0.75), (0.15, 1.0), (0.9, 0.96)]],
    ],
    3: [
        [_arc(0.48, 0.26, 0.3, 0.26, 200, 450, 20) + _arc(0.48, 0.74, 0.34, 0.26, 270, 515, 20)],
        [[(0.15, 0.0), (0.85, 0.0), (0.45, 0.42)] + _arc(0.5, 0.7, 0.35, 0.3, 265, 520, 20)],
    ],
    4: [
        [[(0.62, 0.0), (0.08, 0.68), (0.92, 0.68)], [(0.66, 0.3), (0.66, 1.0)]],
        [[(0.22, 0.0), (0.15, 0.55), (0.88, 0.55)], [(0.72, 0.05), (0.7, 1.0)]],
    ],
    5: [
        [[(0.82, 0.0), (0.28, 0.0), (0.22, 0.46)] + _arc(0.48, 0.68, 0.34, 0.32, 213, 515, 22)],
        [[(0.25, 0.0), (0.2, 0.45)] + _arc(0.5, 0.68, 0.33, 0.32, 205, 510, 22), [(0.25, 0.0), (0.85, 0.0)]],
    ],
    6: [
        [[(0.72, 0.0), (0.45, 0.18), (0.26, 0.42), (0.18, 0.68)] + _arc(0.5, 0.7, 0.32, 0.3, 180, -175, 30)],
        [[(0.62, 0.0), (0.3, 0.35), (0.2, 0.7)] + _arc(0.48, 0.74, 0.28, 0.26, 170, -185, 30)],
    ],
    7: [
        [[(0.08, 0.0), (0.92, 0.0), (0.38, 1.0)]],
        [[(0.1, 0.05), (0.9, 0.0), (0.45, 1.0)], [(0.4, 0.5), (0.85, 0.5)]],
    ],
    8: [
        [_arc(0.5, 0.25, 0.26, 0.25, 0, 362, 30), _arc(0.5, 0.73, 0.32, 0.27, -90, 272, 30)],
        [
            [(0.74, 0.12)]
            + _arc(0.5, 0.26, 0.26, 0.24, -40, -270, 20)
            + _arc(0.5, 0.74, 0.3, 0.24, -90, 270, 30)
            + [(0.74, 0.12)]
        ],
    ],
    9: [
        [_arc(0.48, 0.3, 0.3, 0.3, 0, 365, 30), [(0.78, 0.3), (0.72, 1.0)]],
        [_arc(0.5, 0.28, 0.32, 0.28, -10, 350, 30) + [(0.8, 0.2), (0.55, 1.0)]],
    ],
}

# Where the digit goes on the 280x280 canvas: (left, top, height) of the digit's box; width follows the strokes.
PLACEMENTS = {
    "centred": (None, None, 170),
    "small": (None, None, 55),
    "off-centre": ("left-top", None, 110),
    "large": (None, None, 262),
}
PENS = {"thin": 7, "medium": 16, "thick": 28}


@dataclass(frozen=True)
class Drawing:
    digit: int
    style: int
    placement: str
    pen: str
    medium: str  # "canvas" (white on black RGBA PNG) or "paper" (dark ink on light RGB JPEG)

    @property
    def name(self) -> str:
        ext = "png" if self.medium == "canvas" else "jpg"
        return f"{self.digit}_{self.style}_{self.placement}_{self.pen}_{self.medium}.{ext}"


def pixel_strokes(digit: int, style: int, box: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
    """The strokes of a digit in pixels, scaled into box = (left, top, width, height). For a mouse or a renderer."""
    left, top, width, height = box
    return [[(left + x * width, top + y * height) for x, y in stroke] for stroke in DIGITS[digit][style]]


def digit_box(placement: str, seed: int, size: int = CANVAS) -> tuple[float, float, float, float]:
    """(left, top, width, height) on the canvas for a placement; off-centre corners vary with the seed."""
    rng = np.random.default_rng(seed)
    _, _, height = PLACEMENTS[placement]
    height = height * size / CANVAS
    width = height * 0.62
    margin = 0.06 * size
    if placement == "small":
        # Anywhere, usually away from the centre: a small digit in a corner is the classic failure.
        left = rng.uniform(margin, size - margin - width)
        top = rng.uniform(margin, size - margin - height)
    elif placement == "off-centre":
        left = rng.choice([margin, size - margin - width]) + rng.uniform(-5, 5)
        top = rng.choice([margin, size - margin - height]) + rng.uniform(-5, 5)
    else:
        left = (size - width) / 2 + rng.uniform(-8, 8)
        top = (size - height) / 2 + rng.uniform(-5, 5)
    return float(left), float(top), float(width), float(height)


def _jitter(strokes, rng, amount):
    """A hand is never exact: move each point a little, and slant the whole digit."""
    slant = rng.uniform(-0.18, 0.18)
    out = []
    for stroke in strokes:
        pts = np.asarray(stroke, dtype=float)
        # Smooth wobble: noise averaged along the stroke, plus a small shift of the whole stroke.
        noise = rng.normal(0, amount, pts.shape)
        if len(pts) > 4:
            kernel = np.ones(5) / 5
            noise = np.stack([np.convolve(np.pad(noise[:, i], 2, mode="edge"), kernel, "valid") for i in (0, 1)], 1)
        pts = pts + noise * 2 + rng.normal(0, amount, (1, 2))
        cy = pts[:, 1].mean()
        pts[:, 0] += slant * (cy - pts[:, 1]) * 0.5
        out.append([tuple(p) for p in pts])
    return out


def render(drawing: Drawing, seed: int = 0) -> Image.Image:
    """The drawing as the Draw page (canvas) or an upload (paper) would receive it."""
    rng = np.random.default_rng(seed)
    size = CANVAS if drawing.medium == "canvas" else 360
    box = digit_box(drawing.placement, seed, size)
    strokes = _jitter(pixel_strokes(drawing.digit, drawing.style, box), rng, 0.012 * box[3])
    pen = PENS[drawing.pen] * size / CANVAS
    if drawing.placement == "small":
        pen = min(pen, 0.22 * box[3])  # a fat pen on a tiny digit is a blob that no one would write

    scale = 4  # draw large, then reduce: smooth edges like the canvas' anti-aliased brush
    layer = Image.new("L", (size * scale, size * scale), 0)
    draw = ImageDraw.Draw(layer)
    width = max(1, round(pen * scale))
    for stroke in strokes:
        pts = [(x * scale, y * scale) for x, y in stroke]
        draw.line(pts, fill=255, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps, as the canvas pen has
            draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    ink = np.asarray(layer.resize((size, size), Image.Resampling.BOX), dtype=np.float32) / 255

    if drawing.medium == "canvas":
        grey = (ink * 255).round().astype(np.uint8)
        return Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA")
    # Paper: off-white with a light gradient and noise, blue-black ink that is not fully dark.
    ys, xs = np.indices((size, size)) / size
    paper = 228 + 18 * xs - 10 * ys + rng.normal(0, 3, (size, size))
    tint = np.array([1.0, 0.98, 0.93])
    ink_colour = np.array([35.0, 40.0, 70.0])
    rgb = paper[..., None] * tint * (1 - ink[..., None]) + ink_colour * ink[..., None]
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(0.6))


def catalogue() -> list[Drawing]:
    """Every drawing in the set: 10 digits x 2 styles x (4 placements x 2 pens on canvas + 2 on paper) = 200."""
    drawings = []
    for digit in range(10):
        for style in range(len(DIGITS[digit])):
            for placement in PLACEMENTS:
                for pen in ("thin", "thick"):
                    drawings.append(Drawing(digit, style, placement, pen, "canvas"))
            drawings.append(Drawing(digit, style, "centred", "medium", "paper"))
            drawings.append(Drawing(digit, style, "off-centre", "thin", "paper"))
    return drawings


def write_set(folder: str | Path) -> int:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    drawings = catalogue()
    for number, drawing in enumerate(drawings):
        image = render(drawing, seed=number)
        if drawing.medium == "canvas":
            image.save(folder / drawing.name, optimize=True)
        else:
            image.save(folder / drawing.name, quality=85)
    return len(drawings)


def label_of(path: str | Path) -> int:
    """The true digit of a file in the set (and of any recorded drawing named `<digit>_...`)."""
    return int(Path(path).name.split("_", 1)[0])


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "tests/data/drawn"
    print(f"wrote {write_set(target)} drawings to {target}")
