"""`vaxis brain`: the EEG read-out of the V-axis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vaxis.checks import check_out_dir
from vaxis.console import console, fail
from vaxis.core.render import print_report
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.errors import VaxisError

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

    Python: ``vaxis.brain.run(vaxis.brain.BrainConfig(cohort=..., positions=..., out=...))``.
    """
    from vaxis.brain.stage import BrainConfig, run

    if model not in ("ridge", "pls"):
        raise typer.BadParameter(f"'{model}': choose ridge or pls")
    if permutation not in ("hierarchical", "stimuli"):
        raise typer.BadParameter(f"'{permutation}': choose hierarchical or stimuli")
    try:
        config = BrainConfig(
            cohort=cohort_path,
            positions=positions,
            out=check_out_dir(out),
            model=model,  # type: ignore[arg-type]
            permutations=permutations,
            random_directions=random_directions,
            bootstrap=bootstrap,
            subject_folds=subject_folds,
            permutation=permutation,  # type: ignore[arg-type]
            subset=tuple(name.strip() for name in subset.split(",") if name.strip()),
            seed=seed,
            nan_policy=parse_nan_policy(nan_policy),
        )
        report = run(config)
    except (VaxisError, ValueError) as error:
        fail(error)
    print_report(report)
    console.print(f"wrote {report.path}")
