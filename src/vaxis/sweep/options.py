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
