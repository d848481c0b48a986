import json
from pathlib import Path

import pytest

from mnist_core.networks.backend import cpu_bf16_flags
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.presets import ALIASES, DEFAULT_PRESET, PRESETS, STUDY, canonical_preset, get_preset

LEGACY = Path(__file__).parent / "data" / "legacy-store-5d940cd"


def test_default_config_is_the_posts_model():
    config = RunConfig()
    assert config.filters == (16, 36)
    assert config.kernel_size == 3
    assert config.dense_units == 128
    assert config.dropout == 0.25
    assert config.epochs == 20
    assert config.batch_size == 256
    assert config.validation_split == 0.2
    assert config.optimizer == "adam"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"filters": ()}, "filters"),
        ({"filters": (16, 36, 64, 128, 256)}, "filters"),
        ({"filters": (0, 36)}, "filters"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": float("nan")}, "dropout"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"validation_split": 0.9}, "validation_split"),
        ({"optimizer": "adamm"}, "optimizer"),
        ({"learning_rate": 5.0}, "learning_rate"),
        ({"lr_schedule": "linear"}, "lr_schedule"),
        ({"augment_rotation": 90}, "augment_rotation"),
        ({"train_limit": 10}, "train_limit"),
        ({"early_stopping_patience": 3, "validation_split": 0.0}, "validation_split"),
        ({"padding": "full"}, "padding"),
        ({"kernel_size": (5, 3, 3)}, "kernel_size"),  # three sizes for two blocks
        ({"kernel_size": (5, 4)}, "kernel_size"),
        ({"kernel_size": (9, 3)}, "kernel_size"),
        ({"adam_beta_1": 1.0}, "adam_beta_1"),
        ({"adam_beta_2": -0.1}, "adam_beta_2"),
        ({"adam_beta_2": "0.9"}, "adam_beta_2"),
        ({"label_smoothing": 0.6}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"precision": "float16"}, "precision"),
        ({"ema_momentum": 1.0}, "ema_momentum"),  # an average that never moves: the model would stay at its start
        ({"ema_momentum": -0.5}, "ema_momentum"),
        ({"augment_shear": 0.8}, "augment_shear"),
        ({"augment_shear": float("nan")}, "augment_shear"),
    ],
)
def test_absurd_values_are_rejected_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as caught:
        RunConfig().replace(**changes)
    assert caught.value.field == field
    assert field in str(caught.value)


def test_weight_averaging_longer_than_the_run_is_refused_with_what_fits():
    """Keras' average starts at the untrained weights: a run under 3 / (1 - momentum) steps ends partly there."""
    fast = PRESETS["fast"].config  # 2 epochs of 235 steps
    assert fast.steps == 470
    assert fast.replace(ema_momentum=0.99).ema_momentum == 0.99  # 100 steps averaged: 470 is enough
    with pytest.raises(ConfigError) as caught:
        fast.replace(ema_momentum=0.999)
    assert caught.value.field == "ema_momentum"
    message = str(caught.value)
    assert "about the last 1,000 steps" in message
    assert "takes only 470" in message
    assert "choose 0.99 or less" in message
    with pytest.raises(ConfigError, match="turn it off, or train for more epochs"):
        fast.replace(train_limit=1000, ema_momentum=0.99)  # 8 steps: none of the usual choices fits
    assert fast.replace(train_limit=1000, ema_momentum=0.6).steps == 8  # 1 - 3 / 8 = 0.625 fits
    # The post's 20 epochs (3,760 steps) average 0.999 but not 0.9995; `best` (28,140 steps) takes up to 0.9995.
    assert RunConfig(ema_momentum=0.999).steps == 3760
    with pytest.raises(ConfigError, match="choose 0.999 or less"):
        RunConfig(ema_momentum=0.9995)
    assert PRESETS["best"].config.replace(ema_momentum=0.9995).steps == 28140


def test_config_round_trips_through_json_dict():
    config = RunConfig(filters=(32, 64, 128), batch_norm=True, augment_shift=0.1, train_limit=5000)
    assert RunConfig.from_dict(config.to_dict()) == config


def test_unknown_keys_in_saved_config_are_reported():
    with pytest.raises(ConfigError, match="fliters"):
        RunConfig.from_dict({"fliters": [16, 36]})


def test_a_single_number_for_filters_is_explained():
    with pytest.raises(ConfigError, match="list of filter counts"):
        RunConfig.from_dict({"filters": 16})


def test_presets_are_the_posts_study_plus_fast_and_best():
    assert set(STUDY) | {"fast", "best"} == set(PRESETS)
    assert STUDY[:2] == ("post", "post-10")
    assert DEFAULT_PRESET == "post"
    assert get_preset("post").config == RunConfig()
    assert get_preset("post-10").config.epochs == 10
    assert get_preset("wide").config.filters == (32, 64)
    assert get_preset("wider").config.filters == (64, 128)
    assert get_preset("widest").config.filters == (128, 256)
    assert get_preset("three-conv").config.filters == (16, 36, 64)
    assert get_preset("one-conv").config.filters == (16,)
    # After its first run the post trained every variant for 10 epochs.
    assert all(get_preset(name).config.epochs == 10 for name in STUDY[1:])


