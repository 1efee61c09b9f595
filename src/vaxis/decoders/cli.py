"""`vaxis train`: train one decoder or a whole zoo (decoders x regimes x seeds x folds).

Every run writes its own folder ``OUT/<split>/<decoder>/<regime>/seed<k>/`` (see
:mod:`vaxis.decoders.experiment`); re-running the same command skips finished runs and resumes
unfinished ones from their checkpoints.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from pydantic import ValidationError
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from vaxis.checks import check_out_dir, parse_ints
from vaxis.console import SYNTHETIC_BANNER, console, fail
from vaxis.data.options import NanOption, parse_nan_policy
from vaxis.decoders.chance import DEFAULT_REFITS
from vaxis.decoders.hyper import check_hyper
from vaxis.errors import OptionError, VaxisError

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.data.splits import Split
    from vaxis.decoders.chance import ChanceConfig
    from vaxis.decoders.experiment import InputConfig, RunSummary
    from vaxis.decoders.train import EpochRecord, TrainConfig

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
    nan_policy: NanOption = "raise",
) -> None:
    """Train decoders and write metrics, predictions, features and weights per run.

    Python: ``vaxis.decoders.experiment.run_experiment(cohort, split, TrainConfig(...), out)``.
    """
    from vaxis.data.sources import open_any
    from vaxis.data.splits import SPLITTERS
    from vaxis.decoders.chance import ChanceConfig
    from vaxis.decoders.experiment import REGIMES, InputConfig, at_decoder_rate
    from vaxis.decoders.pretrained import check_weights, describe_weights
    from vaxis.decoders.train import TrainConfig
    from vaxis.decoders.units import default_task

    regime_names = _names(regimes)
    bad = [r for r in regime_names if r not in REGIMES]
    if bad:
        raise typer.BadParameter(f"unknown regime(s) {bad}; choose from {', '.join(REGIMES)}")
    try:
        out = check_out_dir(out)
        seed_values = parse_ints(seeds, "--seeds")
        cohort = open_any(_source(cohort_path, decoder), nan_policy=parse_nan_policy(nan_policy))
        names = _decoders(decoder, "raw" if cohort.meta.kind == "raw" else "de")
        protocol = _protocol(protocol, cohort)
        if protocol not in SPLITTERS:
            raise typer.BadParameter(
                f"unknown protocol '{protocol}'; choose from {list(SPLITTERS)}"
            )
        splits = SPLITTERS[protocol](cohort)
        if folds != "all":
            splits = _folds(splits, folds)
        if task == "auto":
            task = default_task(cohort.meta.dataset)
        inputs = InputConfig(
            task=task,
            unit=unit,  # type: ignore[arg-type]
            segment_seconds=segment_seconds,
            sequence=not average,
            normalize=normalize,  # type: ignore[arg-type]
            resample=resample,
        )
        check_weights(names, weights, "--weights")
        recipe = TrainConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
            warmup_epochs=warmup_epochs, device=device, num_threads=threads,
            checkpoint_every=checkpoint_every, weights=None if weights is None else str(weights),
        )  # fmt: skip
        jobs = _plan(splits, names, regime_names, list(seed_values), recipe, hyper or [], out)
        sfreq = cohort.meta.sfreq
        if recipe.weights is not None and cohort.meta.kind == "raw" and jobs:
            # once for every run (they all load the same weights), not once per run
            cohort = at_decoder_rate(cohort, jobs[0][2], inputs)
    except (ValidationError, VaxisError, ValueError) as error:
        fail(error)
    if cohort.meta.synthetic:
        console.print(SYNTHETIC_BANNER)
    console.print(f"{len(jobs)} run(s): {protocol} protocol, {inputs.task}, results in {out}")
    if recipe.weights is not None:
        console.print(describe_weights(recipe, names, sfreq, resample), highlight=False)
    chance = ChanceConfig(refits=chance_refits)
    _print_summary(_run_all(jobs, cohort, inputs, protocol, chance))


Job = tuple["Split", str, "TrainConfig", Path]


def _plan(
    splits: list[Split],
    names: list[str],
    regimes: list[str],
    seeds: list[int],
    recipe: TrainConfig,
    hyper: list[str],
    out: Path,
) -> list[Job]:
    """Every (split, decoder, regime, seed) run, in ``OUT/split/decoder/regime/seedK``."""
    from vaxis.decoders import SKLEARN_DECODERS
    from vaxis.decoders.experiment import with_regime

    for name in names:
        check_hyper(name, parse_hyper(hyper, name), "--hyper", " ".join(hyper))
    jobs = []
    for split in splits:
        for name in names:
            # a closed-form fit has no training regime: run it once per seed
            for regime in ["plain"] if name in SKLEARN_DECODERS else regimes:
                for seed in seeds:
                    config = recipe.model_copy(
                        update={"decoder": name, "hyper": _hyper(recipe, name, hyper), "seed": seed}
                    )
                    run_dir = out / split.name / name / regime / f"seed{seed}"
                    jobs.append((split, regime, with_regime(config, regime), run_dir))
    return jobs


def _hyper(recipe: TrainConfig, name: str, items: list[str]) -> dict[str, Any]:
    """The decoder's ``--hyper`` values over, with weights, the sizes the weights need."""
    from vaxis.decoders import DECODERS

    given = parse_hyper(items, name)
    return given if recipe.weights is None else DECODERS[name].weights_hyper | given


