"""Named configs: the seven runs of the blog post's study, and two of this project's own.

The post MNIST Lab grew out of (docs/seed-post.md) tuned by hand: after its first 20-epoch run it switched to 10 epochs
and changed one thing at a time, so every study run after `post` trains for 10 epochs. `widest` is not sized in the
post ("larger again"); we double `wider` once more, to 128 / 256 filters.

The post's model was once the preset `seed`, a word that also means the random seed. Its old names stay aliases for
good: `canonical_preset` is the one place that resolves them, for the command line, a Train-page link, and run stores
and study databases that recorded them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mnist_core.i18n import marked
from mnist_core.networks.config import ConfigError, RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    config: RunConfig
    description: str  # English, marked for translation: translated where it is shown
    reported_accuracy: float | None = None  # the test accuracy the post reported, for the study table


POST = RunConfig()  # Conv 16 -> pool -> Conv 36 -> pool -> Dropout 0.25 -> Dense 128 -> Dropout 0.25, 20 epochs

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("post", POST, marked("The post's model: filters 16 / 36, 20 epochs, batch 256"), 0.9921),
        Preset(
            "post-10",
            POST.replace(epochs=10),
            marked("The post's model for 10 epochs (its curves peaked there)"),
            0.9911,
        ),
        Preset("wide", POST.replace(filters=(32, 64), epochs=10), marked("Filters 32 / 64, 10 epochs"), 0.9916),
        Preset("wider", POST.replace(filters=(64, 128), epochs=10), marked("Filters 64 / 128, 10 epochs"), 0.9914),
        Preset(
            "widest",
            POST.replace(filters=(128, 256), epochs=10),
            marked("Filters 128 / 256, 10 epochs (the post did not give the size)"),
            0.9932,
        ),
        Preset(
            "three-conv",
            POST.replace(filters=(16, 36, 64), epochs=10),
            marked("The post's filters plus a third block of 64, 10 epochs"),
            0.9917,
        ),
        Preset(
            "one-conv",
            POST.replace(filters=(16,), epochs=10),
            marked("A single convolution block of 16, 10 epochs"),
            0.986,
        ),
        Preset(
            "fast",
            POST.replace(
                filters=(16, 32, 64),
                dropout=0.1,
                epochs=3,
                batch_size=128,
                learning_rate=0.003,
                lr_schedule="cosine",
                validation_split=0.05,
            ),
            marked("Least wall time to 99.2% here: a cheap third block, a cosine-decayed rate of 0.003, 3 epochs"),
        ),
        Preset(
            "best",
            POST.replace(
                filters=(32, 64, 128),
                convs_per_block=2,
                batch_norm=True,
                dense_units=256,
                dropout=0.4,
                epochs=30,
                batch_size=64,
                learning_rate=0.002,
                lr_schedule="cosine",
                validation_split=0.0,
                augment_shift=0.1,
                augment_rotation=10.0,
                augment_zoom=0.1,
            ),
            marked(
                "Best accuracy found (99.64% here): three blocks of two batch-normalised 3x3 convolutions (32, 64,"
                " 128), augmentation, batch 64, cosine schedule, 30 epochs on all 60,000 images (no validation split)"
            ),
        ),
    )
}

STUDY = ("post", "post-10", "wide", "wider", "widest", "three-conv", "one-conv")
DEFAULT_PRESET = "post"  # where the Train page, `train` and `code` start: the post's model

# Names presets had before: each still works wherever a preset is named, and reads as the name it has now.
ALIASES = {"seed": "post", "seed-10": "post-10"}


def canonical_preset(name: str) -> str:
    """The name a preset has now: an old name (`seed`) becomes its new one (`post`); any other name is returned as
    given, known or not (`get_preset` says which names exist)."""
    return ALIASES.get(name, name)


def get_preset(name: str) -> Preset:
    """The preset called `name`, or once called so (`get_preset("seed").name == "post"`)."""
    try:
        return PRESETS[canonical_preset(name)]
    except KeyError:
        raise ConfigError("preset", f"no preset {name!r}; choose one of: {', '.join(PRESETS)}.") from None
