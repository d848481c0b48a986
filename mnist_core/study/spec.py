"""The definition of a study: which settings vary and how, parsed from the command line or the page, and checked.

A `StudySpec` is plain data (saved in the study's Optuna storage as JSON): its kind (presets one after another, such
as the post's seven, a grid of values, or a search over ranges), the base preset, the overrides that hold for every
trial (epochs, a quick `train_limit`) and pruning. It turns Optuna's scalar parameters into a validated RunConfig for
each trial. Nothing here knows Optuna: the adapter (`mnist_core.study.adapter`) turns `space()` into its suggestions.

Presets are named as they are now (`post`, not its old name `seed`) everywhere a spec shows them. A study recorded
before a rename keeps its trials' parameters as recorded, since Optuna fixes a parameter's choices for a study's
life: `recorded` holds those names, `space()` offers them, and `preset_for` reads a trial's back as today's name.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mnist_core.i18n import Message
from mnist_core.naming import name_problem
from mnist_core.networks.config import ConfigError, RunConfig
from mnist_core.networks.presets import DEFAULT_PRESET, PRESETS, STUDY, canonical_preset, get_preset

KINDS = ("presets", "grid", "search")
MAX_GRID_CELLS = 200
MAX_TRIALS = 500
MAX_NAME_LENGTH = 60
# Settings a study may vary: every RunConfig field (filters as "16/36" strings, since Optuna params are scalars).
FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(RunConfig)}
VARIABLE_FIELDS = tuple(name for name in FIELD_TYPES if name != "train_limit")


class StudyError(ConfigError):
    """A study definition or request is wrong; `field` says where (e.g. "grid.dropout"), the message what to do."""


# --- the definition of a study ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudySpec:
    """What a study varies, saved as JSON in the study so that every worker reads the same definition."""

    kind: str
    presets: tuple[str, ...] = ()  # kind "presets": the presets to train, in order (their names now)
    base: str = DEFAULT_PRESET  # kinds "grid" and "search": the preset the varied settings start from
    grid: dict = field(default_factory=dict)  # field -> list of values
    search: dict = field(default_factory=dict)  # field -> {"low", "high", "log"} or {"choices": [...]}
    n_trials: int | None = None  # kind "search": how many trials
    overrides: dict = field(default_factory=dict)  # applied to every trial (quick studies): epochs, train_limit
    prune: bool = False  # stop trials whose val_loss is worse than the median of earlier trials at the same epoch
    # Kind "presets" read from a database that named them by old names: those names, Optuna's choices for the study.
    recorded: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "presets", tuple(canonical_preset(name) for name in self.presets))
        object.__setattr__(self, "base", canonical_preset(self.base))

    # --- checking ----------------------------------------------------------------------------------------------
    def validate(self) -> StudySpec:
        if self.kind not in KINDS:
            raise StudyError(
                "kind", Message("must be one of {kinds} (got {value!r})", kinds=", ".join(KINDS), value=self.kind)
            )
        if self.kind == "presets":
            if not self.presets:
                raise StudyError("presets", Message("choose at least one preset"))
            for name in self.presets:
                if name not in PRESETS:
                    raise StudyError(
                        "presets",
                        Message("no preset {name!r}; choose from {known}", name=name, known=", ".join(PRESETS)),
                    )
            if len(set(self.presets)) != len(self.presets):
                raise StudyError("presets", Message("a preset is listed twice"))
        elif self.base not in PRESETS:
            raise StudyError(
                "base", Message("no preset {name!r}; choose from {known}", name=self.base, known=", ".join(PRESETS))
            )
        varied = self.grid if self.kind == "grid" else self.search if self.kind == "search" else {}
        for name in set(self.overrides) & set(varied):
            raise StudyError(
                name,
                Message("is varied by the {kind} and also fixed for every trial; drop one of them", kind=self.kind),
            )
        base = self._checked_overrides()
        if self.kind == "grid":
            self._validate_grid(base)
        elif self.kind == "search":
            self._validate_search(base)
        else:
            for name in self.presets:
                self._checked(lambda name=name: self.config_for({"preset": name}), f"presets.{name}")
        return self

    def _checked_overrides(self) -> RunConfig:
        for name in self.overrides:
            if name not in FIELD_TYPES:
                raise StudyError(name, Message("is not a config field (known: {known})", known=", ".join(FIELD_TYPES)))
        base = PRESETS[self.base].config if self.kind != "presets" else PRESETS[self.presets[0]].config
        return self._checked(lambda: base.replace(**self.overrides), "overrides")

    def _validate_grid(self, base: RunConfig) -> None:
        if not self.grid:
            raise StudyError("grid", Message("is empty: give at least one setting with at least one value"))
        for name, values in self.grid.items():
            _check_variable(name, "grid")
            if not isinstance(values, (list, tuple)) or not values:
                raise StudyError(f"grid.{name}", Message("has no values: give at least one"))
            if len({encode_value(name, v) for v in values}) != len(values):
                raise StudyError(f"grid.{name}", Message("lists a value twice"))
            for value in values:
                self._checked(
                    lambda name=name, value=value: base.replace(**{name: decode_value(name, value)}), f"grid.{name}"
                )
        cells = math.prod(len(v) for v in self.grid.values())
        if cells > MAX_GRID_CELLS:
            raise StudyError(
                "grid",
                Message(
                    "has {cells:,} combinations; at most {most} (fewer values or a search)",
                    cells=cells,
                    most=MAX_GRID_CELLS,
                ),
            )
        for params in self.cells():
            self._checked(lambda params=params: self.config_for(params), "grid " + describe_params(params))

    def _validate_search(self, base: RunConfig) -> None:
        if not self.search:
            raise StudyError("search", Message("is empty: give at least one setting with a range or choices"))
        if (
            isinstance(self.n_trials, bool)
            or not isinstance(self.n_trials, int)
            or not 1 <= self.n_trials <= MAX_TRIALS
        ):
            raise StudyError(
                "n_trials",
                Message(
                    "must be a whole number between 1 and {most} (got {value!r})", most=MAX_TRIALS, value=self.n_trials
                ),
            )
        for name, space in self.search.items():
            _check_variable(name, "search")
            where = f"search.{name}"
            if not isinstance(space, dict):
                raise StudyError(where, Message("must be a range {low, high} or {choices: [...]}"))
            if "choices" in space:
                choices = space["choices"]
                if not isinstance(choices, (list, tuple)) or not choices:
                    raise StudyError(where, Message("has no choices: give at least one"))
                for value in choices:
                    self._checked(
                        lambda name=name, value=value: base.replace(**{name: decode_value(name, value)}), where
                    )
                continue
            kind = _numeric_kind(name)
            if kind is None:
                raise StudyError(where, Message("{name} takes choices, not a range (e.g. {name}=a,b)", name=name))
            low, high = space.get("low"), space.get("high")
            for end, value in (("low", low), ("high", high)):
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise StudyError(where, Message("{end} must be a number (got {value!r})", end=end, value=value))
                if kind is int and value != int(value):
                    raise StudyError(
                        where,
                        Message(
                            "{end} must be a whole number for {name} (got {value!r})", end=end, name=name, value=value
                        ),
                    )
            if low >= high:
                raise StudyError(where, Message("low ({low:g}) must be below high ({high:g})", low=low, high=high))
            if space.get("log") and low <= 0:
                raise StudyError(where, Message("a log range needs low above 0 (got {low:g})", low=low))
            for value in (low, high):
                self._checked(lambda name=name, kind=kind, value=value: base.replace(**{name: kind(value)}), where)

    @staticmethod
    def _checked(make: Callable[[], Any], where: str):
        try:
            return make()
        except ConfigError as error:
            raise StudyError(where, error.message if where.endswith(error.field) else error.explanation) from None

    # --- what the trials are -----------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """How many trials the study plans: presets, grid cells, or the search's budget."""
        if self.kind == "presets":
            return len(self.presets)
        if self.kind == "grid":
            return math.prod(len(v) for v in self.grid.values())
        return int(self.n_trials or 0)

    def grid_space(self) -> dict[str, list]:
        """The GridSampler's search space: Optuna parameter name -> encoded values."""
        if self.kind == "presets":
            return {"preset": list(self.recorded or self.presets)}
        return {name: [encode_value(name, v) for v in values] for name, values in self.grid.items()}

    def cells(self) -> list[dict]:
        """Every grid cell as {param: encoded value}, in the order the user gave (presets: theirs)."""
        space = self.grid_space()
        names = list(space)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]

    def space(self) -> dict[str, tuple]:
        """What each trial chooses, as plain data for the Optuna adapter: {param: ("categorical", values)} for
        presets and grids (every cell is queued with its values), ranges as ("int" | "float", low, high, log)."""
        if self.kind != "search":
            return {name: ("categorical", values) for name, values in self.grid_space().items()}
        space = {}
        for name, bounds in self.search.items():
            if "choices" in bounds:
                space[name] = ("categorical", [encode_value(name, v) for v in bounds["choices"]])
            elif _numeric_kind(name) is int:
                space[name] = ("int", int(bounds["low"]), int(bounds["high"]), bool(bounds.get("log")))
            else:
                space[name] = ("float", float(bounds["low"]), float(bounds["high"]), bool(bounds.get("log")))
        return space

    def planned(self) -> list[dict]:
        """The params of each planned trial, in order: every cell for presets and grids (the order the user gave),
        and for a search, `n_trials` empty ones (the sampler chooses their settings when they start)."""
        if self.kind == "search":
            return [{} for _ in range(self.size)]
        return self.cells()

    def preset_for(self, params: dict) -> str:
        """The preset a trial with these params starts from, by its name now (a recorded `seed` reads `post`)."""
        return canonical_preset(params["preset"]) if self.kind == "presets" else self.base

    def config_for(self, params: dict) -> RunConfig:
        """The RunConfig a trial with these params trains."""
        if self.kind == "presets":
            base, changes = get_preset(params["preset"]).config, {}
        else:
            base = PRESETS[self.base].config
            changes = {name: decode_value(name, value) for name, value in params.items()}
        return base.replace(**changes, **self.overrides)

    def label(self, params: dict) -> str:
        """A planned trial as a person names it: its preset, or the values its cell sets."""
        return params["preset"] if self.kind == "presets" else describe_params(params)

    def identical_trials(self) -> list[tuple[str, tuple[str, ...]]]:
        """Planned trials that train exactly the same config once the overrides hold, as (the first one, (the
        others like it)): with an epochs override, `post` and `post-10` (the post's model for 20 and for 10 epochs)
        become one training. A search has none to find (its sampler chooses each trial's settings)."""
        if self.kind == "search":
            return []
        groups: dict[RunConfig, list[str]] = {}
        for params in self.cells():
            groups.setdefault(self.config_for(params), []).append(self.label(params))
        return [(labels[0], tuple(labels[1:])) for labels in groups.values() if len(labels) > 1]

    def merged(self) -> StudySpec:
        """The study with each preset that trains the same as an earlier one dropped (see `identical_trials`).
        A grid's cells all differ in a varied setting, so only a study of presets can hold the same trial twice."""
        if self.kind != "presets":
            return self
        dropped = {label for _, others in self.identical_trials() for label in others}
        return dataclasses.replace(self, presets=tuple(p for p in self.presets if p not in dropped))

    def is_shortened(self, params: dict) -> bool:
        """Trains fewer epochs or fewer images than its preset: its figures are not those of a full training (the
        post's figures are)."""
        config, preset = self.config_for(params), PRESETS[self.preset_for(params)].config
        limit = config.train_limit or math.inf
        return config.epochs < preset.epochs or limit < (preset.train_limit or math.inf)

    def describe(self, params: dict) -> str:
        """What changed in this trial, for the table's first column."""
        if self.kind == "presets":
            return get_preset(params["preset"]).description
        return describe_params(params)

    # --- saving ------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The definition as it is saved: presets by the names they have now (a new study never records old ones)."""
        data = dataclasses.asdict(self)
        data["presets"] = list(self.presets)
        del data["recorded"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> StudySpec:
        known = {f.name for f in dataclasses.fields(cls)} - {"recorded"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise StudyError(
                unknown[0],
                Message("is not part of a study definition (known: {known})", known=", ".join(sorted(known))),
            )
        values = dict(data)
        values["presets"] = tuple(values.get("presets") or ())
        if any(canonical_preset(name) != name for name in values["presets"]):
            values["recorded"] = values["presets"]  # queued under these names: Optuna's choices stay them
        return cls(**values).validate()


def preset_study(presets=STUDY, **overrides) -> StudySpec:
    """The post's study (its seven runs), with optional overrides for every trial, e.g. epochs=1, train_limit=2000."""
    return StudySpec("presets", presets=tuple(presets), overrides=_drop_none(overrides)).validate()


def grid_study(grid: dict, base: str = DEFAULT_PRESET, prune: bool = False, **overrides) -> StudySpec:
    return StudySpec("grid", base=base, grid=dict(grid), overrides=_drop_none(overrides), prune=prune).validate()


def search_study(search: dict, n_trials: int, base: str = DEFAULT_PRESET, prune: bool = True, **overrides) -> StudySpec:
    return StudySpec(
        "search", base=base, search=dict(search), n_trials=n_trials, overrides=_drop_none(overrides), prune=prune
    ).validate()


def _filled(texts: dict | None) -> dict:
    """The form's fields a person typed something into."""
    return {name: text for name, text in (texts or {}).items() if text and text.strip()}


def spec_from_form(
    kind: str,
    presets=STUDY,
    base: str = DEFAULT_PRESET,
    grid: dict[str, str] | None = None,
    search: dict[str, str] | None = None,
    n_trials: int | None = None,
    prune: bool | None = None,
    epochs: int | None = None,
    train_limit: int | None = None,
) -> StudySpec:
    """A study from what a person typed: {field: "16/36, 32/64"} for a grid, {field: "0.1:0.5"} for a search.

    Blank fields are not varied; 0 or None for epochs / train_limit means "as each trial's config says".
    """
    overrides = {"epochs": epochs or None, "train_limit": train_limit or None}
    if kind == "presets":
        return preset_study(presets, **overrides)
    if kind == "grid":
        grid_values = {name: parse_values(name, text) for name, text in _filled(grid).items()}
        return grid_study(grid_values, base=base, prune=bool(prune), **overrides)
    if kind == "search":
        ranges = {name: parse_range(name, text) for name, text in _filled(search).items()}
        return search_study(ranges, n_trials, base=base, prune=True if prune is None else prune, **overrides)
    raise StudyError("kind", Message("must be one of {kinds} (got {value!r})", kinds=", ".join(KINDS), value=kind))


def _drop_none(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def _check_variable(name: str, where: str) -> None:
    if name not in FIELD_TYPES:
        raise StudyError(
            f"{where}.{name}", Message("is not a config field (known: {known})", known=", ".join(VARIABLE_FIELDS))
        )
    if name not in VARIABLE_FIELDS:
        raise StudyError(f"{where}.{name}", Message("is set for every trial (--limit), not varied"))


def _numeric_kind(name: str):
    if name == "kernel_size":  # one size for every block (a range of it too), or "5/3": one per block
        return int
    kind = FIELD_TYPES[name]
    return {"int": int, "float": float}.get(kind if isinstance(kind, str) else getattr(kind, "__name__", ""))


def encode_value(name: str, value):
    """A config value as an Optuna parameter (str, int, float or bool): filters (16, 36) -> "16/36"."""
    if name == "filters":
        if isinstance(value, str):
            return value
        if isinstance(value, int):
            return str(value)
        return "/".join(str(int(v)) for v in value)
    if name == "kernel_size" and isinstance(value, (list, tuple)):
        return "/".join(str(int(v)) for v in value)
    return value


def decode_value(name: str, value):
    """An Optuna parameter back to a config value: "16/36" -> (16, 36)."""
    if name == "filters" and isinstance(value, str):
        try:
            return tuple(int(part) for part in value.split("/"))
        except ValueError:
            raise ConfigError(
                "filters", Message("must be filter counts per block like 16/36 (got {value!r})", value=value)
            ) from None
    if name == "kernel_size" and isinstance(value, str):
        try:
            sizes = tuple(int(part) for part in value.split("/"))
        except ValueError:
            raise ConfigError(
                "kernel_size", Message("must be a size like 3, or one per block like 5/3 (got {value!r})", value=value)
            ) from None
        return sizes if len(sizes) > 1 else sizes[0]
    return value


def describe_params(params: dict) -> str:
    return ", ".join(f"{name} {format_value(value)}" for name, value in params.items()) or "(no change)"


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# --- parsing what a person types (command line, page) ----------------------------------------------------------


def parse_values(name: str, text: str) -> list:
    """ "16/36, 32/64" or "0.25,0.5" -> a list of config values for `name`; raises StudyError with the field."""
    if name not in FIELD_TYPES:
        raise StudyError(name, Message("is not a config field (known: {known})", known=", ".join(VARIABLE_FIELDS)))
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise StudyError(name, Message("has no values: give one or more, separated by commas"))
    return [_parse_one(name, part) for part in parts]


def parse_range(name: str, text: str) -> dict:
    """ "0.1:0.5", "1e-4:1e-2:log" -> a range; "a,b" -> choices."""
    if name not in FIELD_TYPES:
        raise StudyError(name, Message("is not a config field (known: {known})", known=", ".join(VARIABLE_FIELDS)))
    text = text.strip()
    if ":" not in text:
        return {"choices": parse_values(name, text)}
    parts = [p.strip() for p in text.split(":")]
    log = parts[-1].lower() == "log"
    if log:
        parts = parts[:-1]
    if len(parts) != 2:
        raise StudyError(name, Message("a range is LOW:HIGH or LOW:HIGH:log (got {text!r})", text=text))
    low, high = (_parse_number(name, p) for p in parts)
    return {"low": low, "high": high, "log": log}


def parse_assignments(items: list[str] | None, parse: Callable[[str, str], Any], what: str) -> dict:
    """["filters=16/36,32/64", "epochs=5,10"] -> {field: parsed}."""
    result = {}
    for item in items or []:
        name, sep, text = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise StudyError(what, Message("write FIELD=VALUES, e.g. dropout=0.25,0.5 (got {item!r})", item=item))
        if name in result:
            raise StudyError(f"{what}.{name}", Message("is given twice"))
        result[name] = parse(name, text)
    return result


def _parse_one(name: str, text: str):
    kind = FIELD_TYPES[name]
    if name == "filters":
        decode_value("filters", text)  # checks the form
        return [int(p) for p in text.split("/")]
    if name == "kernel_size" and "/" in text:
        return list(decode_value(name, text))
    if kind == "bool":
        if text.lower() in ("true", "yes", "on", "1"):
            return True
        if text.lower() in ("false", "no", "off", "0"):
            return False
        raise StudyError(name, Message("must be true or false (got {text!r})", text=text))
    if _numeric_kind(name):
        return _parse_number(name, text)
    return text


def _parse_number(name: str, text: str):
    try:
        value = float(text)
    except ValueError:
        raise StudyError(name, Message("must be a number (got {text!r})", text=text)) from None
    if _numeric_kind(name) is int:
        if value != int(value):
            raise StudyError(name, Message("must be a whole number (got {text!r})", text=text))
        return int(value)
    return value


def check_study_name(name: str) -> str:
    name, problem = name_problem(name, MAX_NAME_LENGTH)
    if problem:
        raise StudyError("name", problem)
    return name
