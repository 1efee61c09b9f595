"""`vaxis align` as a library call: train the baseline and every intervention, compare each.

Every arm (the baseline, each intervention — an auxiliary loss or a training procedure — and
each requested control) is trained on the same split with the same seeds, as one sweep job per
(arm, seed) kept in a :class:`~vaxis.sweep.ResultStore` under ``out/sweep`` (a re-run skips
finished jobs). Each intervention is then compared with the baseline twice:

* over runs x test subjects (the verdict): each run's per-subject balanced accuracy, tested by
  :func:`~vaxis.core.stats.crossed_t`, which counts the seed-to-seed variance of retrained
  models as well as the subjects'. Subject-paired tests (sign-flip, Wilcoxon, paired t over
  per-subject means) are reported beside it: they are conditional on the trained models and
  reject far too often across retraining (34% at alpha 0.05 on synthetic nulls, see
  ``docs/DESIGN.md``);
* the study's test, for comparability: test balanced accuracy per seed, paired t over seeds.

Both tables carry bootstrap or t intervals, Cohen's d_z and Holm and Benjamini-Hochberg
p-values across all arms, and the counts better / no difference / worse beside the study's
published 0 / 9 / 16. Output: ``align.json`` and one forest plot per table (PNG and SVG).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import vaxis.align.jobs  # noqa: F401  (registers the sweep job kind "align")
from vaxis.align.config import BASELINE, CROSS_DATASET, AlignConfig, parse_arm
from vaxis.align.config import registered_weights as registered_weights
from vaxis.align.forest import plot_forest
from vaxis.align.report import REPORT_NAME, STUDY_TEST, SUBJECT_TEST, AlignReport
from vaxis.core.effects import ComparisonTable, compare_to_baseline
from vaxis.data.cohort import Cohort
from vaxis.data.sources import as_cohort_file
from vaxis.data.splits import split_fold
from vaxis.decoders.units import default_task
from vaxis.sweep import Job, ResultStore, make_job, run_sweep
from vaxis.sweep.compute import Compute, placed
from vaxis.sweep.cost import CohortParts, PlannedJob, Rates, plan_rows
from vaxis.sweep.executors import make_executor
from vaxis.sweep.jobs import split_params

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions


def plan(config: AlignConfig, rates: Rates | None = None) -> list[PlannedJob]:
    """Every job :func:`run` trains for ``config``, and its cost; trains nothing (an
    official folder is read into ``out/data`` first, as the run does). ``rates``: FLOP/s here
    and on a GPU (default: a short calibration of this machine)."""
    config, cohort, _, jobs = _prepare(config)
    labelled = {f"{arm}/seed{seed}": job for (arm, seed), job in jobs.items()}
    return plan_rows(
        labelled, "align", CohortParts(cohort), rates or Rates.measured(),
        checkpointing=config.checkpoint_activations,
    )  # fmt: skip


def run(config: AlignConfig, compute: Compute | None = None, progress: bool = False) -> AlignReport:
    """Train every (arm, seed) job not yet in ``config.out/sweep``, compare, write the report;
    ``compute``: where the jobs run (None: the config's executor and device fields)."""
    config = placed(config, compute)
    executor = make_executor(
        config.executor, config.workers, config.ray_address, **config.executor_options()
    )
    config, cohort, positions, jobs = _prepare(config)
    arms = config.arms()
    store = ResultStore(config.out / "sweep")
    summary = run_sweep(list(jobs.values()), store, executor, progress=progress)
    if problem := summary.unfinished():
        raise RuntimeError(problem)
    results = {pair: _result(store, job.key()) for pair, job in jobs.items()}
    subjects = tuple(sorted(int(s) for s in results[BASELINE, config.seeds[0]]["subjects"]["test"]))
    per_run, per_seed = _per_run(results, subjects), _per_seed(results)
    options: dict[str, Any] = {"alpha": config.alpha, "correction": config.correction}
    others = arms[1:]
    by_subject = compare_to_baseline(
        {a: per_run[a].mean(axis=0) for a in others},
        per_run[BASELINE].mean(axis=0),
        unit="subject",
        per_run={a: per_run[a] for a in others},
        baseline_runs=per_run[BASELINE],
        **options,
    )
    by_seed = compare_to_baseline(
        {a: per_seed[a] for a in others}, per_seed[BASELINE], unit="seed", **options
    )
    files = _write(config.out, by_subject, by_seed)
    report = AlignReport(
        by_subject=by_subject,
        by_seed=by_seed,
        weights={arm: config.weight(arm) for arm in arms},
        test_subjects=subjects,
        seeds=config.seeds,
        protocol=results[BASELINE, config.seeds[0]]["protocol"],
        positions_source=positions.source,
        synthetic=bool(cohort.meta.synthetic),
        sweep=summary,
        out=config.out,
        files=(config.out / REPORT_NAME, *files),
        runs={pair: job.key() for pair, job in jobs.items()},
    )
    (config.out / REPORT_NAME).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return report


def _prepare(
    config: AlignConfig,
) -> tuple[AlignConfig, Cohort, StimulusPositions, dict[tuple[str, int], Job]]:
    """The config on checked cohort files, the cohort, its positions and the jobs (what the
    run and its plan share); fails before any training on a split that cannot be tested."""
    from vaxis.axis.positions import resolve_positions

    given = config.cohort  # a synthetic cohort's truth lies beside the file the user named
    config, cohort = _with_cohort_files(config)
    positions = resolve_positions(config.positions, given, cohort.meta.dataset)
    _check_split(cohort, config)
    return config, cohort, positions, plan_jobs(config, cohort.meta.dataset, positions)


def _with_cohort_files(config: AlignConfig) -> tuple[AlignConfig, Cohort]:
    """The config with its cohorts as checked files (NaN policy applied once; an official
    folder read once into ``out/data``), and the cohort: the jobs, in other processes, load
    the cohorts by path."""
    folder = config.out / "data"
    cohort_file, cohort = as_cohort_file(config.cohort, folder, config.nan_policy)
    source = config.source_cohort
    if source is not None:
        source = str(as_cohort_file(Path(source), folder, config.nan_policy)[0])
    return config.model_copy(update={"cohort": cohort_file, "source_cohort": source}), cohort


def plan_jobs(
    config: AlignConfig, dataset: str, positions: StimulusPositions
) -> dict[tuple[str, int], Job]:
    """(arm, seed) -> the sweep job that trains it: every job `vaxis align` runs for ``config``
    on a cohort of ``dataset`` with these V-axis positions (the one job builder: the run and
    ``vaxis study --plan`` both use it)."""
    task = config.task
    if task == "auto":
        task = default_task(dataset)
    base = split_params(config.cohort, config.protocol, config.fold, task)
    base["positions"] = positions.model_dump(mode="json")
    train = {"decoder": config.decoder, "hyper": config.hyper, "epochs": config.epochs,
             "batch_size": config.batch_size, "lr": config.lr, "device": config.device,
             "num_threads": config.threads, **config.numeric_params()}  # fmt: skip
    if config.epoch_probe:
        base["epoch_probe"] = True  # a new key: these runs write epochs.npz besides
    arms = config.arms()
    cross = any(parse_arm(arm)[0] == CROSS_DATASET for arm in arms)
    source = _source_params(config) if cross else {}
    jobs = {}
    for arm in arms:
        params = {**base, "arm": arm, "weight": config.weight(arm)}
        if parse_arm(arm)[0] == CROSS_DATASET:
            params |= source
        for seed in config.seeds:
            jobs[arm, seed] = make_job("align", {**params, "train": {**train, "seed": seed}})
    return jobs


def _check_split(cohort: Cohort, config: AlignConfig) -> None:
    """Fail before training when the fold does not exist or tests fewer than two subjects."""
    split = split_fold(cohort, config.protocol, config.fold)
    n_test = np.unique(cohort.subject[split.test]).size
    if n_test < 2:
        raise ValueError(
            f"protocol {config.protocol!r} tests {n_test} subject(s) of {config.cohort}: "
            "pairing over subjects needs at least 2 (use a cohort with more subjects)"
        )


def _result(store: ResultStore, key: str) -> dict[str, Any]:
    record = store.get(key)
    if record is None or record["status"] != "ok":
        raise RuntimeError(f"no successful result for job {key} in {store.root}")
    result: dict[str, Any] = record["result"]
    return result


def _source_params(config: AlignConfig) -> dict[str, Any]:
    """The cross-dataset jobs' extra params: the source cohort and its V-axis positions."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.data.cohort import load_meta

    if config.source_cohort is None:  # AlignConfig refuses cross-dataset without a source
        raise ValueError("cross-dataset needs source_cohort")
    source = Path(config.source_cohort)
    dataset = load_meta(source).dataset
    positions = resolve_positions(config.positions, source, dataset)
    return {
        "source_cohort": str(source.resolve()),
        "source_positions": positions.model_dump(mode="json"),
    }


def _per_run(
    results: dict[tuple[str, int], dict[str, Any]], subjects: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Arm -> (n_seeds, n_subjects) test balanced accuracy of each run (rows: seeds in the
    config's order; columns: subjects in order)."""
    rows: dict[str, list[list[float]]] = {}
    for (arm, _), result in results.items():
        by_subject = result["test"]["per_subject_balanced_accuracy"]
        if sorted(int(s) for s in by_subject) != list(subjects):
            raise RuntimeError(f"arm {arm!r} was tested on other subjects than the baseline")
        rows.setdefault(arm, []).append([by_subject[str(s)] for s in subjects])
    return {arm: np.asarray(values) for arm, values in rows.items()}


def _per_seed(results: dict[tuple[str, int], dict[str, Any]]) -> dict[str, np.ndarray]:
    """Arm -> test balanced accuracy of each seed (seeds in the config's order)."""
    rows: dict[str, list[float]] = {}
    for (arm, _), result in results.items():
        rows.setdefault(arm, []).append(result["test"]["balanced_accuracy"])
    return {arm: np.asarray(values) for arm, values in rows.items()}


def _write(out: Path, by_subject: ComparisonTable, by_seed: ComparisonTable) -> list[Path]:
    """Forest plots of both tables (PNG and SVG)."""
    from vaxis.plotting import save_figure

    paths = save_figure(plot_forest(by_subject, SUBJECT_TEST), out / "forest_subjects")
    return paths + save_figure(plot_forest(by_seed, STUDY_TEST), out / "forest_seeds")