def test_the_posts_model_keeps_its_old_names_seed_and_seed_10():
    """`seed` also means the random seed; the preset is `post` now, and the old names resolve to the new ones."""
    assert get_preset("seed") is PRESETS["post"]
    assert get_preset("seed").name == "post"
    assert get_preset("seed-10") is PRESETS["post-10"]
    assert [canonical_preset(name) for name in ("seed", "seed-10", "post", "fast", "nope")] == [
        "post",
        "post-10",
        "post",
        "fast",
        "nope",
    ]
    assert set(ALIASES.values()) <= set(PRESETS), "every alias names a preset that exists"
    assert not set(ALIASES) & set(PRESETS), "an old name is never a preset of its own"
    assert "seed" not in PRESETS, "lists of presets (the Train page's box, --help) show the new names only"


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="post-10"):
        get_preset("sead")


def test_a_config_is_checked_where_it_is_made_so_an_invalid_one_never_exists():
    with pytest.raises(ConfigError, match="epochs"):
        RunConfig(epochs=0)
    with pytest.raises(ConfigError, match="filters"):
        RunConfig(filters="16/36")
    assert RunConfig(filters=[32, 64]).filters == (32, 64)


def image_sides(config: RunConfig) -> list[int]:
    """The feature map's side after each block of the model Keras builds for `config`."""
    from mnist_core.networks.model import describe

    rows, _ = describe(config)
    return [int(row["output_shape"].split("x")[0]) for row in rows if row["type"] == "MaxPooling2D"]


def test_valid_padding_trims_each_convolution_and_the_image_must_last_every_block():
    fast = get_preset("fast").config
    assert image_sides(fast) == [12, 5]  # 28 -> 24 (5x5) -> 12 -> 10 (3x3) -> 5
    assert image_sides(fast.replace(filters=(24, 32, 32), kernel_size=3)) == [13, 5, 1]  # 26, 11, 3 before pooling
    # Block 3 of 5x5 'valid' convolutions meets a 4x4 map: nothing is left, and the config says where and what to do.
    for too_deep in (
        {"filters": (24, 32, 32), "kernel_size": 5},
        {"filters": (24, 32), "kernel_size": 7, "convs_per_block": 3},
        {"filters": (8, 8, 8, 8), "kernel_size": 3},
    ):
        with pytest.raises(ConfigError, match="'valid' padding leaves no image after block") as caught:
            fast.replace(**too_deep)
        assert caught.value.field == "padding"
    # The same shapes with 'same' padding keep the image until the pooling alone halves it away, after four blocks.
    assert image_sides(fast.replace(filters=(8, 8, 8, 8), kernel_size=3, padding="same")) == [14, 7, 3, 1]


def test_kernel_sizes_are_one_for_every_block_or_one_per_block_and_read_back_from_json():
    assert RunConfig(filters=(16, 36, 64), kernel_size=5).kernel_sizes == (5, 5, 5)
    config = RunConfig.from_dict({**RunConfig().to_dict(), "kernel_size": [5, 3]})
    assert config.kernel_size == (5, 3)  # a list from JSON is a tuple, so configs compare alike
    assert RunConfig.from_dict(json.loads(config.to_json())) == config
    assert RunConfig().replace(kernel_size=[7, 3]).kernel_size == (7, 3)
    with pytest.raises(ConfigError, match="gives 3 kernel sizes for 2 blocks"):
        RunConfig(kernel_size=(5, 3, 3))


def test_betas_below_one_and_smoothing_up_to_a_half_are_accepted():
    config = RunConfig(adam_beta_1=0.0, adam_beta_2=0.9999, label_smoothing=0.5, precision="mixed_bfloat16")
    assert (config.adam_beta_1, config.adam_beta_2, config.label_smoothing) == (0.0, 0.9999, 0.5)
    with pytest.raises(ConfigError, match="must be at least 0 and below 1"):
        RunConfig(adam_beta_1=1.0)


def test_a_config_saved_before_these_fields_existed_reads_with_their_defaults():
    files = sorted((LEGACY / "store").glob("*/config.json"))
    assert files
    for file in files:
        old = json.loads(file.read_text())
        assert not {"padding", "adam_beta_1", "label_smoothing", "precision"} & set(old)
        config = RunConfig.from_dict(old)
        assert (config.padding, config.adam_beta_1, config.adam_beta_2) == ("same", 0.9, 0.999)
        assert (config.label_smoothing, config.precision, config.kernel_size) == (0.0, "float32", old["kernel_size"])


def test_the_fast_preset_is_the_recipe_in_this_cpus_precision():
    fast = get_preset("fast").config
    assert (fast.filters, fast.kernel_size, fast.padding, fast.dense_units, fast.dropout) == (
        (24, 32),
        (5, 3),
        "valid",
        256,
        0.0,
    )
    assert (fast.optimizer, fast.learning_rate, fast.adam_beta_1, fast.adam_beta_2) == ("adam", 0.01, 0.7, 0.9)
    assert (fast.lr_schedule, fast.label_smoothing, fast.epochs, fast.batch_size) == ("warmup_cosine", 0.1, 2, 256)
    assert fast.validation_split == 0.0  # all 60,000 images
    assert fast.precision == ("mixed_bfloat16" if cpu_bf16_flags() else "float32")


def test_bf16_units_are_read_from_the_cpus_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile amx_bf16\n\n")
    assert cpu_bf16_flags(str(cpuinfo)) == ("avx512_bf16", "amx_bf16")
    older = tmp_path / "cpuinfo-older"
    older.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert cpu_bf16_flags(str(older)) == ()
    assert cpu_bf16_flags(str(tmp_path / "missing")) == ()
