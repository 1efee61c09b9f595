"""Settings of the training engine that workers and configs share, with no torch: the
precision names, which settings enter a job's key, and the environment variables through
which an executor tells its workers their device and whether to compile.

Here, in the engine's package, because the engine reads them and the sweep (which imports the
engine's jobs) sets them: the sweep depends on the decoders, never the other way round.
"""

from __future__ import annotations

from typing import Any, Literal

Precision = Literal["fp32", "bf16", "fp16"]
#: Settings that change results but came after results were cached: left out of job params and
#: keys at these values (vaxis.decoders.train.TrainConfig.identity does the same).
KEYED_UNLESS_DEFAULT: dict[str, object] = {
    "precision": "fp32",
    "tf32": False,
    "weights_sha256": None,
    "max_epochs": None,
    "max_steps_per_epoch": None,
    "max_eval_units_per_stimulus": None,
}
#: a smoke run's cap on each job (``smoke = true``): one epoch of two mini-batches, scored on
#: every validation and test subject and stimulus, one unit each (plumbing at full size, no
#: findings; the evaluation would otherwise be three quarters of a paper smoke run)
SMOKE_LIMITS: dict[str, int] = {
    "max_epochs": 1,
    "max_steps_per_epoch": 2,
    "max_eval_units_per_stimulus": 1,
}
#: a worker's switch for torch.compile (read by vaxis.decoders.accel)
COMPILE_VARIABLE = "VAXIS_COMPILE"
#: a worker's switch for activation checkpointing (read by vaxis.decoders.accel)
CHECKPOINTING_VARIABLE = "VAXIS_CHECKPOINT_ACTIVATIONS"


def keyed_only_if_set(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without the entries of :data:`KEYED_UNLESS_DEFAULT` at their defaults."""
    return {
        name: value
        for name, value in settings.items()
        if name not in KEYED_UNLESS_DEFAULT or value != KEYED_UNLESS_DEFAULT[name]
    }


#: the environment variable that names a worker's device (read by vaxis.decoders.accel)
DEVICE_VARIABLE = "VAXIS_DEVICE"
