import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_core.data.preprocess import ImageError, naive_shrink, open_image, prepare


def stroke_digit(size=280, box=(100, 60, 180, 220), width=18, ink=255, background=0, mode="L"):
    """A '7'-like figure drawn with a pen: a top bar and a diagonal."""
    image = Image.new(mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = box
    draw.line([(left, top), (right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width)
    return image


def centre_of_mass(image):
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return (image * ys).sum() / total, (image * xs).sum() / total


def test_output_is_28x28_in_unit_range_with_mass_at_the_centre():
    prepared = prepare(stroke_digit())
    assert prepared.image.shape == (28, 28)
    assert prepared.image.dtype == np.float32
    assert prepared.image.min() >= 0
    assert prepared.image.max() <= 1
    assert prepared.image.max() > 0.9
    cy, cx = centre_of_mass(prepared.image)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5


def test_the_longer_side_is_scaled_to_20_pixels():
    image = prepare(stroke_digit()).image
    rows = np.flatnonzero(image.max(axis=1) > 0.05)
    assert 19 <= rows[-1] - rows[0] + 1 <= 21


@pytest.mark.parametrize(
    ("box", "width"),
    [((100, 60, 180, 220), 18), ((10, 10, 50, 90), 5), ((210, 150, 270, 270), 12), ((20, 5, 260, 275), 40)],
    ids=["centred", "small-top-left", "bottom-right-corner", "huge-thick"],
)
def test_position_and_size_do_not_change_the_result_much(box, width):
    reference = prepare(stroke_digit()).image
    moved = prepare(stroke_digit(box=box, width=width)).image
    assert np.corrcoef(reference.ravel(), moved.ravel())[0, 1] > 0.6


def test_dark_ink_on_paper_gives_the_same_image_as_white_on_black():
    white_on_black = prepare(stroke_digit())
    on_paper = prepare(stroke_digit(ink=30, background=235))
    assert not white_on_black.dark_on_light
    assert on_paper.dark_on_light
    assert np.abs(white_on_black.image - on_paper.image).mean() < 0.02


def test_colour_and_alpha_inputs():
    rgb = stroke_digit(mode="RGB", ink=(20, 20, 120), background=(250, 245, 230))
    rgba_canvas = np.dstack([np.asarray(stroke_digit())] * 3 + [np.full((280, 280), 255, np.uint8)])
    transparent = np.zeros((280, 280, 4), np.uint8)
    transparent[..., 3] = np.asarray(stroke_digit())  # strokes only in the alpha channel
    reference = prepare(stroke_digit()).image
    for variant in (rgb, rgba_canvas, transparent, stroke_digit().convert("LA"), stroke_digit().convert("P")):
        assert np.corrcoef(reference.ravel(), prepare(variant).image.ravel())[0, 1] > 0.95


def test_empty_and_nearly_empty_inputs_give_none():
    assert prepare(np.zeros((280, 280), np.uint8)) is None
    assert prepare(np.full((280, 280, 4), 255, np.uint8)) is None  # a white page
    speck = np.zeros((280, 280), np.uint8)
    speck[5, 5] = 255
    assert prepare(speck) is None
    assert naive_shrink(np.zeros((50, 50))) is None


def test_odd_shapes_work():
    line = np.zeros((40, 300), np.uint8)
    line[18:22, 10:290] = 255  # a long thin '1' lying down
    prepared = prepare(line)
    assert prepared.image.shape == (28, 28)
    assert prepared.image.sum() > 0
    tiny = np.zeros((8, 8), np.uint8)
    tiny[2:6, 3:5] = 255
    assert prepare(tiny).image.shape == (28, 28)
    with pytest.raises(ImageError):
        prepare(np.zeros((4, 4, 5)))


def test_a_small_digit_in_a_corner_survives_where_the_naive_shrink_does_not():
    corner = stroke_digit(box=(10, 10, 40, 70), width=7)
    reference = prepare(stroke_digit()).image
    naive = naive_shrink(corner)
    assert np.corrcoef(reference.ravel(), prepare(corner).image.ravel())[0, 1] > 0.6
    assert np.corrcoef(reference.ravel(), naive.ravel())[0, 1] < 0.3


def _png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_open_image_refuses_bad_files_with_clear_messages():
    good = _png_bytes(stroke_digit())
    assert open_image(good).size == (280, 280)
    with pytest.raises(ImageError, match="empty"):
        open_image(b"", name="empty.png")
    with pytest.raises(ImageError, match="not an image"):
        open_image(b"hello, world" * 10, name="notes.png")
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(good[: len(good) // 2], name="half.png")
    with pytest.raises(ImageError, match="too large"):
        open_image(b"\0" * (21 * 1024 * 1024), name="huge.png")


def test_stroke_width_is_measured_in_pixels():
    from mnist_core.data.preprocess import stroke_width

    bar = np.zeros((300, 300), bool)
    bar[20:280, 100:110] = True  # a stroke 10 px wide and 260 px long
    assert 9.0 <= stroke_width(bar) <= 10.0
    assert stroke_width(np.zeros((5, 5), bool)) == 0.0


def _field_stroke_width(image):
    from mnist_core.data.preprocess import stroke_width

    return stroke_width(image > 0.5)


@pytest.mark.parametrize("box", [(100, 60, 180, 220), (10, 5, 250, 275)], ids=["centred", "large"])
def test_a_thin_pen_is_thickened_to_mnist_stroke_width(box):
    """A 4 px pen on a 160-270 px digit would shrink to a faint hairline; MNIST's strokes are about 1.8 px wide."""
    thin = prepare(stroke_digit(box=box, width=4)).image
    assert 1.4 <= _field_stroke_width(thin) <= 3.0
    assert thin.max() > 0.9  # full-strength ink, not a grey trace


def test_a_normal_pen_is_left_as_drawn():
    normal = prepare(stroke_digit(width=18)).image  # 18 px on a 160 px digit: about 2.2 px after scaling
    assert 1.6 <= _field_stroke_width(normal) <= 3.2


def test_thickening_never_moves_the_centre_of_mass_off_centre():
    cy, cx = centre_of_mass(prepare(stroke_digit(box=(5, 5, 275, 275), width=3)).image)
    assert abs(cy - 14) <= 0.5
    assert abs(cx - 14) <= 0.5


def test_the_drawn_digit_set_covers_every_digit_placement_pen_and_medium():
    from pathlib import Path

    from tests.support.drawn_digits import PLACEMENTS, catalogue, label_of

    folder = Path(__file__).parent / "data" / "drawn"
    names = {p.name for p in folder.iterdir() if p.is_file() and p.suffix in (".png", ".jpg")}
    expected = catalogue()
    assert {d.name for d in expected} <= names, "regenerate with: python -m tests.support.drawn_digits tests/data/drawn"
    assert {d.digit for d in expected} == set(range(10))
    assert {d.placement for d in expected} == set(PLACEMENTS)
    assert {d.pen for d in expected} >= {"thin", "thick"}
    assert {d.medium for d in expected} == {"canvas", "paper"}
    for name in sorted(names)[::25]:
        image = open_image(folder / name)
        assert prepare(image) is not None
        assert 0 <= label_of(name) <= 9
    recorded = list((folder / "recorded").glob("*.png"))  # drawn with the mouse on the real canvas in Chromium
    assert {label_of(p) for p in recorded} == set(range(10))
    assert all(open_image(p).size == (280, 280) for p in recorded[::10])


def test_the_pen_width_is_reported_in_pixels_of_the_28x28_input():
    from mnist_core.data.preprocess import THICK_STROKE

    normal = prepare(stroke_digit(width=18))  # 18 px on a 160 px digit
    blob = prepare(stroke_digit(box=(20, 20, 50, 70), width=18))  # the same pen on a 50 px digit
    assert 1.5 <= normal.stroke <= 3.0
    assert blob.stroke > THICK_STROKE


def test_a_fat_pen_on_a_small_digit_is_thinned_to_a_bold_mnist_stroke():
    blob = prepare(stroke_digit(box=(20, 20, 50, 70), width=18)).image  # loops of a small fat digit fill in
    assert _field_stroke_width(blob) <= 3.5
    assert blob.max() > 0.9


def test_narrowing_never_erases_the_digit():
    from mnist_core.data.preprocess import _morph

    dot = np.zeros((6, 6), np.float32)
    dot[2:4, 2:4] = 1.0
    assert _morph(dot, 5, np.minimum) is dot  # it would vanish: kept as drawn


@pytest.mark.parametrize("name", ["seven-cmyk.jpg", "seven-ycck.jpg"])
def test_print_ready_cmyk_and_ycck_jpegs_are_read_as_their_black_ink(name):
    # Black ink only in the K channel, as print-ready files have it: once read as RGBA, K looked like opacity
    # and a 7 came out as an empty "0". seven-ycck.jpg was written by ImageMagick (Adobe transform 2: YCCK).
    from pathlib import Path

    picture = open_image(Path(__file__).parent / "data" / "images" / name)
    assert picture.mode == "CMYK"
    prepared = prepare(picture)
    assert prepared is not None
    assert prepared.dark_on_light, "black ink on white paper"
    reference = prepare(Image.open(Path(__file__).parent / "data" / "images" / name).convert("RGB"))
    assert np.abs(prepared.image - reference.image).max() < 1e-6


def test_sixteen_bit_and_one_bit_greys_are_read_as_ink():
    ink = Image.new("L", (100, 100), 255)
    ImageDraw.Draw(ink).line([(30, 20), (70, 20), (45, 85)], fill=0, width=6)
    eight_bit = prepare(ink)
    sixteen_bit = prepare(Image.fromarray(np.asarray(ink).astype(np.uint16) * 257))
    one_bit = prepare(ink.convert("1"))
    assert np.abs(sixteen_bit.image - eight_bit.image).max() < 1e-3
    assert np.abs(one_bit.image - eight_bit.image).max() < 0.2


def lit_unevenly(image: Image.Image, darkest: float) -> Image.Image:
    """A photo of paper lit from the right: brightness falls linearly to `darkest` at the left edge."""
    grey = np.asarray(image, np.float32)
    light = np.linspace(darkest, 1.0, grey.shape[1], dtype=np.float32)[None, :]
    return Image.fromarray(np.uint8(np.clip(grey * light, 0, 255)))


def test_a_shadow_across_a_photo_of_paper_is_not_read_as_ink():
    even = prepare(stroke_digit(ink=30, background=235))
    shadowed = prepare(lit_unevenly(stroke_digit(ink=30, background=235), darkest=0.55))
    assert shadowed.dark_on_light
    # The box is the digit's, not the shadowed left side of the page, and the input is the same digit.
    assert abs(shadowed.box[1] - even.box[1]) <= 4
    assert abs(shadowed.box[3] - even.box[3]) <= 4
    assert np.abs(shadowed.image - even.image).mean() < 0.03


@pytest.mark.parametrize("size", [64, 120])
def test_evening_out_the_light_keeps_a_bold_digit_that_fills_the_photo(size):
    # Strokes an eighth of the picture wide on a digit that fills it: the lighting estimate must not eat them.
    bold = stroke_digit(size=size, box=(4, 4, size - 4, size - 4), width=size // 8, ink=20, background=240)
    prepared = prepare(bold)
    reference = prepare(stroke_digit(size=size, box=(4, 4, size - 4, size - 4), width=size // 8))
    assert prepared.dark_on_light
    assert np.corrcoef(prepared.image.ravel(), reference.image.ravel())[0, 1] > 0.95
