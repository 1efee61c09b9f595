"""The study's configuration: one TOML or YAML file, validated with errors that name the key.

Sections: ``out`` (results folder), ``[data]`` (synthetic cohort, a FACED or SEED-V folder, or a
``*.cohort.h5``), ``[model]`` (the language model of the V-axis), ``[compute]`` (where training
jobs run) and ``[stages.<name>]`` with each stage's settings. Defaults are CPU-sized (the
embedded default runs in minutes on 2 cores) and equal the commented ``default.toml`` that
``vaxis study --init`` writes (a test checks it). Relative paths are taken from the current folder.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vaxis.ensemble.recipe import DistinctInts
from vaxis.errors import VaxisError

DEFAULT_RESOURCE = "resources/study/default.toml"
SYNTHETIC = "synthetic"


class StudyConfigError(VaxisError):
    """A study config that cannot be read or is invalid; the message names file and key."""


def _allowed(value: str, allowed: list[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(sorted(allowed))}")
    return value


def _split(name: str) -> str:
    """``name`` when it is a registered split (vaxis.data.splits.SPLITTERS)."""
    from vaxis.data.splits import SPLITTERS

    return _allowed(name, list(SPLITTERS), "protocol")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSettings(_Section):
    """Where the EEG comes from: ``synthetic`` (labelled so everywhere) or a path."""

    #: "synthetic", a FACED root, a SEED-V root, or a *.cohort.h5 of DE features
    source: str = SYNTHETIC
    #: the synthetic cohort only: its shape, size and seed
    like: Literal["faced", "seedv"] = "faced"
    subjects: int = Field(default=24, ge=4)
    windows: int = Field(default=30, ge=2)
    seed: int = 0

    @property
    def synthetic(self) -> bool:
        return self.source == SYNTHETIC


class ModelSettings(_Section):
    """The language model whose V-axis is studied (local files only)."""

    #: a bundled alias (smollm2, gemma3-270m), a model folder, a .gguf file or a cached HF id
    name: str = "smollm2"
    gguf_file: str | None = None
    #: more models to compare with ``name`` (stage ``models``), each as ``name`` accepts
    compare: tuple[str, ...] = ()
    #: hidden-state cache (default: $VAXIS_CACHE or ~/.cache/vaxis)
    cache_dir: str | None = None


ExecutorKind = Literal["serial", "local", "ray"]  # vaxis.sweep.EXECUTOR_KINDS (light to import)


class ComputeSettings(_Section):
    """Where the training jobs of zoo, align and ensemble run (vaxis.sweep.make_executor).

    Not part of any stage's cache key: the executor does not change the results.
    """

    #: serial (this process), local (worker processes) or ray (pip install 'vaxis[ray]')
    executor: ExecutorKind = "local"
    #: worker processes (local) or jobs at once (ray); None: the executor's default
    workers: int | None = Field(default=2, ge=1)
    #: a Ray cluster, e.g. "ray://host:10001" (ray only; None starts a local Ray instance)
    address: str | None = None

    @model_validator(mode="after")
    def _address_for_ray(self) -> ComputeSettings:
        if self.address is not None and self.executor != "ray":
            raise ValueError(
                f"address is for executor = 'ray', not {self.executor!r}; "
                f"allowed executors: {', '.join(get_args(ExecutorKind))}"
            )
        return self

    def make(self) -> Any:
        """The configured :class:`vaxis.sweep.Executor`."""
        from vaxis.sweep import make_executor

        return make_executor(self.executor, self.workers, self.address)


class AxisSettings(_Section):
    """V-axis build and zero-shot validation (vaxis.axis.build / vaxis.axis.validate)."""

    method: str = "ridge_score"
    layer: Literal["auto", "penultimate"] | int = "auto"
    recipe: Literal["study"] | None = None
    stories: str | None = None
    validation_data: tuple[str, ...] = ("vader-movies", "mr")
    max_items: int = Field(default=400, ge=0)
    n_null: int = Field(default=1000, ge=1)
    n_boot: int = Field(default=1000, ge=1)
    seed: int = 0

    @field_validator("method")
    @classmethod
    def _method(cls, name: str) -> str:
        from vaxis.axis.methods import METHODS

        return _allowed(name, list(METHODS), "method")


class BrainSettings(_Section):
    """EEG read-out of the V-axis (vaxis.brain.mapping.ReadoutConfig)."""

    model: Literal["ridge", "pls"] = "ridge"
    permutations: int = Field(default=1000, ge=0)
    random_directions: int = Field(default=1000, ge=0)
    bootstrap: int = Field(default=1000, ge=0)
    subject_folds: int = Field(default=5, ge=2)
    seed: int = 0


class ZooSettings(_Section):
    """A decoder zoo trained through the sweep's ``train`` jobs, then probed for the V-axis."""

    decoders: tuple[str, ...] = ("linear", "mlp")
    regimes: tuple[str, ...] = ("plain",)
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = Field(default=5, ge=1)
    protocol: str = "holdout"
    #: also train the first decoder on stimulus-shuffled labels: the probe's null
    shuffled_null: bool = True
    probe_nulls: int = Field(default=200, ge=0)
    probe_bootstrap: int = Field(default=200, ge=0)

    @field_validator("decoders")
    @classmethod
    def _decoders(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.decoders import DECODERS, SKLEARN_DECODERS

        return tuple(_allowed(n, [*DECODERS, *SKLEARN_DECODERS], "decoder") for n in names)

    @field_validator("regimes")
    @classmethod
    def _regimes(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.decoders.experiment import REGIMES

        return tuple(_allowed(n, list(REGIMES), "regime") for n in names)

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return _split(name)


class AlignSettings(_Section):
    """Alignment interventions against a plain baseline (vaxis.align.run.AlignConfig)."""

    decoder: str = "mlp"
    interventions: tuple[str, ...] = ("aux-mse-0.5", "rsa-1", "class-prototypes")
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = Field(default=5, ge=1)
    protocol: str = "holdout"
    correction: Literal["holm", "bh"] = "holm"

    @field_validator("interventions")
    @classmethod
    def _interventions(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.align.run import registered_weights  # losses and training procedures

        known = list(registered_weights())
        return tuple(_allowed(n, known, "intervention") for n in names)


class SaturationSettings(_Section):
    """Saturation of the valence basin over align's runs (vaxis.analysis.saturation_report).

    While enabled, the align stage records per-epoch probes (``epoch_probe``) for it.
    """

    enabled: bool = True
    #: the baseline score the threshold's x is read on (val avoids regression to the mean)
    baseline_score: Literal["val", "test"] = "val"
    eps: float = Field(default=0.05, gt=0)
    bootstrap: int = Field(default=500, ge=100)
    ablation: bool = True
    nulls: int = Field(default=100, ge=2)
    seed: int = 0


class EnsembleSettings(_Section):
    """The study's residual-diversity ensemble and cascade (vaxis.ensemble.recipe), CPU-sized."""

    enabled: bool = True
    depth: int = Field(default=2, ge=1)
    shallow_depth: int = Field(default=1, ge=1)
    width: int = Field(default=32, ge=2)
    heads: int = Field(default=4, ge=1)
    channel_tokens: int | None = Field(default=8, ge=1)
    regime: Literal["plain", "aug", "kd", "aug-kd"] = "aug-kd"
    seeds: DistinctInts = (0, 1)
    epochs: DistinctInts = (4, 6)
    #: smaller batches and a higher peak rate than the study's (128, 1e-3): few epochs here
    batch_size: int = Field(default=32, ge=2)
    lr: float = Field(default=3e-3, gt=0)
    cascade: bool = True
    select_k: int | None = Field(default=None, ge=1)
    diversity: Literal["cka", "angles"] = "cka"
    protocol: str = "holdout"

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return _split(name)


class StageSettings(_Section):
    """One section per stage (a new stage adds its settings here)."""

    axis: AxisSettings = AxisSettings()
    brain: BrainSettings = BrainSettings()
    zoo: ZooSettings = ZooSettings()
    align: AlignSettings = AlignSettings()
    saturation: SaturationSettings = SaturationSettings()
    ensemble: EnsembleSettings = EnsembleSettings()


class StudyConfig(_Section):
    """Everything ``vaxis study`` needs."""

    out: str = "study"
    data: DataSettings = DataSettings()
    model: ModelSettings = ModelSettings()
    compute: ComputeSettings = ComputeSettings()
    stages: StageSettings = StageSettings()

    def section(self, dotted: str) -> dict[str, Any]:
        """A section as JSON, e.g. ``"stages.axis"`` (what a stage's cache key covers)."""
        value: Any = self
        for name in dotted.split("."):
            value = getattr(value, name)
        dumped: dict[str, Any] = (
            value.model_dump(mode="json") if isinstance(value, BaseModel) else {dotted: value}
        )
        return dumped


# ------------------------------------------------------------------------------ loading
def default_text() -> str:
    """The commented default config (what ``vaxis study --init`` writes)."""
    return (resources.files("vaxis") / DEFAULT_RESOURCE).read_text(encoding="utf-8")


def parse(text: str, name: str) -> StudyConfig:
    """A config from TOML (``*.toml``) or YAML (``*.yaml``, ``*.yml``) text; ``name`` is the
    file name used in error messages."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".toml":
            raw: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(text) or {}
        else:
            raise StudyConfigError(f"{name}: a study config is a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        raise StudyConfigError(f"{name} is not valid {suffix[1:].upper()}: {error}") from None
    if not isinstance(raw, dict):
        raise StudyConfigError(f"{name}: expected a table of settings at the top level")
    try:
        return StudyConfig.model_validate(raw)
    except ValidationError as error:
        raise StudyConfigError(describe_errors(error, name)) from None


def load_config(path: str | Path | None = None) -> StudyConfig:
    """The config in ``path``, or the embedded default when ``path`` is None."""
    if path is None:
        return parse(default_text(), "default.toml")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise StudyConfigError(f"cannot read study config {path}: {error}") from None
    return parse(text, path.name)


# ------------------------------------------------------------------------------ messages
def _keys(loc: tuple[Any, ...]) -> tuple[list[str], type[BaseModel]]:
    """The config keys in a pydantic error location (union tags and list indices dropped) and
    the settings class that holds the last one."""
    model: type[BaseModel] | None = StudyConfig
    holder: type[BaseModel] = StudyConfig
    keys: list[str] = []
    for name in loc:
        if model is None:
            break
        keys.append(str(name))
        holder = model
        field = model.model_fields.get(str(name))
        if field is None:  # an unknown key
            break
        annotation = field.annotation
        is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation if is_model else None  # type: ignore[assignment]
    return keys, holder


def describe_errors(error: ValidationError, name: str) -> str:
    """One line per problem: file, ``[section]``, key, what is wrong, what is allowed."""
    lines = []
    for item in error.errors():
        keys, holder = _keys(tuple(item["loc"]))
        section = ".".join(keys[:-1]) or "top level"
        key = keys[-1] if keys else "?"
        where = f"{name} [{section}]"
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(holder.model_fields)
            lines.append(f"unknown key {key!r} in {where}; allowed: {allowed}")
        elif item["type"] == "literal_error":
            expected = str(item.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
            lines.append(f"{where} {key} = {item['input']!r} is not allowed; allowed: {expected}")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            lines.append(f"{where} {key} = {item.get('input')!r}: {message}")
    return "invalid study config:\n  " + "\n  ".join(lines)
