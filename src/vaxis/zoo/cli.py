"""`vaxis train`: train one decoder or a whole zoo (decoders x regimes x seeds x folds).

A thin command over :func:`vaxis.zoo.run` (the study's ``zoo`` stage runs the same plan and
sweep). Every run writes its own folder ``OUT/<split>/<decoder>/<regime>/seed<k>/`` (see
:mod:`vaxis.decoders.experiment`); re-running the same command skips finished runs and resumes
unfinished ones from their checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from vaxis.checks import check_out_dir, parse_ints
from vaxis.console import console, fail
from vaxis.core.render import print_report
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.decoders.chance import DEFAULT_REFITS
from vaxis.decoders.hyper import check_hyper
from vaxis.errors import OptionError, VaxisError
from vaxis.sweep.options import (
    DEFAULT_COMPUTE,
    AddressOption,
    ComputeOptions,
    ExecutorOption,
    WorkersOption,
    compute_options,
)

app = typer.Typer(help="Train EEG emotion decoders.", no_args_is_help=True)


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _decoders(value: str, input_kind: str) -> list[str]:
    """The decoders asked for; ``all`` keeps those that take this cohort's kind of input."""
    from vaxis.decoders import DECODERS, SKLEARN_DECODERS

    kinds = {name: cls.input_kind for name, cls in DECODERS.items()}
    kinds |= dict.fromkeys(SKLEARN_DECODERS, "de")
    if value == "all":
        return sorted(name for name, kind in kinds.items() if kind == input_kind)
    names = _names(value)
    unknown = [n for n in names if n not in kinds]
    if unknown:
        raise typer.BadParameter(f"unknown decoder(s) {unknown}; choose from {', '.join(kinds)}")
    wrong = [n for n in names if kinds[n] != input_kind]
    if wrong:
        raise typer.BadParameter(
            f"decoder(s) {wrong} take {'raw EEG' if input_kind == 'de' else 'DE features'}, "
            f"but this cohort holds {'DE features' if input_kind == 'de' else 'raw EEG'}"
        )
    return names


def _source(path: Path, decoder: str) -> Path:
    """What to read: a FACED root holds features and raw EEG; raw decoders read the raw."""
    from vaxis.data.faced_layout import RAW_DIR
    from vaxis.decoders import DECODERS

    names = _names(decoder)
    raw = bool(names) and all(n in DECODERS and DECODERS[n].input_kind == "raw" for n in names)
    folders = [path / name for name in RAW_DIR if (path / name).is_dir()] if raw else []
    return folders[0] if folders else path


def parse_hyper(items: list[str], decoder: str) -> dict[str, Any]:
    """``key=value`` (every decoder) or ``decoder.key=value`` (one decoder); JSON values."""
    hyper: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{item}': write key=value (e.g. hidden=[64,32])")
        scope, _, name = key.rpartition(".")
        if scope and scope != decoder:
            continue
        try:
            hyper[name] = json.loads(text)
        except json.JSONDecodeError:
            hyper[name] = text
    return hyper


