"""`vaxis train` and the study's ``zoo`` stage as one library call: plan the zoo, run its
sweep (resumable: finished runs are skipped, unfinished ones resume from their checkpoints),
read the runs, probe them for the V-axis when positions are given, and return the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.core.runs import read_metrics
from vaxis.data.cohort import Cohort
from vaxis.errors import VaxisError
from vaxis.sweep import ResultStore, run_sweep
from vaxis.sweep.compute import Compute, placed
from vaxis.zoo.config import ZooConfig
from vaxis.zoo.jobs import ZooRun, plan_jobs, prepare
from vaxis.zoo.report import ZooReport

if TYPE_CHECKING:
    from vaxis.probe.stage import ProbeStageReport

SWEEP_DIR, PROBE_DIR = "sweep", "probe"


class ZooError(VaxisError):
    """The zoo's sweep did not finish (the message says how many runs and why)."""


def run(config: ZooConfig, compute: Compute | None = None, progress: bool = False) -> ZooReport:
    """Train every planned run not yet done under ``config.out``, then report (and probe);
    ``compute``: where the runs train (None: the config's executor and device fields)."""
    from vaxis.decoders.units import task_targets
    from vaxis.sweep.executors import make_executor

    config = placed(config, compute)
    given = config.cohort  # a synthetic cohort's truth lies beside the file the user named
    config, cohort = prepare(config)
    runs = plan_jobs(config)
    _check_rates(config, cohort, runs)
    store = ResultStore(config.out / SWEEP_DIR)
    splits = _split_names(config, cohort)
    folders = {run.name: _folder(config, run, splits[run.fold], store) for run in runs}
    by_key = {run.job.key(): folders[run.name] for run in runs}
    if config.run_folders == "labels":
        _check_folders(runs, folders, splits)
    executor = make_executor(
        config.executor, config.workers, config.ray_address, **config.executor_options()
    )
    summary = run_sweep(
        [run.job for run in runs],
        store,
        executor,
        progress=progress,
        folders=by_key if config.run_folders == "labels" else None,
    )
    if problem := summary.unfinished():
        raise ZooError(f"zoo: {problem}")
    report = ZooReport(
        results={run.name: read_metrics(folders[run.name]) for run in runs},
        folders=folders,
        splits={run.name: splits[run.fold] for run in runs},
        chance=1 / len(task_targets(cohort, config.task)[2]),  # 1/K of the task's classes
        synthetic=bool(cohort.meta.synthetic),
        sweep=summary,
        preamble=_weights_line(config, cohort),
    )
    if config.positions is not None:
        report.probe = _probe(config, config.positions, given, folders, store)
    return report


def _folder(config: ZooConfig, run: ZooRun, split: str, store: ResultStore) -> Path:
    """``OUT/<split>/<label>`` (``run_folders = "labels"``) or the job's folder in the store."""
    if config.run_folders == "labels":
        return config.out / split / run.label
    return store.work_dir(run.job.key())


def _split_names(config: ZooConfig, cohort: Cohort) -> dict[int, str]:
    """Fold -> the name of its split (``holdout``, ``subject-10fold03``, ...), every fold of
    the protocol."""
    from vaxis.data.splits import SPLITTERS

    return {fold: split.name for fold, split in enumerate(SPLITTERS[config.protocol](cohort))}


def _check_folders(runs: list[ZooRun], folders: dict[str, Path], splits: dict[int, str]) -> None:
    """Refuse, before any training, a run folder that holds a finished run of other settings
    (e.g. `vaxis train` again into the same ``-o`` with another learning rate): its results
    are never overwritten, and the error names the folder."""
    from vaxis.decoders.experiment import finished_run
    from vaxis.sweep.jobs import train_config

    for run in runs:
        finished_run(folders[run.name], train_config(run.job.params), splits[run.fold])


def _check_rates(config: ZooConfig, cohort: Cohort, runs: list[ZooRun]) -> None:
    """Raw EEG: each decoder's rate is reachable (weights' rate, resampling), before any run."""
    from vaxis.decoders.experiment import InputConfig, decoder_rate
    from vaxis.decoders.train import TrainConfig

    if cohort.meta.kind != "raw":
        return
    weights = None if config.weights is None else str(config.weights)
    first = {run.job.params["train"]["decoder"]: run for run in reversed(runs)}
    for run in first.values():
        params = run.job.params
        train = TrainConfig.model_validate({**params["train"], "weights": weights})
        decoder_rate(float(cohort.meta.sfreq), train, InputConfig(**params["inputs"]))


def _weights_line(config: ZooConfig, cohort: Cohort) -> list[str]:
    """What the runs do with the weights file (its rate, the resampling); none without one."""
    from vaxis.decoders import DECODERS
    from vaxis.decoders.pretrained import describe_weights
    from vaxis.decoders.train import TrainConfig

    if config.weights is None:
        return []
    names = [name for name in config.decoders if name in DECODERS]
    recipe = TrainConfig(weights=str(config.weights))
    return [describe_weights(recipe, names, float(cohort.meta.sfreq), config.resample)]


def _probe(
    config: ZooConfig, positions: str, given: Path, folders: dict[str, Path], store: ResultStore
) -> ProbeStageReport:
    """Probe exactly the planned runs (never older ones kept in the store) for the V-axis,
    into ``OUT/probe``; the tables name each run by its label."""
    from vaxis.probe import stage as probe_stage

    root = config.out if config.run_folders == "labels" else store.root / "work"
    settings = probe_stage.ProbeStageConfig(
        runs=root,
        positions=positions,
        out=config.out / PROBE_DIR,
        cohort=given,
        only=tuple(folders.values()),
        n_null=config.probe_nulls,
        n_bootstrap=config.probe_bootstrap,
    )
    report = probe_stage.run(settings)
    report.names = {folder.relative_to(root).as_posix(): name for name, folder in folders.items()}
    return report
