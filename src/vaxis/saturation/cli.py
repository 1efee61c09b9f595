"""`vaxis saturation`: the saturation regularity of a `vaxis align` output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from vaxis.checks import check_out_dir
from vaxis.console import console, fail
from vaxis.core.render import print_report
from vaxis.errors import VaxisError

app = typer.Typer(help="Saturation of the valence basin.", no_args_is_help=True)


@app.command("saturation")
def saturation(
    align_out: Annotated[
        Path, typer.Argument(metavar="ALIGN_OUT", help="Output folder of `vaxis align`.")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    positions: Annotated[
        str,
        typer.Option(
            help="'align' (the positions the runs were trained with), an axis folder, a "
            "CSV/JSON (stimulus, position), 'classes' or 'truth'."
        ),
    ] = "align",
    baseline_score: Annotated[
        str, typer.Option(help="val or test: the baseline score the threshold is read on.")
    ] = "val",
    eps: Annotated[float, typer.Option(help="Saturation tolerance on rho.")] = 0.05,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 2000,
    ablation: Annotated[bool, typer.Option(help="Run the directional ablation.")] = True,
    nulls: Annotated[int, typer.Option(help="Random directions of the ablation null.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
) -> None:
    """Basin strength per epoch, threshold, mechanism and ablation; writes saturation.json.

    Python: ``vaxis.saturation.run(vaxis.saturation.SaturationConfig(...))``.
    """
    from vaxis.saturation.config import SaturationConfig
    from vaxis.saturation.stage import run

    try:
        out = check_out_dir(out)
        config = SaturationConfig(
            align_out=align_out,
            positions=positions,
            out=out,
            baseline_score=baseline_score,  # type: ignore[arg-type]  # checked by pydantic
            eps=eps,
            bootstrap=bootstrap,
            ablation=ablation,
            nulls=nulls,
            seed=seed,
        )
        report = run(config)
    except (ValidationError, VaxisError, ValueError) as error:
        fail(error)
    print_report(report)
    for path in report.files:
        console.print(f"wrote {path}")
