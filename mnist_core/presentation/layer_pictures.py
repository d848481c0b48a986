"""Pictures of a `layers.LayerView`: each layer's feature maps as one image, vectors as strips of cells, kernels.

One image per layer (a grid of all its maps, numbered), not one per map: a page with ~1000 maps stays ~30 images,
and a PNG of a grid costs milliseconds. Every picture of a layer shares one colour scale (the layer's
`value_range`), so maps of one layer compare at a glance: black is 0, brighter is stronger, warm colours are
positive values and blue ones negative (raw convolution outputs and normalised ones have both).

Plain numpy and Pillow; no Streamlit.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_core.i18n import Translator, translator

# Colour ramps from black (0) to the strongest value, as (position, RGB) anchors.
WARM = ((0.0, (0, 0, 0)), (0.35, (120, 28, 109)), (0.7, (237, 105, 37)), (1.0, (252, 255, 164)))
COLD = ((0.0, (0, 0, 0)), (0.5, (33, 84, 170)), (1.0, (160, 215, 255)))
GAP_RGB = (225, 225, 230)  # between tiles: light, so that a black (silent) map still shows its edges
LABEL_RGB = (70, 70, 80)
TILE = 56  # about this many screen pixels per map (7x7 maps x8), and at least 3 screen pixels per value
MAX_COLUMNS = 16
LABEL_HEIGHT = 13

# Pictures are palette images: one byte per pixel, an index into PALETTE. A third of the bytes of RGB to enlarge
# and compress (a layer of 128 maps encodes in a few milliseconds), and 126 levels per sign are more than the eye
# tells apart. Index 0 is black (0), 1-126 the positive levels, 127-252 the negative ones.
LEVELS = 126
GAP, LABEL = 253, 254


def _ramp(anchors, count: int) -> np.ndarray:
    positions = [p for p, _ in anchors]
    at = np.arange(1, count + 1) / count
    return np.stack([np.interp(at, positions, [c[i] for _, c in anchors]) for i in range(3)], axis=-1)


PALETTE = np.zeros((256, 3), np.uint8)
PALETTE[1 : LEVELS + 1] = _ramp(WARM, LEVELS).round()
PALETTE[LEVELS + 1 : 2 * LEVELS + 1] = _ramp(COLD, LEVELS).round()
PALETTE[GAP], PALETTE[LABEL] = GAP_RGB, LABEL_RGB


def levels(values: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Values -> palette indices on one scale: black at 0, warm for positive, blue for negative, brightest at the
    largest magnitude in `value_range`."""
    low, high = value_range
    top = max(abs(low), abs(high), 1e-12)
    scaled = np.clip(np.asarray(values, np.float32) * (LEVELS / top), -LEVELS, LEVELS)
    level = np.rint(np.abs(scaled)).astype(np.uint8)
    return np.where((scaled < 0) & (level > 0), level + LEVELS, level).astype(np.uint8)


def colours(picture: np.ndarray) -> np.ndarray:
    """A palette picture as RGB uint8 (what the browser shows)."""
    return PALETTE[picture]


def scale_text(value_range: tuple[float, float], t: Translator | None = None) -> str:
    """The colour scale in words, for a caption, in the reader's language."""
    t = t or translator()
    low, high = value_range
    if low < 0:
        return t(
            "colour scale: {low} (bright blue) to 0 (black) to {high} (pale yellow)",
            low=f"{low:.3g}",
            high=f"{high:.3g}",
        )
    return t("colour scale: 0 (black) to {high} (pale yellow)", high=f"{high:.3g}")


def _font(size: int = 11):
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _factor(height: int, width: int, tile: int = TILE) -> int:
    return max(3, round(tile / max(height, width)))


@functools.lru_cache(maxsize=64)
def _template(count, columns, cell_h, cell_w, labels: tuple[str, ...]) -> tuple[np.ndarray, int, int]:
    """The empty sheet for a grid: gaps, and each tile's label underneath. The same for every digit a model reads,
    so drawn once."""
    rows = -(-count // columns)
    gap = 3
    pitch_h = cell_h + (LABEL_HEIGHT if labels else 0) + gap
    pitch_w = cell_w + gap
    picture = Image.new("L", (columns * pitch_w - gap, rows * pitch_h - gap), GAP)
    if labels:
        draw, font = ImageDraw.Draw(picture), _font()
        for i, label in enumerate(labels):
            r, c = divmod(i, columns)
            draw.text((c * pitch_w + cell_w / 2, r * pitch_h + cell_h + 1), label, fill=LABEL, font=font, anchor="mt")
    sheet = np.asarray(picture).copy()
    sheet[(sheet != GAP) & (sheet != LABEL)] = LABEL  # anti-aliased edges of the digits: ink, not stray colours
    sheet.setflags(write=False)
    return sheet, pitch_h, pitch_w


def maps_sheet(
    maps: np.ndarray,
    value_range: tuple[float, float],
    columns: int | None = None,
    labels: list[str] | None = None,
    tile: int = TILE,
) -> np.ndarray:
    """Maps (n, h, w) tiled in a grid, each numbered underneath (or given `labels`), on one colour scale: a palette
    picture (see `png`)."""
    count, height, width = maps.shape
    labels = tuple(labels or (str(i) for i in range(count))) if count > 1 else ()
    columns = columns or min(count, MAX_COLUMNS if count > 32 else 8)
    factor = _factor(height, width, tile)
    cell_h, cell_w = height * factor, width * factor
    template, pitch_h, pitch_w = _template(count, columns, cell_h, cell_w, labels)
    sheet = template.copy()
    big = levels(maps, value_range).repeat(factor, axis=1).repeat(factor, axis=2)
    for i in range(count):
        r, c = divmod(i, columns)
        sheet[r * pitch_h : r * pitch_h + cell_h, c * pitch_w : c * pitch_w + cell_w] = big[i]
    return sheet


def vector_sheet(values: np.ndarray, value_range: tuple[float, float], columns: int = 64) -> np.ndarray:
    """A vector as rows of square cells (left to right, top to bottom), one colour scale: a palette picture."""
    count = len(values)
    columns = min(columns, count)
    rows = -(-count // columns)
    cell = max(6, min(24, 768 // columns))
    padded = np.zeros(rows * columns, np.float32)
    padded[:count] = values
    grid = levels(padded.reshape(rows, columns), value_range).repeat(cell, axis=0).repeat(cell, axis=1)
    if rows * columns > count:  # the cells after the last value: the gap colour, not a silent unit
        r, c = divmod(count, columns)
        grid[r * cell :, c * cell :] = GAP
    return grid


def enlarged(image: np.ndarray, value_range: tuple[float, float], size: int = 280) -> np.ndarray:
    """One map or one kernel slice blown up with square pixels to about `size` pixels across."""
    factor = max(1, size // max(image.shape))
    return levels(image, value_range).repeat(factor, axis=0).repeat(factor, axis=1)


def png(picture: np.ndarray) -> bytes:
    """A palette picture as PNG bytes, compressed lightly: flat colours compress well anyway, and speed matters
    more than bytes here."""
    image = Image.fromarray(picture)
    if picture.ndim == 2:
        image.putpalette(PALETTE.tobytes())  # an "L" image given a palette becomes a "P" image
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
