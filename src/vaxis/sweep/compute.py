"""The compute settings every training command shares: numbers (precision, TF32) and devices.

Mixins for the configs that reach the training engine (``vaxis align``, ``vaxis ensemble``,
the study's stages and ``[compute]``), so each setting is declared once:

* :class:`NumericSettings` change the numbers a run computes, so they go into every job's
  parameters (and its key) - but only when not at their defaults, so the key of a job that
  does not use them is the key it always had (cached results stay valid);
* :class:`DeviceSettings` say where and how fast jobs run (devices, jobs per device,
  ``torch.compile``); they reach the workers through the executor, never a job's key;
* :class:`CommandSettings` add what a single command (``AlignConfig``, ``EnsembleConfig``)
  sets besides: the split's fold, the test level and the executor with its workers;
* :class:`Compute` is where a stage's jobs run, given apart from the science: the
  ``compute`` of every stage's ``run(config, compute=None)`` and the study's ``[compute]``
  (:func:`placed` puts it into a stage's config).

Light on purpose (no torch): configs import it before anything trains.
"""

from __future__ import annotations

from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vaxis.decoders.numerics import (
    CHECKPOINTING_VARIABLE,
    COMPILE_VARIABLE,
    SMOKE_LIMITS,
    Precision,
    keyed_only_if_set,
)
from vaxis.sweep.executors import ExecutorKind, check_devices

#: a stage config that has the executor and device fields (:class:`Compute.executor_fields`)
Placeable = TypeVar("Placeable", bound=BaseModel)


class NumericSettings(BaseModel):
    """How a training run computes: part of every job's key when not at the default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: "fp32" (exact, the default), or autocast to "bf16" / "fp16" with fp32 master weights
    #: (fp16 with loss scaling); bf16 suits current GPUs, fp32 the CPU
    precision: Precision = "fp32"
    #: TF32 matmuls on CUDA (faster, ~3 decimal digits per product; no effect on the CPU)
    tf32: bool = False
    #: a smoke run: every job trains one epoch of a few mini-batches and scores every
    #: validation and test subject and stimulus on one unit (SMOKE_LIMITS); its outputs say
    #: SMOKE (plumbing at full size, not findings)
    smoke: bool = False

    def numeric_params(self) -> dict[str, Any]:
        """TrainConfig fields of these settings, only those not at their defaults."""
        limits = SMOKE_LIMITS if self.smoke else {}
        return keyed_only_if_set({"precision": self.precision, "tf32": self.tf32, **limits})


class DeviceSettings(BaseModel):
    """Where jobs run and how fast: never part of a job's key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: devices the workers are placed on, e.g. ["cuda:0", "cuda:1"] (empty: each job's own
    #: device setting; "auto" is CUDA when present)
    devices: tuple[str, ...] = ()
    #: concurrent jobs per device (local: workers per device; ray: 1/K of a GPU per job)
    jobs_per_device: int = Field(default=1, ge=1)
    #: train through torch.compile (speed only; the first epoch pays the compilation)
    compile: bool = False
    #: recompute each block's activations in backward (memory only: the numbers are the same;
    #: ~1/3 more compute); for jobs whose peak memory x workers exceeds the machine's
    checkpoint_activations: bool = False

    @field_validator("devices")
    @classmethod
    def _devices(cls, devices: tuple[str, ...]) -> tuple[str, ...]:
        return check_devices(devices, 1)

    def executor_options(self) -> dict[str, Any]:
        """Keywords of :func:`vaxis.sweep.executors.make_executor` for these settings."""
        env = {COMPILE_VARIABLE: "1"} if self.compile else {}
        if self.checkpoint_activations:
            env[CHECKPOINTING_VARIABLE] = "1"
        return {"devices": self.devices, "jobs_per_device": self.jobs_per_device, "env": env}


class CommandSettings(DeviceSettings):
    """The run plumbing of a single training command: which fold, which test level, and which
    executor runs its jobs (with how many workers, each job on which device and threads)."""

    fold: int = Field(default=0, ge=0)
    #: the level of the command's tests
    alpha: float = Field(default=0.05, gt=0, lt=1)
    executor: ExecutorKind = "local"
    #: worker processes (local) or jobs at once (ray)
    workers: int | None = Field(default=None, ge=1)
    #: a Ray cluster (``ray://host:10001``); None starts a local Ray instance (ray only)
    ray_address: str | None = None
    #: each job's device ("auto": CUDA when present; ``devices`` places the workers instead)
    device: str = "auto"
    #: torch threads per job (None: torch's default; local and ray workers use one)
    threads: int | None = Field(default=None, ge=1)


class Compute(DeviceSettings):
    """Where a stage's training jobs run: the executor with its workers, and the devices.

    The ``compute`` of every stage's ``run(config, compute=None)`` (None: the config's own
    fields) and the study's ``[compute]``; never part of a job's key: none of it changes a
    result."""

    #: serial (this process), local (worker processes) or ray (pip install 'vaxis[ray]')
    executor: ExecutorKind = "local"
    #: worker processes (local) or jobs at once (ray); None: the executor's default; not used
    #: with ``devices`` (then devices x jobs_per_device)
    workers: int | None = Field(default=None, ge=1)
    #: a Ray cluster, e.g. "ray://host:10001" (ray only; None starts a local Ray instance)
    address: str | None = None

    @model_validator(mode="after")
    def _address_for_ray(self) -> Compute:
        if self.address is not None and self.executor != "ray":
            raise ValueError(
                f"address is for executor = 'ray', not {self.executor!r} "
                f"(allowed executors: {', '.join(get_args(ExecutorKind))})"
            )
        return self

    def executor_fields(self) -> dict[str, Any]:
        """These settings as fields of a training stage's config (``ZooConfig``,
        ``AlignConfig``, ``EnsembleConfig``). With ``devices``, ``workers`` is not used: there
        is one worker per device slot (devices x jobs_per_device)."""
        return {
            "executor": self.executor,
            "workers": None if self.devices else self.workers,
            "ray_address": self.address,
            "devices": self.devices,
            "jobs_per_device": self.jobs_per_device,
            "compile": self.compile,
            "checkpoint_activations": self.checkpoint_activations,
        }

    def make(self) -> Any:
        """The configured :class:`vaxis.sweep.Executor`."""
        from vaxis.sweep import make_executor

        fields = self.executor_fields()
        return make_executor(
            self.executor, fields["workers"], self.address, **self.executor_options()
        )


def placed(config: Placeable, compute: Compute | None) -> Placeable:
    """``config`` with its executor and device fields taken from ``compute`` (``config``
    itself when None); the science fields, and so every job's key, are untouched."""
    if compute is None:
        return config
    return config.model_copy(update=compute.executor_fields())
