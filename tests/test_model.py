import re
from pathlib import Path

from mnist_core.config import RunConfig
from mnist_core.model import build_model, describe


def test_seed_model_matches_the_post():
    rows, parameters = describe(RunConfig())
    assert parameters == 232_590  # the post's model.summary() total
    types = [row["type"] for row in rows]
    assert types == [
        "InputLayer",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Dropout",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    shapes = {row["layer"]: row["output_shape"] for row in rows}
    assert shapes["conv1"] == "28x28x16"
    assert shapes["pool2"] == "7x7x36"
    assert shapes["digit"] == "10"


def test_parameter_count_follows_the_config():
    _, one = describe(RunConfig(filters=(16,)))
    _, three = describe(RunConfig(filters=(16, 36, 64)))
    _, wide = describe(RunConfig(filters=(32, 64)))
    assert one != three != wide
    assert wide > 232_590


def test_options_add_their_layers():
    model = build_model(
        RunConfig(filters=(8, 8), convs_per_block=2, batch_norm=True, augment_shift=0.1, augment_rotation=10)
    )
    names = [layer.name for layer in model.layers]
    assert "augmentation" in names
    assert "conv1_2" in names
    assert "conv2_2_bn" in names
    assert model.output_shape == (None, 10)


def test_model_code_stays_backend_agnostic():
    source = (Path(__file__).parents[1] / "mnist_core" / "model.py").read_text()
    assert not re.search(r"\bimport tensorflow\b|\btf\.", source)