def _folds(splits: list[Split], folds: str) -> list[Split]:
    """The 1-based folds named by ``--folds``, each checked against the protocol's."""
    wanted = parse_ints(folds, "--folds")
    allowed = f"1 to {len(splits)}, comma-separated, or all"
    for fold in wanted:
        if not 1 <= fold <= len(splits):
            raise OptionError("--folds", folds, f"this protocol has no fold {fold}", allowed)
    return [splits[fold - 1] for fold in wanted]


def _run_all(
    jobs: list[Job], cohort: Cohort, inputs: InputConfig, protocol: str, chance: ChanceConfig
) -> list[tuple[str, RunSummary]]:
    """Run the jobs in order with one progress bar each; stop at the first error."""
    from vaxis.decoders.experiment import run_experiment

    rows = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        for split, regime, config, run_dir in jobs:
            label = f"{split.name} {config.decoder}/{regime} seed {config.seed}"
            bar = progress.add_task(label, total=config.epochs)
            try:
                summary = run_experiment(
                    cohort, split, config, run_dir, inputs, protocol,
                    on_epoch=partial(_show_epoch, progress, bar), chance=chance,
                )  # fmt: skip
            except (VaxisError, ValueError) as error:
                progress.stop()
                fail(error)
            progress.update(bar, completed=config.epochs)
            rows.append((regime, summary))
    return rows


def _show_epoch(progress: Progress, bar: TaskID, record: EpochRecord) -> None:
    progress.update(bar, completed=record.epoch)


def _protocol(name: str, cohort: Any) -> str:
    if name != "auto":
        return name
    from vaxis.data.datasets import default_protocol

    return default_protocol(cohort.meta.dataset, int(cohort.subjects.size))


def _print_summary(rows: list[tuple[str, RunSummary]]) -> None:
    table = Table(title="runs (balanced accuracy)", title_justify="left")
    for column in ("split", "decoder", "regime", "seed", "best epoch", "val", "test", "folder"):
        table.add_column(column)
    for regime, s in rows:
        val = "-" if s.val_balanced_accuracy is None else f"{s.val_balanced_accuracy:.3f}"
        table.add_row(
            s.split,
            s.decoder,
            regime,
            str(s.seed),
            str(s.best_epoch or "-"),
            val,
            f"{s.test_balanced_accuracy:.3f}",
            str(s.path),
        )
    console.print(table)
    skipped = sum(s.skipped for _, s in rows)
    if skipped:
        console.print(f"{skipped} run(s) were done before and were not repeated")
    groups: dict[tuple[str, str], list[float]] = {}
    for regime, s in rows:
        groups.setdefault((s.decoder, regime), []).append(s.test_balanced_accuracy)
    overview = Table(title="test balanced accuracy over seeds and folds", title_justify="left")
    for column in ("decoder", "regime", "runs", "mean", "sd"):
        overview.add_column(column)
    for (name, regime), values in groups.items():
        sd = f"{np.std(values, ddof=1):.3f}" if len(values) > 1 else "-"
        overview.add_row(name, regime, str(len(values)), f"{np.mean(values):.3f}", sd)
    console.print(overview)
    _print_chance(rows)


def _print_chance(rows: list[tuple[str, RunSummary]]) -> None:
    """The test against chance per split, decoder and regime, seeds combined (as the study's
    zoo reports it); its unit and n at both levels are in the table."""
    from vaxis.decoders.chance import combine

    groups: dict[tuple[str, str, str], list[RunSummary]] = {}
    for regime, s in rows:
        groups.setdefault((s.split, s.decoder, regime), []).append(s)
    table = Table(
        title="above chance at the unit of the claim (mean per-subject balanced accuracy, "
        "seeds combined)",
        title_justify="left",
    )
    for column in ("split", "decoder", "regime", "seeds", "subjects", "test units", "mean",
                   "p", "test"):  # fmt: skip
        table.add_column(column)
    notes = []
    for (split, name, regime), runs in groups.items():
        tests = [s.chance for s in runs if s.chance is not None]
        if len(tests) < len(runs):
            table.add_row(split, name, regime, str(len(runs)), "-", "-", "-", "-", "not recorded")
            continue
        tested = combine(tests)
        p = "-" if tested.p is None else f"{tested.p:.3g}"
        kind = tested.kind if tested.kind == "none" else f"{tested.kind} x{len(tested.null)}"
        table.add_row(split, name, regime, str(len(runs)), str(tested.n_subjects),
                      f"{tested.n_test_units} of {tested.n_units} {tested.unit}s",
                      f"{tested.statistic:.3f}", p, kind)  # fmt: skip
        notes.append(f"{split} {name}/{regime}: {tested.describe()}")
    console.print(table)
    for note in notes:
        console.print(f"  {note}", highlight=False)
