"""Turn any picture of one digit into the 28x28 image MNIST would have made of it.

MNIST's digits were size-normalised to fit a 20x20 box (aspect ratio kept, anti-aliased) and then placed in the
28x28 field with their centre of mass at the centre. A canvas simply shrunk to 28x28 looks nothing like that when the
digit is small, off-centre or drawn with a thick pen, and the network misreads it. So, step by step:

  1. ink map: grey levels in [0, 1] with ink = 1, whatever the polarity (white on black canvas, dark ink on paper),
     colour mode or alpha;
  2. crop to the ink; if the pen was thin for the digit's size, thicken the strokes so that after scaling they are
     about as wide as MNIST's (a thin line on a big digit would shrink to a faint hairline MNIST never showed), and
     if it was fat for a small digit, thin them (its loops would fill in);
  3. scale the longer side to 20 px, keeping the aspect ratio, with anti-aliasing;
  4. paste into 28x28 so the centre of mass sits at the centre (14, 14 in pixel indices, as measured on MNIST).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from mnist_core.data.mnist import IMAGE_SIZE
from mnist_core.i18n import Message, TranslatableError

FIELD = IMAGE_SIZE  # the field MNIST's digits live in
BOX = 20
CENTRE = 14.0  # genuine MNIST's mean centre of mass, in pixel indices (measured: 14.00, 14.01)
INK_THRESHOLD = 0.15  # below this an ink value is background or paper noise
MIN_INK_PIXELS = 4  # fewer inked pixels than this is an empty canvas, not a digit
# Stroke width as 2 x area / perimeter of the ink above half intensity, in pixels of the 28x28 field. Genuine MNIST
# (2,000 test digits): 5th percentile 1.22, median 1.84, 95th 2.88. Strokes that would come out thinner than
# THIN_STROKE are thickened to MNIST_STROKE; strokes wider than THICK_STROKE (a fat pen on a small digit, whose loops
# fill in: a small 5 read as 8) are thinned to THINNED_STROKE. Both limits were checked on the drawn-digit set with
# two different default models (bench.bench_draw).
MNIST_STROKE = 1.85
THIN_STROKE = 1.4
THICK_STROKE = 3.5
THINNED_STROKE = 2.6
# A photo of paper at least this many pixels a side has its lighting evened out first (a shadow is not ink), judged
# on a grid of LIGHTING_GRID pixels on its shorter side.
LIGHTING_MIN_SIDE = 64
LIGHTING_GRID = 64
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


class ImageError(TranslatableError, ValueError):
    """An input that is not a usable image. `problem` (a Message) says what is wrong and what to do; `name` is the
    file's name, which `str(error)` puts first ("notes.png: not an image ..."), in English for the command line."""

    def __init__(self, name: str | None, problem: Message):
        self.name, self.problem = name, problem
        super().__init__(Message("{name}: {problem}", name=name, problem=problem) if name is not None else problem)


@dataclass
class Prepared:
    """The model's input and the steps that led to it, for a page to show its work."""

    image: np.ndarray  # (28, 28) float32 in [0, 1], ink = 1: what the network receives
    ink: np.ndarray  # the full-size ink map (step 1)
    box: tuple[int, int, int, int]  # the ink's bounding box in the full-size map: top, left, bottom, right
    dark_on_light: bool  # the polarity that was detected
    stroke: float = 0.0  # the pen's width as drawn, in pixels of the 28x28 input (MNIST: about 1.2 to 2.9)


def _too_large(size: int) -> Message:
    return Message(
        "{size:.1f} MB is too large; images up to {limit} MB.", size=size / 2**20, limit=MAX_FILE_BYTES // 2**20
    )


