"""The study's ensemble recipe as one config, and the sweep jobs that train its members.

Defaults are the study's (docs/REFERENCE.md sec. 1.8): EMOD-style axial transformer, depth 6,
width 128, augmentation + distillation towards random orthonormal prototypes (regime
``aug-kd``), seeds 42, 123, 456, 789, 2025 x {100, 150} epochs, uniform softmax averaging;
and its cascade (depth 3 -> +augmentation -> +distillation -> depth 6 -> ensemble). On a CPU,
shrink it (e.g. ``epochs=(3,), width=32, depth=2``): a study-sized member takes hours on 2 cores.

Every member is one sweep job of kind ``train`` (Path B members: kind ``align``), keyed by
content, so a re-run skips finished members and a member shared by the cascade and the pool
(the depth-6 step at the first epoch count) is trained once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from vaxis.core.settings import Section, Unsettable
from vaxis.data.datasets import TaskOrAuto
from vaxis.data.splits import registered_protocol
from vaxis.data.validation import NanPolicy
from vaxis.ensemble.diversity import Method
from vaxis.sweep.compute import CommandSettings, NumericSettings

STUDY_SEEDS = (42, 123, 456, 789, 2025)
STUDY_EPOCHS = (100, 150)
PUBLISHED_STATUS = "published, not run here"
#: training regimes of :data:`vaxis.decoders.experiment.REGIMES` a member may use
Regime = Literal["plain", "aug", "kd", "aug-kd"]


class CascadeStep(BaseModel):
    """One step of the cascade: a depth and a training regime (members: every seed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    depth: int = Field(ge=1)
    regime: Regime


def _distinct(values: tuple[int, ...]) -> tuple[int, ...]:
    if not values or len(set(values)) != len(values):
        raise ValueError(f"{list(values)} is not allowed (allowed: at least one value, no repeats)")
    return values


def _positive(values: tuple[int, ...]) -> tuple[int, ...]:
    if any(value < 1 for value in values):
        raise ValueError(f"{list(values)} is not allowed (allowed: epoch counts >= 1)")
    return values


#: seeds: at least one, no repeats
DistinctInts = Annotated[tuple[int, ...], AfterValidator(_distinct)]
#: epoch counts: at least one, no repeats, each >= 1
EpochCounts = Annotated[tuple[int, ...], AfterValidator(_distinct), AfterValidator(_positive)]


def pool_problem(seeds: tuple[int, ...], epochs: tuple[int, ...], select_k: int | None) -> str:
    """What is wrong with a pool of seeds x epoch counts ('' when nothing): leave-one-out and
    every selection compare members, so a pool needs two; ``select_k`` must fit in it."""
    size = len(seeds) * len(epochs)
    if size < 2:
        return (
            f"seeds x epochs give a pool of {size} member (allowed: at least 2 members: "
            "leave-one-out and the selections compare members)"
        )
    if select_k is not None and select_k > size:
        return f"select_k = {select_k} is not allowed (allowed: 1 to the pool's {size} members)"
    return ""


class EnsembleRecipe(Section, NumericSettings):
    """The recipe's science, shared by ``[stages.ensemble]`` and :class:`EnsembleConfig`;
    defaults are the study's (``precision``, ``tf32``, ``smoke``: :mod:`vaxis.sweep.compute`)."""

    depth: int = Field(default=6, ge=1)
    #: depth of the cascade's first three steps (the study: 3)
    shallow_depth: int = Field(default=3, ge=1)
    width: int = Field(default=128, ge=2)
    regime: Regime = "aug-kd"
    seeds: DistinctInts = STUDY_SEEDS
    epochs: EpochCounts = STUDY_EPOCHS
    batch_size: int = Field(default=128, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    cascade: bool = True
    #: members of the residual-diverse and seed ensembles (default: half the pool)
    select_k: int | None = Field(default=None, ge=1)
    diversity: Method = "cka"
    protocol: str = "holdout"

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return registered_protocol(name)

    @model_validator(mode="after")
    def _pool(self) -> Self:
        if problem := pool_problem(self.seeds, self.epochs, self.select_k):
            raise ValueError(problem)
        return self


#: ``[stages.ensemble]``'s defaults where they differ from the study's recipe: CPU-sized,
#: smaller batches and a higher peak rate (few epochs here)
CPU_SIZED: dict[str, Any] = {
    "depth": 2,
    "shallow_depth": 1,
    "width": 32,
    "seeds": (0, 1),
    "epochs": (4, 6),
    "batch_size": 32,
    "lr": 3e-3,
}


class EnsembleSettings(EnsembleRecipe):
    """The study's residual-diversity ensemble and cascade (vaxis.ensemble.recipe), CPU-sized."""

    enabled: bool = True
    heads: int = Field(default=4, ge=1)
    #: token pooling of the axial members; "none": all channels are tokens (the study's)
    channel_tokens: Annotated[int | None, Unsettable] = Field(default=8, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _cpu_sized(cls, data: Any) -> Any:
        return {**CPU_SIZED, **data} if isinstance(data, dict) else data


class EnsembleConfig(EnsembleRecipe, CommandSettings):
    """Everything `vaxis ensemble` needs: the recipe (defaults: the study's), the paths and
    the run plumbing (fold, test level, executor, devices:
    :class:`~vaxis.sweep.compute.CommandSettings`)."""

    cohort: Path
    #: V-axis positions for residual alignment and Path B: an axis folder, a positions file,
    #: ``classes`` (no within-class residual: alignment is then not computed) or ``truth``
    positions: str = "classes"
    #: further axial hyper-parameters, e.g. {"heads": 4, "channel_tokens": 8}
    hyper: dict[str, Any] = Field(default_factory=dict)
    #: rank of the residual subspaces compared by principal angles
    rank: int = Field(default=8, ge=1)
    #: Path B: V-axis-trained members (alignment interventions, `vaxis align` names)
    path_b: tuple[str, ...] = ()
    task: TaskOrAuto = "auto"
    out: Path = Path("runs/ensemble")
    #: NaN/Inf in the cohort: raise, drop the samples or interpolate (a repaired copy in ``out``)
    nan_policy: NanPolicy = "raise"

    @model_validator(mode="after")
    def _hyper(self) -> EnsembleConfig:
        if self.hyper:  # the registry loads torch: only when hyper-parameters are given
            from vaxis.decoders.hyper import hyper_problem

            if unknown := hyper_problem("axial", self.hyper):
                raise ValueError(unknown)
        return self

    @field_validator("path_b")
    @classmethod
    def _known_interventions(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.align.stage import registered_weights  # loads torch: only when Path B is asked

        known = registered_weights() if names else {}
        unknown = [name for name in names if name not in known]
        if unknown:
            allowed = ", ".join(known)
            raise ValueError(f"unknown Path B intervention(s) {unknown} (allowed: {allowed})")
        return names

    @property
    def pool_size(self) -> int:
        return len(self.seeds) * len(self.epochs)

    @property
    def k(self) -> int:
        """Size of the selected ensembles (``select_k`` is checked against the pool)."""
        return self.select_k or max(1, self.pool_size // 2)

    def steps(self) -> list[CascadeStep]:
        """The study's cascade: depth 3 -> +augmentation -> +distillation -> depth 6."""
        d = self.shallow_depth
        return [
            CascadeStep(name=f"depth {d}", depth=d, regime="plain"),
            CascadeStep(name="+augmentation", depth=d, regime="aug"),
            CascadeStep(name="+distillation", depth=d, regime="aug-kd"),
            CascadeStep(name=f"depth {self.depth}", depth=self.depth, regime=self.regime),
        ]

    def train_params(self, depth: int, epochs: int, seed: int) -> dict[str, Any]:
        """TrainConfig fields of one axial member."""
        return {
            "decoder": "axial",
            "hyper": {**self.hyper, "depth": depth, "width": self.width},
            "epochs": epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": seed,
            "device": self.device,
            "num_threads": self.threads,
            **self.numeric_params(),
        }


def member_name(depth: int, regime: str, epochs: int, seed: int) -> str:
    """A readable, unique member name, e.g. ``d6-aug-kd-e100-s42``."""
    return f"d{depth}-{regime}-e{epochs}-s{seed}"