@app.command()
@compute_options
def train(
    cohort_path: Annotated[
        Path,
        typer.Argument(
            metavar="COHORT",
            help="A *.cohort.h5 (DE features, or raw EEG for raw decoders) or a dataset folder.",
        ),
    ],
    decoder: Annotated[
        str,
        typer.Option(
            help="Decoder name(s), comma-separated, or 'all' (every decoder for this input)."
        ),
    ] = "mlp",
    protocol: Annotated[
        str,
        typer.Option(
            help="Split: study, holdout, faced-official, subject-kfold, loso, stimuli-out, "
            "subjects-x-stimuli, seedv-sessions, seedv-trials; auto = study for all 123 FACED "
            "subjects, else holdout."
        ),
    ] = "auto",
    folds: Annotated[str, typer.Option(help="Folds to run (1-based, comma-separated).")] = "all",
    task: Annotated[
        str, typer.Option(help="faced9, binary or seedv5 (auto: by dataset).")
    ] = "auto",
    unit: Annotated[str, typer.Option(help="segment (the study's) or window (1-s samples).")] = (
        "segment"
    ),
    segment_seconds: Annotated[
        float | None, typer.Option(help="Segment length (default 10 s FACED, 12 s SEED-V).")
    ] = None,
    average: Annotated[
        bool, typer.Option(help="Average the seconds of a segment (else keep a sequence).")
    ] = False,
    normalize: Annotated[str, typer.Option(help="subject-zscore or none.")] = "subject-zscore",
    regimes: Annotated[
        str, typer.Option(help="plain, aug, kd, aug-kd (comma-separated; the study's recipes).")
    ] = "plain",
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated.")] = "0",
    epochs: Annotated[int, typer.Option(help="Epochs (the study: 100 or 150).")] = 100,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW).")] = 1e-3,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay.")] = 1e-2,
    warmup_epochs: Annotated[int, typer.Option(help="Linear warm-up epochs.")] = 5,
    hyper: Annotated[
        list[str] | None,
        typer.Option(help="Decoder hyper-parameter key=value or decoder.key=value (repeat)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda, ...")] = "auto",
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch.")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Epochs between checkpoints.")] = 5,
    chance_refits: Annotated[
        int,
        typer.Option(
            min=0,
            help="Refits of linear/svm on clip-permuted labels for the test against chance; "
            "each retrains the decoder (0: none; other decoders are tested on held-out clips "
            "only).",
        ),
    ] = DEFAULT_REFITS,
    weights: Annotated[
        Path | None,
        typer.Option(
            help="A local weights file to start from (cbramod): the official encoder "
            "(pretrained_weights.pth), an official fine-tuning checkpoint or a vaxis model.pt. "
            "Its sha256 enters each run's key; raw EEG is resampled to the weights' rate.",
        ),
    ] = None,
    resample: Annotated[
        bool,
        typer.Option(
            help="Resample raw EEG to the rate the weights expect (MNE's anti-aliased "
            "resampler); --no-resample refuses a mismatch instead."
        ),
    ] = True,
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder.")] = Path("runs"),
    positions: Annotated[
        str | None,
        typer.Option(
            help="Probe the trained decoders for these V-axis positions (an axis folder, a "
            "CSV/JSON, 'classes' or 'truth'); writes OUT/probe."
        ),
    ] = None,
    executor: ExecutorOption = "serial",
    workers: WorkersOption = None,
    address: AddressOption = None,
    nan_policy: NanOption = "raise",
    compute: ComputeOptions = DEFAULT_COMPUTE,
) -> None:
    """Train decoders and write metrics, predictions, features and weights per run.

    Python: ``vaxis.zoo.run(vaxis.zoo.ZooConfig(...))``.
    """
    from vaxis.data.sources import is_raw
    from vaxis.decoders.experiment import REGIMES
    from vaxis.decoders.pretrained import check_weights
    from vaxis.zoo import ZooConfig, run
    from vaxis.zoo.jobs import FoldError

    regime_names = _names(regimes)
    bad = [r for r in regime_names if r not in REGIMES]
    if bad:
        raise typer.BadParameter(f"unknown regime(s) {bad}; choose from {', '.join(REGIMES)}")
    try:
        out = check_out_dir(out)
        source = _source(cohort_path, decoder)
        names = _decoders(decoder, "raw" if is_raw(source) else "de")
        check_weights(names, weights, "--weights")
        for name in names:
            check_hyper(name, parse_hyper(hyper or [], name), "--hyper", " ".join(hyper or []))
        settings = {
            "cohort": source, "positions": positions, "decoders": names,
            "regimes": regime_names, "seeds": parse_ints(seeds, "--seeds"), "epochs": epochs,
            "protocol": protocol, "folds": _folds(folds), "task": task, "unit": unit,
            "segment_seconds": segment_seconds, "sequence": not average,
            "normalize": normalize, "resample": resample, "batch_size": batch_size, "lr": lr,
            "weight_decay": weight_decay, "warmup_epochs": warmup_epochs,
            "hyper": {name: parse_hyper(hyper or [], name) for name in names},
            "weights": weights, "chance_refits": chance_refits, "device": device,
            "threads": threads, "checkpoint_every": checkpoint_every,
            "shuffled_null": False, "executor": executor, "workers": workers,
            "ray_address": address, "run_folders": "labels", "out": out,
            "nan_policy": parse_nan_policy(nan_policy), **compute.settings(),
        }  # fmt: skip
        report = run(ZooConfig.model_validate(settings), progress=True)
    except FoldError as error:
        allowed = f"1 to {error.n_folds}, comma-separated, or all"
        fail(OptionError("--folds", folds, f"this protocol has no fold {error.fold + 1}", allowed))
    except (ValidationError, VaxisError, ValueError) as error:
        fail(error)
    print_report(report)
    if done := report.sweep.already_done:
        console.print(f"{done} run(s) were done before and were not repeated")
    console.print(f"runs in {out}")


def _folds(value: str) -> tuple[int, ...] | str:
    """``--folds``: ``all``, or 1-based fold numbers (the config's folds count from 0)."""
    if value == "all":
        return value
    folds = parse_ints(value, "--folds")
    if min(folds) < 1:
        raise OptionError("--folds", value, f"no fold {min(folds)}", "1 or more, or all")
    return tuple(fold - 1 for fold in folds)
