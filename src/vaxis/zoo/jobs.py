"""The zoo's one job builder: decoders x regimes x variants x seeds (x folds) -> sweep jobs.

`vaxis train`, the study's ``zoo`` stage and ``plan`` (what ``vaxis study --plan`` costs) all
build their jobs here, so the same settings give the same jobs and the same keys everywhere.
A job's params hold the study's fields (cohort, split, fold, task, regime, decoder, epochs,
seed, chance refits) and, only when not at the engine's defaults, the other knobs: a job
the study always ran keeps the key it always had (cached runs stay valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from vaxis.errors import VaxisError
from vaxis.sweep.jobs import Job, make_job, split_params
from vaxis.zoo.config import AUTO, ZooConfig

if TYPE_CHECKING:
    from vaxis.data.cohort import Cohort
    from vaxis.sweep.cost import PlannedJob, Rates

#: the training knobs of ZooConfig that are TrainConfig fields of the same name
TRAIN_KNOBS = ("batch_size", "lr", "weight_decay", "warmup_epochs")
#: the runtime knobs of ZooConfig that are TrainConfig fields of the same name (``threads`` is
#: TrainConfig's ``num_threads``)
RUNTIME_KNOBS = ("device", "checkpoint_every")
#: the input knobs of ZooConfig that are InputConfig fields of the same name
INPUT_KNOBS = ("unit", "segment_seconds", "sequence", "normalize", "resample")
SHUFFLED = "shuffled-labels"
#: the folder under ``out`` that holds a cohort read from an official folder
DATA_DIR = "data"


class FoldError(VaxisError):
    """A fold the protocol does not have on this cohort."""

    def __init__(self, protocol: str, n_folds: int, fold: int) -> None:
        self.n_folds, self.fold = n_folds, fold
        super().__init__(
            f"protocol {protocol!r} has {n_folds} fold(s) on this cohort (0 to {n_folds - 1}), "
            f"not fold {fold}"
        )


@dataclass(frozen=True)
class ZooRun:
    """One planned run: its fold, its label and its sweep job."""

    fold: int
    #: ``decoder/regime[/variant]/seed<k>``, or ``decoder/shuffled-labels/seed<k>`` (the null)
    label: str
    job: Job
    #: the label, prefixed ``fold<k>/`` when the plan has more than one fold (unique)
    name: str


def resolve(config: ZooConfig, cohort: Cohort) -> ZooConfig:
    """``config`` with what depends on the cohort decided: ``protocol = "auto"``, every fold
    (``folds = "all"``; a fold it does not have is a :class:`FoldError`) and the task
    (``task = "auto"``: the dataset's)."""
    from vaxis.data.datasets import default_protocol
    from vaxis.data.splits import SPLITTERS
    from vaxis.decoders.units import default_task

    protocol = config.protocol
    if protocol == AUTO:
        protocol = default_protocol(cohort.meta.dataset, int(cohort.subjects.size))
    n_folds = len(SPLITTERS[protocol](cohort))
    folds = tuple(range(n_folds)) if config.folds == "all" else config.folds
    if missing := [fold for fold in folds if fold >= n_folds]:
        raise FoldError(protocol, n_folds, missing[0])
    task = default_task(cohort.meta.dataset) if config.task == "auto" else config.task
    return config.model_copy(update={"protocol": protocol, "folds": folds, "task": task})


def prepare(config: ZooConfig) -> tuple[ZooConfig, Cohort]:
    """What the run and its plan share: the cohort as a checked file (an official folder read
    once into ``out/data``), and ``config`` on that file, resolved (:func:`resolve`)."""
    from vaxis.data.sources import as_cohort_file

    path, cohort = as_cohort_file(config.cohort, config.out / DATA_DIR, config.nan_policy, raw=True)
    return resolve(config.model_copy(update={"cohort": path}), cohort), cohort


def plan_jobs(config: ZooConfig) -> list[ZooRun]:
    """Every run of the zoo, in order: per fold, decoder, regime, variant and seed (a closed
    -form decoder once per seed: it has no training regime or recipe variant), then the
    shuffled-label null (the first torch decoder, first seed) when asked for. ``config`` must
    be resolved (:func:`resolve`)."""
    from vaxis.decoders import SKLEARN_DECODERS

    if config.protocol == AUTO or config.folds == "all" or config.task == "auto":
        raise ValueError("resolve the zoo's protocol, folds and task on the cohort first")
    runs = []
    several = len(config.folds) > 1
    for fold in config.folds:
        base = _base_params(config, fold)
        for decoder in config.decoders:
            sklearn = decoder in SKLEARN_DECODERS
            for regime in ("plain",) if sklearn else config.regimes:
                for variant in (None,) if sklearn else config.variants or (None,):
                    for seed in config.seeds:
                        train = _train(config, decoder, variant)
                        train["seed"] = seed
                        train |= config.numeric_params()
                        params = {**base, "regime": regime, "train": train}
                        params["chance"] = {"refits": config.chance_refits}
                        label = f"{decoder}/{regime}"
                        label += "" if variant is None else f"/{variant.name}"
                        runs.append(_run(config, fold, f"{label}/seed{seed}", params, several))
        torch_decoders = [d for d in config.decoders if d not in SKLEARN_DECODERS]
        if config.shuffled_null and torch_decoders:
            decoder, seed = torch_decoders[0], config.seeds[0]
            train = {**_train(config, decoder, None), "seed": seed, "shuffle_labels": True}
            train |= config.numeric_params()
            label = f"{decoder}/{SHUFFLED}/seed{seed}"
            runs.append(_run(config, fold, label, {**base, "train": train}, several))
    return runs


def _base_params(config: ZooConfig, fold: int) -> dict[str, Any]:
    """The params every job of a fold shares (the inputs' knobs only where not default)."""
    from vaxis.decoders.experiment import InputConfig

    base = split_params(config.cohort, config.protocol, fold, config.task)
    base["inputs"] |= _changed(config, INPUT_KNOBS, InputConfig())
    if config.weights is not None:
        base["weights"] = str(config.weights.resolve())  # a data param: its sha256 is keyed
    return base


def _train(config: ZooConfig, decoder: str, variant: Any) -> dict[str, Any]:
    """TrainConfig fields of one decoder (and recipe variant), the study's first."""
    from vaxis.decoders import DECODERS
    from vaxis.decoders.train import TrainConfig

    train: dict[str, Any] = {"decoder": decoder, "epochs": config.epochs}
    train |= _changed(config, TRAIN_KNOBS, TrainConfig())
    hyper = dict(config.hyper.get(decoder, {}))
    if config.weights is not None and decoder in DECODERS:
        hyper = DECODERS[decoder].weights_hyper | hyper  # the sizes the weights need
    if variant is not None:
        train["epochs"] = variant.epochs or config.epochs
        train |= {"lr": variant.lr} if variant.lr is not None else {}
        hyper |= variant.hyper
    return train | ({"hyper": hyper} if hyper else {})


def _changed(config: ZooConfig, names: tuple[str, ...], defaults: BaseModel) -> dict[str, Any]:
    """The knobs ``names`` of ``config`` that differ from ``defaults``' fields of the same name
    (only those enter a job, so a job at the defaults keeps the key it always had)."""
    values = {name: getattr(config, name) for name in names}
    return {name: v for name, v in values.items() if v != getattr(defaults, name)}


def _run(config: ZooConfig, fold: int, label: str, params: dict[str, Any], several: bool) -> ZooRun:
    from vaxis.decoders.train import TrainConfig

    # how a job runs, not what it computes: kept out of its key (Job.runtime)
    defaults = TrainConfig()
    runtime = _changed(config, RUNTIME_KNOBS, defaults)
    if config.threads != defaults.num_threads:
        runtime["num_threads"] = config.threads
    job = make_job("train", params, runtime=runtime)
    return ZooRun(fold, label, job, f"fold{fold + 1}/{label}" if several else label)


def plan(config: ZooConfig, rates: Rates | None = None) -> list[PlannedJob]:
    """The zoo's training jobs and their cost (the rows of ``vaxis study --plan``), after the
    run's own preparation (:func:`prepare`); ``rates`` default to this machine's, measured."""
    from vaxis.sweep.cost import CohortParts, Rates, plan_rows

    config, cohort = prepare(config)
    jobs = {run.name: run.job for run in plan_jobs(config)}
    rates = rates or Rates.measured()
    return plan_rows(jobs, "zoo", CohortParts(cohort), rates, False, config.checkpoint_activations)
