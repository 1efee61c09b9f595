"""Command-line options shared by every command that runs a sweep (typer annotations only)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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


def compute_settings(
    precision: str, tf32: bool, devices: str, jobs_per_device: int, compile: bool
) -> dict[str, object]:
    """The options above as fields of AlignConfig / EnsembleConfig (vaxis.sweep.compute)."""
    names = tuple(d.strip() for d in devices.split(",") if d.strip())
    return {"precision": precision, "tf32": tf32, "devices": names,
            "jobs_per_device": jobs_per_device, "compile": compile}  # fmt: skip
