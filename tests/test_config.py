import pytest

from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.presets import ALIASES, DEFAULT_PRESET, PRESETS, STUDY, canonical_preset, get_preset


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
    ],
)
def test_absurd_values_are_rejected_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as caught:
        RunConfig().replace(**changes)
    assert caught.value.field == field
    assert field in str(caught.value)


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
