"""`vaxis probe`: probe trained EEG decoders for the V-axis direction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from vaxis.checks import check_out_dir
from vaxis.console import SYNTHETIC_BANNER, console, fail
from vaxis.errors import VaxisError

if TYPE_CHECKING:
    from vaxis.probe.report import ProbeReport

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

    Python: ``vaxis.probe.report.probe_runs(runs_dir, positions, ProbeConfig())``.
    """
    from vaxis.axis.positions import resolve_positions
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import dataset_of, probe_runs, write_report

    if positions == "truth" and cohort is None:
        raise typer.BadParameter("'truth' needs --cohort (the synthetic cohort of the runs)")
    try:
        out = check_out_dir(out)
        config = ProbeConfig(
            residual_model=residual_model,  # type: ignore[arg-type]
            probe_model=probe_model,  # type: ignore[arg-type]
            n_null=nulls,
            n_bootstrap=bootstrap,
            seed=seed,
        )
        dataset = dataset_of(runs_dir)
        stimulus_positions = resolve_positions(positions, cohort or runs_dir, dataset)
        report = probe_runs(runs_dir, stimulus_positions, config, null_runs)
        path = write_report(report, out)
    except (ValidationError, VaxisError, ValueError) as error:
        fail(error)
    if report.synthetic:
        console.print(SYNTHETIC_BANNER)
    _print(report)
    console.print(f"wrote {path}")


def _print(report: ProbeReport) -> None:
    from vaxis.probe.nulls import MEASURES

    table = Table(title="V-axis alignment per checkpoint (value [CI], p vs random directions)")
    table.add_column("checkpoint")
    table.add_column("balanced acc.")
    keys = list(MEASURES)
    for key in keys:
        table.add_column(MEASURES[key][0])
    for probe in report.checkpoints:
        cells = []
        for key in keys:
            s = probe.stats.get(key)
            ci = "" if s is None or s.ci_low is None else f" [{s.ci_low:+.2f}, {s.ci_high:+.2f}]"
            p = "" if s is None or s.p_value is None else f" p={s.p_value:.3g}"
            cells.append("skipped" if s is None else f"{s.value:+.3f}{ci}{p}")
        table.add_row(probe.name, f"{probe.balanced_accuracy:.3f}", *cells)
    console.print(table)
    for stat in report.across.values():
        console.print(f"{stat.name}: {stat.describe()}")
    for note in report.notes:
        console.print(f"note: {note}")
