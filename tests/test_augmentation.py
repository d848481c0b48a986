"""The project's own augmentation layers (mnist_core/networks/augmentation.py): elastic distortion bends strokes by a
smooth field, stroke width thickens or thins them, both only while training, and a model holding them saves and
loads again through the project's loader, in a fresh process."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from mnist_core.networks.augmentation import RandomElasticDistortion, RandomStrokeWidth
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.model import build_model
from mnist_core.networks.model_files import load_model_file
from tests.support.server import ROOT


def numpy(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor)


def digits(mnist, count=16) -> np.ndarray:
    return (mnist.x_train[:count].astype("float32") / 255.0)[..., np.newaxis]


def test_elastic_distortion_moves_pixels_along_a_smooth_field_of_its_strength():
    ramp = np.tile(np.arange(28, dtype=np.float32) / 27, (8, 28, 1))[..., np.newaxis]  # brightness = column / 27
    moved = {}
    for alpha in (10.0, 34.0):
        out = numpy(RandomElasticDistortion(alpha, seed=3)(ramp, training=True))
        # Inside the picture (no ink moves in from outside), brightness tells where each pixel came from.
        shift = (out - ramp)[:, 6:22, 6:22, 0] * 27
        moved[alpha] = float(np.abs(shift).mean())
        # Smooth: neighbours move alike, far less than the shifts themselves vary (noise would differ pixel by pixel).
        assert np.abs(np.diff(shift, axis=2)).mean() < 0.3 * shift.std()
        assert len({round(float(np.abs(s).mean()), 3) for s in shift}) == len(shift)  # a new field for each image
    assert 0.2 < moved[10.0] < moved[34.0] < 4  # stronger is further, and 34 bends strokes by pixels, not tens


def test_stroke_width_thickens_and_thins_each_image_by_its_own_share(mnist):
    images = digits(mnist)
    out = numpy(RandomStrokeWidth(1.0, seed=5)(images, training=True))
    ink, changed = (images > 0.5).sum(axis=(1, 2, 3)), (out > 0.5).sum(axis=(1, 2, 3))
    assert (changed > ink * 1.2).any()  # some thicker
    assert (changed < ink * 0.9).any()  # some thinner
    assert np.allclose(out.max(axis=(1, 2, 3)), images.max(axis=(1, 2, 3)), atol=1e-5)  # as bright, not dimmer
    assert (out >= 0).all()
    thin_only = numpy(RandomStrokeWidth(0.0)(images, training=True))
    assert np.array_equal(thin_only, images)


@pytest.mark.parametrize("layer", [RandomElasticDistortion(34.0, seed=1), RandomStrokeWidth(0.5, seed=1)])
def test_at_inference_the_image_passes_through(layer, mnist):
    images = digits(mnist, 4)
    assert np.array_equal(numpy(layer(images, training=False)), images)
    assert np.array_equal(numpy(layer(images)), images)


def test_a_model_with_every_augmentation_saves_and_loads_in_a_fresh_process_through_the_projects_loader(
    tmp_path, mnist
):
    """Every option at once, Keras' own layers too (Keras 3.15's RandomShear saved a config it could not load)."""
    config = RunConfig(
        filters=(8,),
        dense_units=16,
        augment_shift=0.1,
        augment_rotation=10.0,
        augment_zoom=0.1,
        augment_shear=0.2,
        augment_elastic=34.0,
        augment_stroke=0.5,
    )
    model = build_model(config)
    names = [layer.name for layer in model.get_layer("augmentation").layers]
    assert names[:2] == ["stroke_width", "elastic"]
    assert "slant" in names
    path = tmp_path / "model.keras"
    model.save(path)
    images = digits(mnist, 4)
    expected = model.predict(images, verbose=0)
    np.save(tmp_path / "images.npy", images)
    check = (
        "import json, numpy as np\n"
        "from mnist_core.networks.model_files import load_model_file\n"
        f"model = load_model_file({str(path)!r})\n"
        f"print(json.dumps(model.predict(np.load({str(tmp_path / 'images.npy')!r}), verbose=0).tolist()))\n"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.allclose(np.array(eval(result.stdout.strip().splitlines()[-1])), expected, atol=1e-6)
    reloaded = load_model_file(path).get_layer("augmentation").layers
    assert (reloaded[0].factor, reloaded[1].alpha, reloaded[1].sigma) == (0.5, 34.0, 4.0)
    assert [layer.name for layer in reloaded] == names


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"augment_elastic": -1.0}, "augment_elastic"),
        ({"augment_elastic": 500.0}, "augment_elastic"),
        ({"augment_stroke": 1.5}, "augment_stroke"),
        ({"augment_stroke": "0.5"}, "augment_stroke"),
    ],
)
def test_out_of_range_strengths_are_refused_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as error:
        RunConfig(**changes)
    assert error.value.field == field
