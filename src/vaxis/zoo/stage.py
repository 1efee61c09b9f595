"""`vaxis train` and the study's ``zoo`` stage as one library call: plan the zoo, run its
sweep (resumable: finished runs are skipped, unfinished ones resume from their checkpoints),
read the runs, probe them for the V-axis when positions are given, and return the report."""

from __future__ import annotations

from pathlib import Path

from vaxis.core.runs import read_metrics
from vaxis.data.cohort import Cohort
from vaxis.errors import VaxisError
from vaxis.sweep import ResultStore, run_sweep
from vaxis.zoo.config import ZooConfig
from vaxis.zoo.jobs import ZooRun, plan_jobs, prepare
from vaxis.zoo.report import ZooReport

SWEEP_DIR, PROBE_DIR = "sweep", "probe"


class ZooError(VaxisError):
    """The zoo's sweep did not finish (the message says how many runs and why)."""


def run(config: ZooConfig, progress: bool = False) -> ZooReport:
    """Train every planned run not yet done under ``config.out``, then report (and probe)."""
    from vaxis.data.datasets import DATASETS
    from vaxis.sweep.executors import make_executor

    given = config.cohort  # a synthetic cohort's truth lies beside the file the user named
    config, cohort = prepare(config)
    runs = plan_jobs(config)
    _check_rates(config, cohort, runs)
    store = ResultStore(config.out / SWEEP_DIR)
    splits = _split_names(config, cohort)
    folders = {run.name: _folder(config, run, splits[run.fold], store) for run in runs}
    placed = {run.job.key(): folders[run.name] for run in runs}
    executor = make_executor(
        config.executor, config.workers, config.ray_address, **config.executor_options()
    )
    summary = run_sweep(
        [run.job for run in runs],
        store,
        executor,
        progress=progress,
        folders=placed if config.run_folders == "labels" else None,
    )
    if problem := summary.unfinished():
        raise ZooError(f"zoo: {problem}")
    report = ZooReport(
        results={run.name: read_metrics(folders[run.name]) for run in runs},
        folders=folders,
        splits={run.name: splits[run.fold] for run in runs},
        chance=1 / len(DATASETS[cohort.meta.dataset].classes),
        synthetic=bool(cohort.meta.synthetic),
        sweep=summary,
        preamble=_weights_line(config, cohort),
    )
    if config.positions is not None:
        _probe(report, config, config.positions, given, cohort.meta.dataset, store)
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
    report: ZooReport,
    config: ZooConfig,
    positions_spec: str,
    given: Path,
    dataset: str,
    store: ResultStore,
) -> None:
    """Probe exactly the planned runs (never older ones kept in the store) for the V-axis;
    writes ``OUT/probe`` and fills the report's probe."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import probe_runs, write_report

    positions = resolve_positions(positions_spec, given, dataset)
    probe_config = ProbeConfig(n_null=config.probe_nulls, n_bootstrap=config.probe_bootstrap)
    root = config.out if config.run_folders == "labels" else store.root / "work"
    planned = list(report.folders.values())
    report.probe = probe_runs(root, positions, probe_config, only=planned)
    report.probe_dir = config.out / PROBE_DIR
    write_report(report.probe, report.probe_dir)
    report.probe_names = {
        folder.relative_to(root).as_posix(): name for name, folder in report.folders.items()
    }
