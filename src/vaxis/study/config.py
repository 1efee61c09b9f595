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
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
)

from vaxis.align.config import AlignSettings
from vaxis.axis.settings import AxisSettings
from vaxis.brain.settings import BrainSettings
from vaxis.cohort.settings import SYNTHETIC as SYNTHETIC  # re-exported (presets)
from vaxis.cohort.settings import CohortSettings as DataSettings
from vaxis.core.settings import Section, Unsettable, path_setting
from vaxis.ensemble.recipe import EnsembleSettings
from vaxis.errors import VaxisError, describe_validation
from vaxis.saturation.config import SaturationSettings
from vaxis.sweep.compute import Compute
from vaxis.zoo.config import ZooSettings
from vaxis.zoo.config import ZooVariant as ZooVariant  # the zoo's, read by presets

DEFAULT_RESOURCE = "resources/study/default.toml"


class StudyConfigError(VaxisError):
    """A study config that cannot be read or is invalid; the message names file and key."""


class ModelSettings(Section):
    """The language model whose V-axis is studied (local files only)."""

    #: a bundled alias (smollm2, gemma3-270m), a model folder, a .gguf file or a cached HF id
    name: str = "smollm2"
    gguf_file: str | None = None
    #: more models to compare with ``name`` (stage ``models``), each as ``name`` accepts
    compare: tuple[str, ...] = ()
    #: hidden-state cache (default: $VAXIS_CACHE or ~/.cache/vaxis)
    cache_dir: str | None = None


class ComputeSettings(Section, Compute):
    """Where the training jobs of zoo, align and ensemble run (vaxis.sweep.make_executor), on
    which ``devices`` (``jobs_per_device`` at once on each) and whether through torch.compile.

    Not part of any stage's cache key: none of it changes the results.
    """

    #: worker processes (local) or jobs at once (ray); None: the executor's default; not used
    #: with ``devices`` (then devices x jobs_per_device)
    workers: Annotated[int | None, Unsettable] = Field(default=2, ge=1)


class StageSettings(Section):
    """One section per stage (a new stage adds its settings here)."""

    axis: AxisSettings = AxisSettings()
    brain: BrainSettings = BrainSettings()
    zoo: ZooSettings = ZooSettings()
    align: AlignSettings = AlignSettings()
    saturation: SaturationSettings = SaturationSettings()
    ensemble: EnsembleSettings = EnsembleSettings()


class StudyConfig(Section):
    """Everything ``vaxis study`` needs."""

    out: str = "study"
    data: DataSettings = DataSettings()
    model: ModelSettings = ModelSettings()
    compute: ComputeSettings = ComputeSettings()
    stages: StageSettings = StageSettings()

    @field_validator("out")
    @classmethod
    def _out(cls, value: str) -> str:
        return path_setting(value, "out")

    @property
    def smoke(self) -> bool:
        """Whether a training stage runs as a smoke run (``smoke = true``: outputs say SMOKE)."""
        stages = self.stages
        return stages.zoo.smoke or stages.align.smoke or stages.ensemble.smoke

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
def describe_errors(error: ValidationError, name: str) -> str:
    """One ``key: problem (allowed: ...)`` line per problem, keys dotted from the top
    (``stages.zoo.seeds``), under a line naming the file."""
    lines = describe_validation(error, StudyConfig)
    return f"invalid study config {name}:\n  " + "\n  ".join(lines)
