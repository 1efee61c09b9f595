"""What `vaxis align` and the study's ``[stages.align]`` take: one settings class, one config.

:class:`AlignSettings` is the science (the study's section, CPU-sized defaults);
:class:`AlignConfig` adds what a single command needs besides: the cohort and positions, the
extra training knobs the study leaves at their defaults, controls and weights, and where and
how the jobs run. Light on purpose (no torch): the study's config imports it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from vaxis.core.settings import Section, allowed, allowed_names
from vaxis.data.datasets import TaskOrAuto
from vaxis.data.splits import registered_protocol
from vaxis.data.validation import NanPolicy
from vaxis.sweep.compute import CommandSettings, NumericSettings

#: the arm every intervention is compared with
BASELINE = "baseline"
#: the procedure that needs a second cohort (``source_cohort``) and is left out without one
CROSS_DATASET = "cross-dataset"


def registered_weights() -> dict[str, float]:
    """Every intervention `vaxis align` can run, with its default weight: the auxiliary losses
    (:data:`~vaxis.align.interventions.INTERVENTIONS`), then the training procedures
    (:data:`~vaxis.align.procedures.PROCEDURES`)."""
    from vaxis.align.interventions import INTERVENTIONS
    from vaxis.align.procedures import PROCEDURES

    losses = {name: spec.weight for name, spec in INTERVENTIONS.items()}
    return losses | {name: spec.weight for name, spec in PROCEDURES.items()}


def parse_arm(arm: str) -> tuple[str | None, str | None]:
    """``baseline`` -> (None, None); ``name`` -> (name, None); ``name/control`` -> both."""
    if arm == BASELINE:
        return None, None
    name, _, control = arm.partition("/")
    return name, control or None


class AlignSettings(Section, NumericSettings):
    """Alignment interventions against a plain baseline: the study's ``[stages.align]``."""

    decoder: str = "mlp"
    #: decoder hyper-parameters (constructor keywords); empty: the decoder's own defaults
    hyper: dict[str, Any] = Field(default_factory=dict)
    interventions: tuple[str, ...] = ("aux-mse-0.5", "rsa-1", "class-prototypes")
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = Field(default=5, ge=1)
    protocol: str = "holdout"
    correction: Literal["holm", "bh"] = "holm"
    #: the other dataset's *.cohort.h5 for the cross-dataset intervention (SEED-V for FACED)
    source_cohort: str | None = None

    @field_validator("decoder")
    @classmethod
    def _decoder(cls, name: str) -> str:
        from vaxis.decoders import DECODERS  # torch decoders: an auxiliary loss needs gradients

        return allowed(name, list(DECODERS), "torch decoder")

    @field_validator("hyper")
    @classmethod
    def _hyper_of_decoder(cls, hyper: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        from vaxis.decoders.hyper import hyper_problem

        if "decoder" in info.data and (problem := hyper_problem(info.data["decoder"], hyper)):
            raise ValueError(problem)
        return hyper

    @field_validator("interventions")
    @classmethod
    def _interventions(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return allowed_names(names, list(registered_weights()), "intervention")

    @field_validator("seeds")
    @classmethod
    def _paired_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds) or len(seeds) < 2:
            raise ValueError(
                f"{list(seeds)} is not allowed (allowed: at least two distinct seeds; the "
                "study's test pairs seeds)"
            )
        return seeds

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return registered_protocol(name)

    @field_validator("source_cohort", mode="before")
    @classmethod
    def _path_as_text(cls, value: Any) -> Any:
        return os.fspath(value) if isinstance(value, os.PathLike) else value


class AlignConfig(AlignSettings, CommandSettings):
    """Everything `vaxis align` needs: :class:`AlignSettings` plus the paths and plumbing.

    ``interventions`` may be empty here (every registered one) and name controls
    (``name/permuted``). The fold, test level, executor and devices (where and how fast)
    come from :class:`~vaxis.sweep.compute.CommandSettings`.
    """

    cohort: Path
    #: an axis folder, a positions CSV/JSON, ``classes`` or ``truth`` (see resolve_positions)
    positions: str
    batch_size: int = Field(default=128, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    #: controls run for every intervention
    controls: tuple[Literal["permuted", "label-smoothing"], ...] = ()
    #: intervention name -> loss weight, replacing its registered default (its controls too)
    weights: dict[str, float] = Field(default_factory=dict)
    task: TaskOrAuto = "auto"
    out: Path = Path("runs/align")
    #: record per-epoch class/stimulus means and gradient shares in every aux-loss run (for
    #: `vaxis saturation`); training procedures do not record them
    epoch_probe: bool = False
    #: NaN/Inf in the cohort: raise, drop the samples or interpolate (a repaired copy in ``out``)
    nan_policy: NanPolicy = "raise"

    @field_validator("interventions")
    @classmethod
    def _interventions(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.align.interventions import CONTROLS

        known = registered_weights()
        for arm in names:
            name, control = parse_arm(arm)
            if name not in known:
                raise ValueError(f"unknown intervention {name!r} (allowed: {', '.join(known)})")
            if control is not None and control not in CONTROLS:
                listed = ", ".join(CONTROLS)
                raise ValueError(f"unknown control {control!r} in {arm!r} (allowed: {listed})")
        return names

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        known = registered_weights()
        for name, weight in weights.items():
            if name not in known:
                raise ValueError(
                    f"weight for unknown intervention {name!r} (allowed: {', '.join(known)})"
                )
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"{name}={weight:g} is not allowed (allowed: a finite weight > 0)")
        return weights

    @model_validator(mode="after")
    def _weighted_arms_run(self) -> AlignConfig:
        run = {parse_arm(arm)[0] for arm in self.arms()}
        unused = sorted(set(self.weights) - run)
        if unused:
            raise ValueError(f"weights given for interventions that are not run: {unused}")
        return self

    @model_validator(mode="after")
    def _source_for_cross_dataset(self) -> AlignConfig:
        asked = {parse_arm(arm)[0] for arm in self.interventions}
        if self.source_cohort is None and CROSS_DATASET in asked:
            raise ValueError(
                f"{CROSS_DATASET!r} pretrains on another dataset: give source_cohort "
                "(`--source-cohort`, a SEED-V cohort for FACED and vice versa)"
            )
        return self

    def weight(self, arm: str) -> float | None:
        """The loss weight of ``arm``: its override or the intervention's registered default
        (a control has its intervention's); None for the baseline."""
        name, _ = parse_arm(arm)
        if name is None:
            return None
        return self.weights.get(name, registered_weights()[name])

    def arms(self) -> list[str]:
        """The baseline, then each intervention followed by its controls (no repeats). By
        default every registered one (cross-dataset only with a ``source_cohort``)."""
        names = self.interventions or tuple(
            n for n in registered_weights() if n != CROSS_DATASET or self.source_cohort
        )
        arms = [BASELINE]
        for name in names:
            arms.append(name)
            arms += [f"{name}/{c}" for c in self.controls if parse_arm(name)[1] is None]
        return list(dict.fromkeys(arms))
