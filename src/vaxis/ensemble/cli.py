"""`vaxis ensemble`: train the study's ensemble, select by residual diversity, compare."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from vaxis.checks import check_out_dir, parse_ints, parse_json_object
from vaxis.console import console, fail
from vaxis.core.render import print_report
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.decoders.hyper import check_hyper
from vaxis.errors import VaxisError
from vaxis.sweep.options import (
    DEFAULT_COMPUTE,
    AddressOption,
    ComputeOptions,
    DeviceOption,
    ExecutorOption,
    FeaturesArgument,
    ThreadsOption,
    WorkersOption,
    compute_options,
)

app = typer.Typer(help="The study's residual-diversity ensemble.", no_args_is_help=True)


@app.command()
@compute_options
def ensemble(
    cohort: FeaturesArgument,
    positions: Annotated[
        str, typer.Option(help="V-axis positions: axis folder, CSV/JSON, 'classes' or 'truth'.")
    ] = "classes",
    depth: Annotated[int, typer.Option(help="Axial depth (the study: 6).")] = 6,
    width: Annotated[int, typer.Option(help="Axial width (the study: 128).")] = 128,
    shallow_depth: Annotated[int, typer.Option(help="Cascade's first depth (3).")] = 3,
    hyper: Annotated[str, typer.Option(help="More axial hyper-parameters as JSON.")] = "{}",
    regime: Annotated[str, typer.Option(help="plain, aug, kd or aug-kd (the study).")] = "aug-kd",
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated.")] = "42,123,456,789,2025",
    epochs: Annotated[str, typer.Option(help="Epoch counts, comma-separated.")] = "100,150",
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-3,
    cascade: Annotated[bool, typer.Option(help="Train and report the cascade.")] = True,
    select_k: Annotated[int | None, typer.Option(help="Selected ensemble size.")] = None,
    diversity: Annotated[str, typer.Option(help="cka or angles.")] = "cka",
    path_b: Annotated[str, typer.Option(help="Path B: V-axis interventions to add.")] = "",
    protocol: Annotated[str, typer.Option(help="Split (study for all 123 FACED).")] = "holdout",
    fold: Annotated[int, typer.Option(help="Fold of the split.")] = 0,
    task: Annotated[str, typer.Option(help="auto, faced9, binary or seedv5.")] = "auto",
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder.")] = Path(
        "runs/ensemble"
    ),
    nan_policy: NanOption = "raise",
    compute: ComputeOptions = DEFAULT_COMPUTE,
) -> None:
    """Train every member (resumable), select on validation subjects, compare on test subjects.

    Writes OUT/ensemble.json, OUT/cascade.{png,svg}, OUT/loo_alignment.{png,svg}.
    Python: ``vaxis.ensemble.run(vaxis.ensemble.EnsembleConfig(...))``.
    """
    from vaxis.ensemble.recipe import EnsembleConfig
    from vaxis.ensemble.stage import run

    try:
        out = check_out_dir(out)
        hyper_values = parse_json_object(hyper, "--hyper")
        check_hyper("axial", hyper_values, "--hyper", hyper)
        config = EnsembleConfig.model_validate(
            {
                "cohort": cohort, "positions": positions, "depth": depth, "width": width,
                "shallow_depth": shallow_depth, "hyper": hyper_values, "regime": regime,
                "seeds": parse_ints(seeds, "--seeds"), "epochs": parse_ints(epochs, "--epochs"),
                "nan_policy": parse_nan_policy(nan_policy), "batch_size": batch_size,
                "lr": lr, "cascade": cascade, "select_k": select_k, "diversity": diversity,
                "path_b": tuple(a.strip() for a in path_b.split(",") if a.strip()),
                "protocol": protocol, "fold": fold, "task": task, "executor": executor,
                "ray_address": address, "workers": workers, "device": device, "threads": threads,
                "out": out, **compute.settings(),
            }
        )  # fmt: skip
        report = run(config, progress=True)
    except (ValidationError, ValueError, VaxisError) as error:
        fail(error)
    print_report(report)
    console.print(f"wrote {', '.join(str(p) for p in report.files)}")
