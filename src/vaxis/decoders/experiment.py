"""One run of one decoder on one split, written to a folder: the unit every sweep is made of.

``run_experiment`` checks that the split keeps apart what it claims (subjects, stimuli),
builds the input units, trains (or fits the scikit-learn baseline), scores the validation and
test subjects, and writes:

* ``metrics.json`` - protocol, split, subjects of each part, synthetic flag, configs, training
  history, and the metrics of validation and test (balanced accuracy first, per-subject
  balanced accuracy for paired statistics), and ``chance``: the test of the test accuracy
  against chance at the unit of the claim (:mod:`vaxis.decoders.chance`). Written last: its
  presence means "done", so a re-run skips finished runs and resumes unfinished ones from
  ``checkpoint.pt`` (which is deleted once the run is done).
* ``val_predictions.npz``, ``test_predictions.npz`` - logits, probabilities, predictions,
  penultimate features and each sample's subject, stimulus, segment, category and target.
* ``model.pt`` - the selected weights of a torch decoder (a state dict).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from vaxis.core.runs import METRICS_NAME, write_metrics, write_predictions
from vaxis.data.cohort import Cohort
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import Split
from vaxis.decoders.augment import Augmentation
from vaxis.decoders.base import DECODERS, Decoder, LoadedWeights
from vaxis.decoders.chance import ChanceConfig, ChanceTest, FitPredict, chance_test
from vaxis.decoders.checkpoint import CHECKPOINT_NAME
from vaxis.decoders.distill import Distillation
from vaxis.decoders.metrics import Metrics, compute_metrics
from vaxis.decoders.svm import SKLEARN_DECODERS, features_of
from vaxis.decoders.train import (
    EpochObserver,
    EpochRecord,
    ExtraLoss,
    Predictions,
    TrainConfig,
    TrainResult,
    evaluate,
    fit,
    initial_model,
    predict,
    resolve_device,
)
from vaxis.decoders.units import (
    Task,
    Unit,
    Units,
    make_units,
    resample_raw,
    shuffle_stimulus_labels,
)
from vaxis.errors import DataFormatError

#: a training step for :func:`run_experiment`: (train units, val units, run folder) -> result
Trainer = Callable[[Units, Units, Path], TrainResult]
#: Training regimes of the study's ablation (docs/REFERENCE.md sec. 1.8): plain,
#: +augmentation, +aug+KD.
REGIMES: dict[str, dict[str, Any]] = {
    "plain": {"augmentation": None, "distillation": None, "shuffle_labels": False},
    "aug": {"augmentation": Augmentation(), "distillation": None, "shuffle_labels": False},
    "kd": {"augmentation": None, "distillation": Distillation(), "shuffle_labels": False},
    "aug-kd": {
        "augmentation": Augmentation(),
        "distillation": Distillation(),
        "shuffle_labels": False,
    },
    #: the shuffled-label null for probing: whole stimuli swap classes before training
    "shuffled": {"augmentation": None, "distillation": None, "shuffle_labels": True},
}


class InputConfig(BaseModel):
    """How a cohort becomes decoder inputs (see :mod:`vaxis.decoders.units`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Task = "faced9"
    unit: Unit = "segment"
    segment_seconds: float | None = None
    sequence: bool = True
    #: "subject-zscore": each subject's features z-scored over its own samples (label-free;
    #: every subject, test subjects included, uses only its own data); "none": as loaded.
    #: Raw cohorts are never normalised here (raw decoders scale their input themselves).
    normalize: Literal["subject-zscore", "none"] = "subject-zscore"
    #: raw EEG: the rate (Hz) units are built at; None: the rate the decoder's weights expect
    #: when the run loads weights, else the cohort's own
    sfreq: float | None = Field(default=None, gt=0)
    #: resample raw EEG to that rate (MNE's anti-aliased resampler); off: refuse a mismatch
    resample: bool = True


@dataclass(frozen=True)
class RunSummary:
    """The headline numbers of a finished run, and where its files are."""

    path: Path
    decoder: str
    seed: int
    split: str
    best_epoch: int | None
    val_balanced_accuracy: float | None
    test_balanced_accuracy: float
    skipped: bool
    #: the chance test recorded in metrics.json (None for runs finished before it existed)
    chance: ChanceTest | None = None


def with_regime(config: TrainConfig, regime: str) -> TrainConfig:
    """``config`` with the augmentation and distillation settings of a named regime."""
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; choose one of {', '.join(REGIMES)}")
    return config.model_copy(update=REGIMES[regime])


def run_experiment(
    cohort: Cohort,
    split: Split,
    config: TrainConfig,
    out_dir: str | Path,
    inputs: InputConfig | None = None,
    protocol: str | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    extra_loss_factory: Callable[[Decoder, Units], ExtraLoss] | None = None,
    on_epoch_state: EpochObserver | None = None,
    trainer: Trainer | None = None,
    notes: dict[str, Any] | None = None,
    chance: ChanceConfig | None = None,
) -> RunSummary:
    """Train and score one decoder on one split; write everything to ``out_dir``.

    ``extra_loss_factory(model, train_units)`` builds an auxiliary loss (an alignment
    intervention) for the decoder, which is then initialised exactly as without one.
    ``trainer(train_units, val_units, out_dir)`` replaces the training step (a multi-stage
    procedure, e.g. pretrain then fine-tune); it returns the :class:`TrainResult` of the
    weights to score and never sees the test units. ``notes`` are recorded in
    ``metrics.json`` under ``procedure``. ``chance`` sets the test against chance (default:
    no refits, so the predictions test where the test clips are held out, else none); only a
    plain run (no extra loss, no trainer) of a decoder in ``chance.refit_decoders`` is refitted.

    A folder whose ``metrics.json`` records the same config and split is skipped; one that
    records another raises :class:`DataFormatError` (results are never overwritten).
    """
    out = Path(out_dir)
    inputs = inputs or InputConfig()
    done = finished_run(out, config, split.name)
    if done is not None:
        return _summary(out, done, skipped=True)
    split.check_disjoint(cohort)
    if inputs.normalize == "subject-zscore" and cohort.meta.kind == "features":
        cohort = subject_zscore(cohort)
    if cohort.meta.kind == "raw":
        cohort = at_decoder_rate(cohort, config, inputs)
    parts = {
        name: make_units(part, inputs.task, inputs.unit, inputs.segment_seconds, inputs.sequence)
        for name, part in zip(("train", "val", "test"), split.cohorts(cohort), strict=True)
    }
    if config.max_eval_units_per_stimulus is not None:
        for name in ("val", "test"):
            parts[name] = parts[name].first_per_stimulus(config.max_eval_units_per_stimulus)
    if config.shuffle_labels:
        parts = shuffle_stimulus_labels(parts, config.seed)
    train, val, test = parts["train"], parts["val"], parts["test"]
    scored: dict[str, Units] = {"val": val, "test": test} if len(val) else {"test": test}
    out.mkdir(parents=True, exist_ok=True)
    loaded: LoadedWeights | None = None
    if config.decoder in SKLEARN_DECODERS:
        if extra_loss_factory is not None or trainer is not None:
            raise ValueError(f"decoder {config.decoder!r} is not trained by gradient descent")
        training, predictions = _fit_sklearn(config, train, scored)
    elif trainer is not None:
        if extra_loss_factory is not None:
            raise ValueError("give a trainer or an extra_loss_factory, not both")
        if config.weights is not None:  # never ignored silently
            raise ValueError("a trainer builds its own model: load config.weights there")
        result = trainer(train, val, out)
    else:
        model, extra, loaded = _with_extra_loss(config, train, extra_loss_factory)
        result = fit(
            config,
            train,
            val,
            model=model,
            run_dir=out,
            extra_loss=extra,
            on_epoch=on_epoch,
            on_epoch_state=on_epoch_state,
        )
    if config.decoder not in SKLEARN_DECODERS:
        torch.save(result.model.state_dict(), out / "model.pt")
        reused = None if trainer is not None else result.val_predictions  # the selected epoch's
        predictions = {
            name: reused
            if name == "val" and reused is not None
            else predict(result.model, units, config.eval_batch_size)
            for name, units in scored.items()
        }
        training = {
            "best_epoch": result.best_epoch,
            "best_val_balanced_accuracy": result.best_val_balanced_accuracy,
            "selected_by": result.selected_by,
            "device": result.device,
            "samples_per_second": result.samples_per_second,
            "history": [asdict(r) for r in result.history],
        }
    metrics: dict[str, Metrics] = {}
    for name, units in scored.items():
        metrics[name] = compute_metrics(
            units.y, predictions[name].y_pred, units.subject, units.n_classes
        )
        _save_predictions(out, name, units, predictions[name])
    chance = chance or ChanceConfig()
    plain = extra_loss_factory is None and trainer is None
    refit = _refit(config, test) if plain and config.decoder in chance.refit_decoders else None
    tested = chance_test(train, val, test, predictions["test"].y_pred, chance, refit)
    report = {
        "vaxis_version": _version(),
        "synthetic": bool(cohort.meta.synthetic),
        "dataset": cohort.meta.dataset,
        "protocol": protocol or split.name,
        "split": split.name,
        "disjoint_by": list(split.disjoint_by),
        "subjects": {n: u.subjects.tolist() for n, u in parts.items()},
        "n_subjects": {n: int(u.subjects.size) for n, u in parts.items()},
        "held_out_stimuli": list(split.held_out_stimuli),
        "inputs": inputs.model_dump(mode="json"),
        "units": {n: u.describe() for n, u in parts.items()},
        **({"sfreq": cohort.meta.sfreq} if cohort.meta.kind == "raw" else {}),
        "config": config.model_dump(mode="json"),
        "config_key": config.key(),
        **({"weights": loaded.to_dict()} if loaded is not None else {}),
        "training": training,
        **({"procedure": notes} if notes is not None else {}),
        **{name: m.to_dict() for name, m in metrics.items()},
        "chance": tested.to_dict(),
    }
    write_metrics(out, report)
    (out / CHECKPOINT_NAME).unlink(missing_ok=True)  # model.pt holds the selected weights
    return _summary(out, report, skipped=False)


def at_decoder_rate(cohort: Cohort, config: TrainConfig, inputs: InputConfig) -> Cohort:
    """A raw cohort at the rate the run's decoder needs (:func:`decoder_rate`), resampled
    when it is not at that rate."""
    want = decoder_rate(float(cohort.meta.sfreq), config, inputs)
    return cohort if want is None or want == cohort.meta.sfreq else resample_raw(cohort, want)


def decoder_rate(have: float, config: TrainConfig, inputs: InputConfig) -> float | None:
    """The rate (Hz) raw EEG at ``have`` Hz is used at by the run's decoder: the weights'
    rate when it loads weights (refused, naming both rates, when it cannot be reached), and
    a rate its hyper-parameters fit (CBraMod: 1-s patches); None for a scikit-learn
    baseline. Checked before anything trains."""
    decoder = DECODERS.get(config.decoder)
    if decoder is None:  # a scikit-learn baseline: DE features only, refused where units are cut
        return None
    expected = decoder.weights_sfreq if config.weights is not None else None
    want = inputs.sfreq or expected or have
    if expected is not None and want != expected:
        raise DataFormatError(
            config.weights,
            f"the weights expect {expected:g} Hz but the run asks for {want:g} Hz",
            f"build the units at {expected:g} Hz (leave InputConfig.sfreq unset)",
        )
    if want != have and not inputs.resample:
        whose = "the weights expect" if expected else "the run asks for"
        raise DataFormatError(
            None,
            f"the data are at {have:g} Hz but {whose} {want:g} Hz, and resampling is off",
            f"turn resampling on (drop --no-resample; InputConfig(resample=True)) to "
            f"resample {have:g} -> {want:g} Hz with MNE's anti-aliased resampler",
        )
    if problem := decoder.rate_problem(config.hyper, want):
        raise DataFormatError(None, problem)
    return want


def _with_extra_loss(
    config: TrainConfig,
    train: Units,
    factory: Callable[[Decoder, Units], ExtraLoss] | None,
) -> tuple[Decoder, ExtraLoss | None, LoadedWeights | None]:
    """The decoder, built from the seed (with ``config.weights`` loaded), its extra loss (on
    the decoder's device; None without a factory) and what loading the weights did.

    Built here for every run, with or without an extra loss, so that an arm with an
    auxiliary loss starts from the baseline's weights *and* draws the baseline's random
    stream in :func:`fit` (dropout, batch order): paired arms differ only by the loss.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model, loaded = initial_model(config, train)
        extra = None if factory is None else factory(model, train)
    if isinstance(extra, torch.nn.Module):
        extra.to(resolve_device(config.device))
    return model, extra, loaded


def _fit_sklearn(
    config: TrainConfig, train: Units, scored: dict[str, Units]
) -> tuple[dict[str, Any], dict[str, Predictions]]:
    pipeline = SKLEARN_DECODERS[config.decoder](**{"seed": config.seed, **config.hyper})
    pipeline.fit(train.x, train.y)
    predictions = {}
    for name, units in scored.items():
        scores = np.asarray(pipeline.decision_function(units.x))
        logits = np.stack([-scores, scores], axis=1) if scores.ndim == 1 else scores
        predictions[name] = Predictions(logits=logits, features=features_of(pipeline, units.x))
    return {"best_epoch": None, "selected_by": "none (closed-form fit)"}, predictions


def _refit(config: TrainConfig, test: Units) -> FitPredict:
    """The run's own training step (no checkpoints), for refits on permuted targets."""

    def refit(train: Units, val: Units) -> np.ndarray:
        if config.decoder in SKLEARN_DECODERS:
            return _fit_sklearn(config, train, {"test": test})[1]["test"].y_pred
        model = _with_extra_loss(config, train, None)[0]
        return evaluate(fit(config, train, val, model=model).model, test)[1].y_pred

    return refit


def _save_predictions(out: Path, part: str, units: Units, predictions: Predictions) -> None:
    arrays = {"logits": predictions.logits, "probs": predictions.probs,
              "y_pred": predictions.y_pred, "features": predictions.features, "y_true": units.y,
              "subject": units.subject, "stimulus": units.stimulus, "segment": units.segment,
              "label": units.label}  # fmt: skip
    write_predictions(out, part, arrays)


def finished_run(out: Path, config: TrainConfig, split_name: str) -> dict[str, Any] | None:
    """The ``metrics.json`` of ``out`` if it records this config on this split; None when the
    folder holds no finished run. Raises :class:`DataFormatError` when it records another run
    (results are never overwritten): a caller with a plan checks every folder first."""
    path = out / METRICS_NAME
    if not path.exists():
        return None
    report: dict[str, Any] = json.loads(path.read_text())
    if report.get("config_key") != config.key() or report.get("split") != split_name:
        raise DataFormatError(
            path,
            "this folder holds the results of a different run",
            "choose another output folder (results are never overwritten)",
        )
    return report


def _summary(out: Path, report: dict[str, Any], skipped: bool) -> RunSummary:
    val = report.get("val")
    return RunSummary(
        path=out,
        decoder=report["config"]["decoder"],
        seed=report["config"]["seed"],
        split=report["split"],
        best_epoch=report["training"]["best_epoch"],
        val_balanced_accuracy=None if val is None else val["balanced_accuracy"],
        test_balanced_accuracy=report["test"]["balanced_accuracy"],
        skipped=skipped,
        chance=ChanceTest.from_dict(report["chance"]) if "chance" in report else None,
    )


def _version() -> str:
    try:
        return version("vaxis")
    except PackageNotFoundError:
        return "unknown"
