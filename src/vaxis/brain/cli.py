"""`vaxis brain`: the EEG read-out of the V-axis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vaxis.checks import check_out_dir
from vaxis.console import SYNTHETIC_BANNER, console, fail
from vaxis.data import sources
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.errors import VaxisError

if TYPE_CHECKING:
    from vaxis.brain.mapping import ReadoutReport

app = typer.Typer(
    help="Map EEG onto the V-axis: one linear read-out, reported beside honest held-out figures.",
    no_args_is_help=True,
)


@app.command("map")
def map_(
    cohort_path: Annotated[
        Path, typer.Argument(metavar="COHORT", help="A DE feature cohort (*.cohort.h5 or folder).")
    ],
    positions: Annotated[
        str,
        typer.Option(
            help="Stimulus positions: a saved axis folder, a CSV/JSON (stimulus, position), "
            "'classes' (the dataset's valence groups) or 'truth' (a synthetic cohort's planted "
            "valence)."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    model: Annotated[str, typer.Option(help="ridge or pls (one PLS component).")] = "ridge",
    permutations: Annotated[int, typer.Option(help="Permutations per null.")] = 1000,
    random_directions: Annotated[int, typer.Option(help="Random-direction draws.")] = 1000,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples of subjects.")] = 1000,
    subject_folds: Annotated[int, typer.Option(help="Folds of subjects.")] = 5,
    permutation: Annotated[
        str,
        typer.Option(
            help="hierarchical (class means across classes, deviations within: valid when "
            "stimuli come in categories) or stimuli (plain shuffle across stimuli)."
        ),
    ] = "hierarchical",
    subset: Annotated[
        str, typer.Option(help="Comma-separated categories for the subset analysis ('' = none).")
    ] = "anger,amusement,tenderness",
    seed: Annotated[int, typer.Option(help="Seed of every random draw.")] = 0,
    nan_policy: NanOption = "raise",
) -> None:
    """Fit the read-out, write readout.json, positions.json, topomaps and scatter plots.

    Python: ``vaxis.brain.mapping.evaluate_readout(cohort, positions, config)``.
    """
    from vaxis.axis.positions import resolve_positions
    from vaxis.brain.mapping import ReadoutConfig, evaluate_readout
    from vaxis.brain.outputs import brain_cells, write_outputs

    if model not in ("ridge", "pls"):
        raise typer.BadParameter(f"'{model}': choose ridge or pls")
    if permutation not in ("hierarchical", "stimuli"):
        raise typer.BadParameter(f"'{permutation}': choose hierarchical or stimuli")
    try:
        out = check_out_dir(out)
        config = ReadoutConfig(
            model=model,  # type: ignore[arg-type]
            n_permutations=permutations,
            n_random_directions=random_directions,
            n_bootstrap=bootstrap,
            subject_folds=subject_folds,
            permutation=permutation,  # type: ignore[arg-type]
            subset=tuple(name.strip() for name in subset.split(",") if name.strip()),
            seed=seed,
        )
        cohort = sources.open_any(cohort_path, nan_policy=parse_nan_policy(nan_policy))
        stimulus_positions = resolve_positions(positions, cohort_path, cohort.meta.dataset)
        report = evaluate_readout(cohort, stimulus_positions, config)
        cells = brain_cells(cohort, report)
        path = write_outputs(cohort, report, cells, out)
    except (VaxisError, ValueError) as error:
        fail(error)
    _print_report(report)
    peak = cells.peak()
    console.print(
        f"per-cell peak {peak['channel']}/{peak['band']} r = {peak['r']:+.2f} "
        f"(p = {peak['p']:.2g}, BH q = {peak['q_bh']:.2g}); wrote {path}"
    )


def _print_report(report: ReadoutReport) -> None:
    if report.synthetic:
        console.print(SYNTHETIC_BANNER)
    console.print(f"positions: {report.positions.source} {report.positions.note}")
    table = Table(title=f"{report.dataset}: read-out of V-axis positions ({report.config.model})")
    for column in ("figure", "value", "n", "CI", "p", "null mean"):
        table.add_column(column)
    for s in report.stats:
        ci = "" if s.ci_low is None else f"[{s.ci_low:+.2f}, {s.ci_high:+.2f}]"
        table.add_row(
            s.name,
            f"{s.value:+.3f}",
            str(s.n),
            ci,
            "" if s.p_value is None else f"{s.p_value:.3g}",
            "" if s.null is None else f"{s.null.mean:+.2f}",
        )
    console.print(table)
    console.print(
        "null mean: over permutations of the positions (random-direction rows: over draws)"
    )
    for protocol in dict.fromkeys(s.protocol for s in report.stats):
        console.print(f"  - {protocol}")
    for note in report.notes:
        console.print(f"note: {note}")