def open_image(source, name: str = "image") -> Image.Image:
    """Open a file path, bytes or file-like as a PIL image, refusing empty, huge, truncated or non-image files."""
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        if os.path.isdir(source):
            raise ImageError(name, Message("is a directory, not an image file; give the image files inside it."))
        try:
            size = os.path.getsize(source)
            if size > MAX_FILE_BYTES:
                raise ImageError(name, _too_large(size))
            with open(source, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise ImageError(
                name, Message("cannot read the file ({reason}).", reason=error.strerror or str(error))
            ) from None
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        data = source.read()
    if not data:
        raise ImageError(name, Message("the file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(name, _too_large(len(data)))
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in ACCEPTED_FORMATS:
            raise ImageError(
                name,
                Message("{format} images are not supported; use PNG, JPEG, GIF, BMP or WebP.", format=image.format),
            )
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                name,
                Message(
                    "{width}x{height} pixels is too large; scale it down first.", width=image.width, height=image.height
                ),
            )
        image.load()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(name, Message("the image is too large; scale it down first.")) from None
    except UnidentifiedImageError:
        raise ImageError(name, Message("not an image (PNG, JPEG, GIF, BMP or WebP expected).")) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(name, Message("the image is damaged or truncated ({reason}).", reason=str(error))) from None
    return ImageOps.exif_transpose(image)


def ink_map(image) -> tuple[np.ndarray, bool]:
    """Grey levels in [0, 1] with ink = 1, and whether the input was dark ink on a light background."""
    if isinstance(image, Image.Image):
        image = np.asarray(_grey_or_colour(image))
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (2, 3, 4)):
        raise ImageError(
            None, Message("expected a grey, RGB or RGBA image, got an array of shape {shape}", shape=pixels.shape)
        )
    scale = 255.0 if pixels.max(initial=0) > 1.0 else 1.0
    pixels = pixels / scale

    alpha = None
    if pixels.ndim == 3:
        if pixels.shape[2] in (2, 4):
            alpha = pixels[..., -1]
            pixels = pixels[..., :-1]
        grey = pixels.mean(axis=2) if pixels.shape[2] == 3 else pixels[..., 0]
    else:
        grey = pixels

    if alpha is not None and alpha.min() < 0.99:
        # Strokes on a transparent background: the opacity is the ink.
        return np.clip(alpha, 0, 1), False
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    dark_on_light = background > 0.5
    if dark_on_light and min(grey.shape) >= LIGHTING_MIN_SIDE:
        grey = grey / _paper_lighting(grey)
        background = float(np.median(np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])))
    ink = 1.0 - grey if dark_on_light else grey
    paper = 1.0 - background if dark_on_light else background
    # Stretch so the background is 0 and the darkest ink is 1: photos of paper are never pure white.
    top = float(ink.max(initial=0))
    if top - paper > 1e-3:
        ink = (ink - paper) / (top - paper)
    return np.clip(ink, 0, 1).astype(np.float32), dark_on_light


