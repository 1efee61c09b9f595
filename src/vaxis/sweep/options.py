"""Command-line options shared by every command that runs a sweep: typer annotations, and the
compute options as one group (:func:`compute_options`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

R = TypeVar("R")

ExecutorOption = Annotated[
    str, typer.Option(help="local (processes), serial or ray (pip install 'vaxis\\[ray]').")
]
WorkersOption = Annotated[
    int | None, typer.Option(help="Worker processes (local) or jobs at once (ray).")
]
AddressOption = Annotated[
    str | None,
    typer.Option(help="A Ray cluster, e.g. ray://host:10001 (default: a local Ray instance)."),
]
DeviceOption = Annotated[str, typer.Option(help="Each job's device: auto, cpu, cuda, ...")]
ThreadsOption = Annotated[
    int | None, typer.Option(help="CPU threads per job (torch; default: torch's).")
]
FeaturesArgument = Annotated[
    Path,
    typer.Argument(
        metavar="DATA",
        help="DE features: a *.cohort.h5, a FACED or SEED-V root, or its official feature "
        "folder (read once into OUT/data and reused while its files are unchanged).",
    ),
]
PrecisionOption = Annotated[
    str, typer.Option(help="fp32 (exact), bf16 or fp16 (autocast, fp32 weights); changes results.")
]
Tf32Option = Annotated[bool, typer.Option(help="TF32 matmuls on CUDA; changes results there.")]
DevicesOption = Annotated[
    str,
    typer.Option(help="Devices for the workers, comma-separated, e.g. cuda:0,cuda:1 (local, ray)."),
]
JobsPerDeviceOption = Annotated[int, typer.Option(help="Concurrent jobs on each device.")]
CompileOption = Annotated[bool, typer.Option(help="Train through torch.compile (speed only).")]


@dataclass(frozen=True)
class ComputeOptions:
    """The five compute options of a command, as :func:`compute_options` hands them over."""

    precision: str = "fp32"
    tf32: bool = False
    devices: str = ""
    jobs_per_device: int = 1
    compile: bool = False

    def settings(self) -> dict[str, object]:
        """These options as fields of AlignConfig / EnsembleConfig (vaxis.sweep.compute)."""
        names = tuple(d.strip() for d in self.devices.split(",") if d.strip())
        return {"precision": self.precision, "tf32": self.tf32, "devices": names,
                "jobs_per_device": self.jobs_per_device, "compile": self.compile}  # fmt: skip


#: a command's ``compute`` default (the options' defaults)
DEFAULT_COMPUTE = ComputeOptions()
#: the options :func:`compute_options` adds, in the order `--help` lists them
_COMPUTE = {
    "precision": (PrecisionOption, "fp32"),
    "tf32": (Tf32Option, False),
    "devices": (DevicesOption, ""),
    "jobs_per_device": (JobsPerDeviceOption, 1),
    "compile": (CompileOption, False),
}


def compute_options(command: Callable[..., R]) -> Callable[..., R]:
    """Give a typer command the compute options (``--precision``, ``--tf32``, ``--devices``,
    ``--jobs-per-device``, ``--compile``) in place of its parameter ``compute``: the command
    receives them as one :class:`ComputeOptions`, so every command declares and maps them
    the same way."""
    signature = inspect.signature(command, eval_str=True)
    kept = [p for name, p in signature.parameters.items() if name != "compute"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, (kind, default) in _COMPUTE.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        given = {name: kwargs.pop(name) for name in _COMPUTE if name in kwargs}
        return command(*args, compute=ComputeOptions(**given), **kwargs)

    parameters = [*kept, *added]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper
