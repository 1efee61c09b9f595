"""`vaxis align`: train the baseline and every intervention, compare each with the baseline."""

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
from vaxis.errors import OptionError, VaxisError
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

app = typer.Typer(help="Alignment interventions against the baseline.", no_args_is_help=True)


def _names(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _weights(items: list[str]) -> dict[str, float]:
    """``["rsa-5=2.0", ...]`` -> ``{"rsa-5": 2.0}``; AlignConfig checks names and values."""
    weights = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            allowed = "NAME=WEIGHT, e.g. --weight rsa-5=2.0"
            raise OptionError("--weight", item, "not NAME=WEIGHT", allowed) from None
    return weights


@app.command()
@compute_options
def align(
    cohort: FeaturesArgument,
    positions: Annotated[
        str,
        typer.Option(
            help="V-axis positions: an axis folder, a stimulus-positions CSV/JSON, 'classes' "
            "(the dataset's valence groups) or 'truth' (a synthetic cohort's ground truth)."
        ),
    ],
    interventions: Annotated[
        str,
        typer.Option(
            help="Comma-separated names, 'all', or name/control (permuted, label-smoothing)."
        ),
    ] = "all",
    controls: Annotated[
        str, typer.Option(help="Controls for every intervention: permuted, label-smoothing.")
    ] = "",
    weight: Annotated[
        list[str] | None,
        typer.Option(
            "--weight",
            help="An intervention's loss weight instead of its default, as NAME=WEIGHT, e.g. "
            "rsa-5=2.0 (repeatable; its controls use it too).",
        ),
    ] = None,
    decoder: Annotated[str, typer.Option(help="A torch decoder (see `vaxis train`).")] = "mlp",
    hyper: Annotated[
        str, typer.Option(help="Decoder hyper-parameters as JSON, e.g. '{\"hidden\": [64]}'.")
    ] = "{}",
    epochs: Annotated[int, typer.Option(help="Epochs per run (the study: 100).")] = 100,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 1e-3,
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated.")] = "0,1,2,3,4",
    protocol: Annotated[str, typer.Option(help="Split (study for all 123 FACED).")] = "holdout",
    fold: Annotated[int, typer.Option(help="Fold of the split (0-based).")] = 0,
    task: Annotated[str, typer.Option(help="auto, faced9, binary or seedv5.")] = "auto",
    correction: Annotated[str, typer.Option(help="Verdicts after holm or bh.")] = "holm",
    executor: ExecutorOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder.")] = Path("runs/align"),
    source_cohort: Annotated[
        Path | None,
        typer.Option(
            help="The other dataset's cohort for the cross-dataset intervention (SEED-V for "
            "FACED and vice versa); without it cross-dataset is left out of 'all'."
        ),
    ] = None,
    epoch_probe: Annotated[
        bool,
        typer.Option(
            help="Record per-epoch class means and gradient shares (for `vaxis saturation`)."
        ),
    ] = False,
    nan_policy: NanOption = "raise",
    compute: ComputeOptions = DEFAULT_COMPUTE,
) -> None:
    """Train the baseline and every intervention on the same split and seeds; compare each.

    Writes OUT/align.json and forest plots; re-running resumes (finished runs are kept).
    Python: ``vaxis.align.run(vaxis.align.AlignConfig(...))``.
    """
    from vaxis.align.config import AlignConfig
    from vaxis.align.stage import run

    try:
        out = check_out_dir(out)
        hyper_values = parse_json_object(hyper, "--hyper")
        check_hyper(decoder, hyper_values, "--hyper", hyper)
        settings = {
            "cohort": cohort, "positions": positions, "decoder": decoder,
            "hyper": hyper_values, "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "seeds": parse_ints(seeds, "--seeds"), "nan_policy": parse_nan_policy(nan_policy),
            "interventions": () if interventions == "all" else _names(interventions),
            "controls": _names(controls), "weights": _weights(weight or []),
            "protocol": protocol, "fold": fold, "task": task,
            "correction": correction, "executor": executor, "workers": workers,
            "ray_address": address, "device": device, "threads": threads, "out": out,
            "source_cohort": source_cohort, "epoch_probe": epoch_probe, **compute.settings(),
        }  # fmt: skip
        config = AlignConfig.model_validate(settings)
        report = run(config, progress=True)
    except (ValidationError, VaxisError, ValueError, RuntimeError) as error:
        fail(error)
    console.print(
        f"{report.protocol}: {len(report.test_subjects)} test subjects, {len(report.seeds)} "
        f"seeds, positions from {report.positions_source}"
    )
    console.print(
        "loss weights: "
        + ", ".join(f"{a} {w:g}" for a, w in report.weights.items() if w is not None)
    )
    print_report(report)
    console.print("written: " + ", ".join(str(p) for p in report.files))