def _paper_lighting(grey: np.ndarray) -> np.ndarray:
    """How brightly each part of a photographed page is lit: the brightest paper within a quarter of the picture's
    shorter side (wider than any stroke), smoothed. Dividing by it flattens a shadow or a lamp's gradient that
    would otherwise read as ink across one side of a photo."""
    height, width = grey.shape
    scale = LIGHTING_GRID / min(height, width)
    small = Image.fromarray(grey.astype(np.float32), "F").resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX
    )
    window = LIGHTING_GRID // 4 + 1  # odd
    lit = small.filter(ImageFilter.MaxFilter(window))
    # Smoothed by averaging down to a coarse grid and interpolating back up (a blur, in the modes PIL allows for F).
    coarse = lit.resize((max(1, lit.width // 8), max(1, lit.height // 8)), Image.Resampling.BOX)
    light = np.asarray(coarse.resize((width, height), Image.Resampling.BILINEAR), np.float32)
    return np.maximum(light, 1e-3)


def _grey_or_colour(image: Image.Image) -> Image.Image:
    """The picture as L, LA, RGB or RGBA, the modes whose last channel may be read as opacity. A CMYK (or YCCK,
    which the JPEG decoder hands over as CMYK) picture has four channels too, and its fourth is black ink, not
    transparency: read as RGBA, a black 7 on white paper came out as an empty canvas's "0"."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode in ("P", "PA") or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greys: scale to 8 bits by the image's own range.
        pixels = np.asarray(image, dtype=np.float64)
        low, high = float(pixels.min(initial=0)), float(pixels.max(initial=0))
        return Image.fromarray(np.uint8(np.clip((pixels - low) / max(high - low, 1e-9), 0, 1) * 255))
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV, 1-bit


def prepare(image) -> Prepared | None:
    """The MNIST-style 28x28 input for a picture of a digit, or None if there is no ink (an empty canvas)."""
    ink, dark_on_light = ink_map(image)
    inked = ink > INK_THRESHOLD
    if inked.sum() < MIN_INK_PIXELS:
        return None
    ink = np.where(inked, ink, 0.0).astype(np.float32)
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    digit = ink[top:bottom, left:right]

    factor = BOX / max(digit.shape)
    pen = stroke_width(digit > 0.5)
    stroke = pen * factor
    if stroke < THIN_STROKE:
        digit = _morph(digit, round(MNIST_STROKE / factor - pen), np.maximum)
    elif stroke > THICK_STROKE:
        digit = _morph(digit, round(pen - THINNED_STROKE / factor), np.minimum)
    factor = BOX / max(digit.shape)
    height, width = digit.shape
    new_h, new_w = max(1, round(height * factor)), max(1, round(width * factor))
    # LANCZOS on the float image is the anti-aliased reduction; it can overshoot slightly, hence the clip.
    scaled = Image.fromarray(digit).resize((new_w, new_h), Image.Resampling.LANCZOS)
    scaled = np.clip(np.asarray(scaled), 0, 1)

    field = np.zeros((FIELD, FIELD), np.float32)
    y0, x0 = (FIELD - new_h) // 2, (FIELD - new_w) // 2
    field[y0 : y0 + new_h, x0 : x0 + new_w] = scaled
    field = _centre_by_mass(field)
    box = (int(top), int(left), int(bottom), int(right))
    return Prepared(image=field, ink=ink, box=box, dark_on_light=dark_on_light, stroke=float(stroke))


def stroke_width(mask: np.ndarray) -> float:
    """The pen's width in pixels, estimated as 2 x area / perimeter (exact for a long straight stroke)."""
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    perimeter = int((padded[:, 1:] != padded[:, :-1]).sum() + (padded[1:, :] != padded[:-1, :]).sum())
    return 2.0 * area / perimeter


def _morph(digit: np.ndarray, size: int, extreme) -> np.ndarray:
    """Widen (np.maximum) or narrow (np.minimum) every stroke by `size` pixels with a separable square filter.

    Padded with background first, so widening never cuts a stroke off and narrowing eats strokes from the edges too.
    """
    if size < 1:
        return digit
    before = size // 2
    out = np.pad(digit, size)
    for axis in (0, 1):
        # Sliding extreme over a window of size + 1 pixels along one axis.
        out = extreme.reduce([np.roll(out, shift - before, axis=axis) for shift in range(size + 1)])
    inked = out > 0
    if not inked.any():  # narrowed away entirely: keep the strokes as drawn
        return digit
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _centre_by_mass(field: np.ndarray) -> np.ndarray:
    total = field.sum()
    ys, xs = np.indices(field.shape)
    dy = int(round(CENTRE - (field * ys).sum() / total))
    dx = int(round(CENTRE - (field * xs).sum() / total))
    # Never shift ink out of the field: clamp to the empty margin on each side.
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    dy = int(np.clip(dy, -rows[0], FIELD - 1 - rows[-1]))
    dx = int(np.clip(dx, -cols[0], FIELD - 1 - cols[-1]))
    return np.roll(field, (dy, dx), axis=(0, 1))


def naive_shrink(image) -> np.ndarray | None:
    """The common demo's way: the whole picture shrunk to 28x28. Kept to show, and measure, what goes wrong."""
    ink, _ = ink_map(image)
    if (ink > INK_THRESHOLD).sum() < MIN_INK_PIXELS:
        return None
    shrunk = Image.fromarray(ink.astype(np.float32)).resize((FIELD, FIELD), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(shrunk, dtype=np.float32), 0, 1)
