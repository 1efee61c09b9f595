"""`vaxis probe`: probe trained EEG decoders for the V-axis direction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from vaxis.checks import check_out_dir
from vaxis.console import console, fail
from vaxis.errors import VaxisError

app = typer.Typer(help="Probe trained decoders for the V-axis direction.", no_args_is_help=True)


@app.command("probe")
def probe(
    runs_dir: Annotated[
        Path, typer.Argument(metavar="RUNS", help="Output folder of `vaxis train`.")
    ],
    positions: Annotated[
        str,
        typer.Option(
            help="Stimulus positions: a saved axis folder, a CSV/JSON (stimulus, position), "
            "'classes' (the dataset's valence groups) or 'truth' (a synthetic cohort's planted "
            "valence; needs --cohort)."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    cohort: Annotated[
        Path | None, typer.Option(help="The cohort the runs were trained on (for 'truth').")
    ] = None,
    null_runs: Annotated[
        Path | None,
        typer.Option(help="Output folder of decoders trained on shuffled labels (a null)."),
    ] = None,
    residual_model: Annotated[
        str, typer.Option(help="pls or ridge: picks the residual direction on validation data.")
    ] = "pls",
    probe_model: Annotated[str, typer.Option(help="ridge or pls: the stimulus probe.")] = "ridge",
    nulls: Annotated[
        int, typer.Option(help="Draws per null (random directions, permutations).")
    ] = 1000,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples of test subjects.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
) -> None:
    """Probe every checkpoint, correlate with balanced accuracy, write probe.json and plots.

    Python: ``vaxis.probe.run(vaxis.probe.ProbeStageConfig(runs=..., positions=..., out=...))``.
    """
    from vaxis.core.render import print_report
    from vaxis.probe.report import PROBE_FILE
    from vaxis.probe.stage import ProbeStageConfig, run

    if positions == "truth" and cohort is None:
        raise typer.BadParameter("'truth' needs --cohort (the synthetic cohort of the runs)")
    try:
        config = ProbeStageConfig(
            runs=runs_dir,
            positions=positions,
            out=check_out_dir(out),
            cohort=cohort,
            null_runs=null_runs,
            residual_model=residual_model,  # type: ignore[arg-type]
            probe_model=probe_model,  # type: ignore[arg-type]
            n_null=nulls,
            n_bootstrap=bootstrap,
            seed=seed,
        )
        report = run(config)
    except (ValidationError, VaxisError, ValueError) as error:
        fail(error)
    print_report(report, figures=True)
    console.print(f"wrote {config.out / PROBE_FILE}")
