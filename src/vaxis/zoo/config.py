"""What `vaxis train` and the study's ``[stages.zoo]`` take: one settings class, one config.

:class:`ZooSettings` is the science (the study's section, CPU-sized defaults);
:class:`ZooConfig` adds what a single command needs besides: the cohort (and positions, for
the probe), the folds, the input and training knobs the study leaves at their defaults, and
where and how the jobs run. Light on purpose (no torch): the study's config imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from vaxis.core.settings import Section, allowed_names
from vaxis.data.splits import registered_protocol
from vaxis.data.validation import NanPolicy
from vaxis.decoders.chance import DEFAULT_REFITS
from vaxis.ensemble.recipe import DistinctInts
from vaxis.sweep.compute import DeviceSettings, NumericSettings
from vaxis.sweep.executors import ExecutorKind

#: ``protocol = "auto"`` (ZooConfig only): the study's split for all 123 FACED subjects,
#: else ``holdout``
AUTO = "auto"


class ZooVariant(Section):
    """One recipe variant of the zoo: training settings that replace the zoo's own."""

    #: unique; part of every job label (``decoder/regime/<name>/seed<seed>``)
    name: str = Field(min_length=1, pattern=r"^[\w.+-]+$")
    #: peak learning rate (None: the recipe's 1e-3)
    lr: float | None = Field(default=None, gt=0)
    #: epochs (None: the zoo's ``epochs``)
    epochs: int | None = Field(default=None, ge=1)
    #: decoder hyper-parameters (constructor keywords) for every decoder of the zoo
    hyper: dict[str, Any] = Field(default_factory=dict)


class ZooSettings(Section, NumericSettings):
    """A decoder zoo trained through the sweep's ``train`` jobs, then probed for the V-axis."""

    decoders: tuple[str, ...] = ("linear", "mlp")
    regimes: tuple[str, ...] = ("plain",)
    seeds: DistinctInts = (0, 1)
    epochs: int = Field(default=5, ge=1)
    protocol: str = "holdout"
    #: recipe variants: each decoder x regime x seed is trained once per variant (none: once,
    #: with the zoo's settings)
    variants: tuple[ZooVariant, ...] = ()
    #: also train the first decoder on stimulus-shuffled labels: the probe's null
    shuffled_null: bool = True
    probe_nulls: int = Field(default=200, ge=0)
    probe_bootstrap: int = Field(default=200, ge=0)

    @field_validator("decoders")
    @classmethod
    def _decoders(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.decoders import DECODERS, SKLEARN_DECODERS

        return allowed_names(names, [*DECODERS, *SKLEARN_DECODERS], "decoder")

    @field_validator("regimes")
    @classmethod
    def _regimes(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        from vaxis.decoders.experiment import REGIMES

        return allowed_names(names, list(REGIMES), "regime")

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return registered_protocol(name)

    @field_validator("variants")
    @classmethod
    def _distinct_variants(cls, variants: tuple[ZooVariant, ...]) -> tuple[ZooVariant, ...]:
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be distinct, got {names}")
        return variants


class ZooConfig(ZooSettings, DeviceSettings):
    """Everything `vaxis train` needs: :class:`ZooSettings` plus the paths and plumbing.

    The training and input knobs below enter a job's parameters (its key) only when they
    differ from the engine's defaults, so the study's jobs keep the keys they always had;
    ``device``, ``threads`` and ``checkpoint_every`` reach the jobs without entering their
    keys (they do not change the result: ``TrainConfig.RUNTIME_FIELDS``).
    """

    #: a *.cohort.h5 (DE features, or raw EEG for raw decoders) or an official feature folder
    cohort: Path
    #: V-axis positions to probe the runs with (an axis folder, a CSV/JSON, ``classes`` or
    #: ``truth``; see resolve_positions); None: no probe
    positions: str | None = None
    #: a protocol, or "auto": ``study`` for all 123 FACED subjects, else ``holdout``
    protocol: str = "holdout"
    #: folds of the protocol (0-based), or every fold
    folds: tuple[int, ...] | Literal["all"] = (0,)
    task: Literal["auto", "faced9", "binary", "seedv5"] = "auto"
    unit: Literal["segment", "window"] = "segment"
    segment_seconds: float | None = Field(default=None, gt=0)
    #: keep the seconds of a segment as a sequence (False: average them)
    sequence: bool = True
    normalize: Literal["subject-zscore", "none"] = "subject-zscore"
    #: raw EEG: resample to the rate the weights expect (False: refuse a mismatch)
    resample: bool = True
    batch_size: int = Field(default=128, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-2, ge=0)
    warmup_epochs: int = Field(default=5, ge=0)
    #: decoder name -> hyper-parameters (constructor keywords), under each variant's
    hyper: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: a local weights file every decoder starts from (decoders with ``load_pretrained``)
    weights: Path | None = None
    #: refits of linear/svm on clip-permuted labels for the test against chance (0: none)
    chance_refits: int = Field(default=DEFAULT_REFITS, ge=0)
    device: str = "auto"
    #: torch threads per run (None: torch's default)
    threads: int | None = Field(default=None, ge=1)
    #: epochs between checkpoints (0: only when a run stops)
    checkpoint_every: int = Field(default=0, ge=0)
    executor: ExecutorKind = "local"
    #: worker processes (local) or jobs at once (ray)
    workers: int | None = Field(default=None, ge=1)
    #: a Ray cluster (``ray://host:10001``); None starts a local Ray instance (ray only)
    ray_address: str | None = None
    #: where each run's folder is: ``OUT/sweep/work/<key>`` (``keys``, the study's) or
    #: ``OUT/<split>/<decoder>/<regime>[/<variant>]/seed<k>`` (``labels``, `vaxis train`'s)
    run_folders: Literal["keys", "labels"] = "keys"
    out: Path = Path("runs")
    #: NaN/Inf in the cohort: raise, drop the samples or interpolate (a repaired copy in ``out``)
    nan_policy: NanPolicy = "raise"

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, name: str) -> str:
        return name if name == AUTO else registered_protocol(name)

    @field_validator("folds")
    @classmethod
    def _folds(cls, folds: tuple[int, ...] | str) -> tuple[int, ...] | str:
        if isinstance(folds, tuple) and (
            not folds or min(folds) < 0 or len(set(folds)) < len(folds)
        ):
            raise ValueError(
                f"{list(folds)} is not allowed (allowed: distinct folds >= 0, or 'all')"
            )
        return folds
