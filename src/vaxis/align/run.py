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
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from vaxis.align.forest import plot_forest
from vaxis.align.interventions import CONTROLS, INTERVENTIONS
from vaxis.align.jobs import BASELINE, parse_arm
from vaxis.core.effects import ComparisonTable, compare_to_baseline
from vaxis.data.cohort import Cohort
from vaxis.data.sources import as_cohort_file
from vaxis.data.splits import SPLITTERS, split_fold
from vaxis.data.validation import NanPolicy
from vaxis.decoders import DECODERS
from vaxis.decoders.hyper import hyper_problem
from vaxis.decoders.units import default_task
from vaxis.sweep import Job, ResultStore, make_job, run_sweep
from vaxis.sweep.compute import DeviceSettings, NumericSettings
from vaxis.sweep.executors import ExecutorKind, make_executor
from vaxis.sweep.jobs import split_params
from vaxis.sweep.runner import SweepSummary

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions

REPORT_NAME = "align.json"
STUDY_TEST = "the study's test (paired t over seeds), for comparability"
SUBJECT_TEST = (
    "runs x test subjects (crossed t over per-run, per-subject balanced accuracy; "
    "subject-paired tests beside it)"
)


def registered_weights() -> dict[str, float]:
    """Every intervention `vaxis align` can run, with its default weight: the auxiliary losses
    (:data:`~vaxis.align.interventions.INTERVENTIONS`), then the training procedures
    (:data:`~vaxis.align.procedures.PROCEDURES`)."""
    from vaxis.align.procedures import PROCEDURES

    losses = {name: spec.weight for name, spec in INTERVENTIONS.items()}
    return losses | {name: spec.weight for name, spec in PROCEDURES.items()}


#: the procedure that needs a second cohort (``source_cohort``) and is left out without one
CROSS_DATASET = "cross-dataset"


class AlignConfig(NumericSettings, DeviceSettings):
    """Everything `vaxis align` needs; defaults follow the study (FACED-9, 5 seeds, 100 epochs).

    ``precision``/``tf32`` (every run's numbers) and ``devices``/``jobs_per_device``/``compile``
    (where and how fast) come from :mod:`vaxis.sweep.compute`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cohort: Path
    #: an axis folder, a positions CSV/JSON, ``classes`` or ``truth`` (see resolve_positions)
    positions: str
    decoder: str = "mlp"
    hyper: dict[str, Any] = Field(default_factory=dict)
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=128, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    #: intervention names (default: every registered one); ``name/control`` adds one control
    interventions: tuple[str, ...] = ()
    #: controls run for every intervention
    controls: tuple[Literal["permuted", "label-smoothing"], ...] = ()
    #: intervention name -> loss weight, replacing its registered default (its controls too)
    weights: dict[str, float] = Field(default_factory=dict)
    protocol: str = "holdout"
    fold: int = Field(default=0, ge=0)
    task: Literal["auto", "faced9", "binary", "seedv5"] = "auto"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Literal["holm", "bh"] = "holm"
    executor: ExecutorKind = "local"
    #: worker processes (local) or jobs at once (ray)
    workers: int | None = Field(default=None, ge=1)
    #: a Ray cluster (``ray://host:10001``); None starts a local Ray instance (ray only)
    ray_address: str | None = None
    device: str = "auto"
    #: torch threads per run (None: torch's default; local and ray workers use one)
    threads: int | None = Field(default=None, ge=1)
    out: Path = Path("runs/align")
    #: the other dataset's cohort for the cross-dataset intervention (positions resolved the
    #: same way as ``positions``)
    source_cohort: Path | None = None
    #: record per-epoch class/stimulus means and gradient shares in every aux-loss run (for
    #: `vaxis saturation`); training procedures do not record them
    epoch_probe: bool = False
    #: NaN/Inf in the cohort: raise, drop the samples or interpolate (a repaired copy in ``out``)
    nan_policy: NanPolicy = "raise"

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds) or len(seeds) < 2:
            raise ValueError(
                f"{list(seeds)} is not allowed (allowed: at least two distinct seeds; the "
                "study's test pairs seeds)"
            )
        return seeds

    @field_validator("decoder")
    @classmethod
    def _torch_decoder(cls, name: str) -> str:
        if name not in DECODERS:  # scikit-learn baselines take no auxiliary loss
            allowed = ", ".join(DECODERS)
            raise ValueError(f"{name!r} is not a torch decoder (allowed: {allowed})")
        return name

    @field_validator("hyper")
    @classmethod
    def _hyper_of_decoder(cls, hyper: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "decoder" in info.data and (problem := hyper_problem(info.data["decoder"], hyper)):
            raise ValueError(problem)
        return hyper

    @field_validator("protocol")
    @classmethod
    def _split(cls, name: str) -> str:
        if name not in SPLITTERS:
            raise ValueError(f"unknown protocol {name!r} (allowed: {', '.join(SPLITTERS)})")
        return name

    @field_validator("interventions")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for arm in names:
            name, control = parse_arm(arm)
            known = registered_weights()
            if name not in known:
                raise ValueError(f"unknown intervention {name!r} (allowed: {', '.join(known)})")
            if control is not None and control not in CONTROLS:
                allowed = ", ".join(CONTROLS)
                raise ValueError(f"unknown control {control!r} in {arm!r} (allowed: {allowed})")
        return names

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        known = registered_weights()
        for name, weight in weights.items():
            if name not in known:
                raise ValueError(
                    f"weight for unknown intervention {name!r} (allowed: {', '.join(known)})"
                )
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"{name}={weight:g} is not allowed (allowed: a finite weight > 0)")
        return weights

    @model_validator(mode="after")
    def _weighted_arms_run(self) -> AlignConfig:
        run = {parse_arm(arm)[0] for arm in self.arms()}
        unused = sorted(set(self.weights) - run)
        if unused:
            raise ValueError(f"weights given for interventions that are not run: {unused}")
        return self

    @model_validator(mode="after")
    def _source_for_cross_dataset(self) -> AlignConfig:
        asked = {parse_arm(arm)[0] for arm in self.interventions}
        if self.source_cohort is None and CROSS_DATASET in asked:
            raise ValueError(
                f"{CROSS_DATASET!r} pretrains on another dataset: give source_cohort "
                "(`--source-cohort`, a SEED-V cohort for FACED and vice versa)"
            )
        return self

    def weight(self, arm: str) -> float | None:
        """The loss weight of ``arm``: its override or the intervention's registered default
        (a control has its intervention's); None for the baseline."""
        name, _ = parse_arm(arm)
        if name is None:
            return None
        return self.weights.get(name, registered_weights()[name])

    def arms(self) -> list[str]:
        """The baseline, then each intervention followed by its controls (no repeats). By
        default every registered one (cross-dataset only with a ``source_cohort``)."""
        names = self.interventions or tuple(
            n for n in registered_weights() if n != CROSS_DATASET or self.source_cohort
        )
        arms = [BASELINE]
        for name in names:
            arms.append(name)
            arms += [f"{name}/{c}" for c in self.controls if parse_arm(name)[1] is None]
        return list(dict.fromkeys(arms))


@dataclass(frozen=True)
class AlignReport:
    """What one `vaxis align` run found, and where it wrote it."""

    by_subject: ComparisonTable
    by_seed: ComparisonTable
    #: arm -> the weight of its extra loss (None: the baseline has none)
    weights: dict[str, float | None]
    test_subjects: tuple[int, ...]
    seeds: tuple[int, ...]
    protocol: str
    positions_source: str
    synthetic: bool
    sweep: SweepSummary
    files: tuple[Path, ...]
    #: (arm, seed) -> the sweep job key of its run: exactly the runs this report compares
    #: (the store may keep runs of earlier settings; readers such as saturation use this list)
    runs: dict[tuple[str, int], str]

    def to_dict(self) -> dict[str, object]:
        return {
            "synthetic": self.synthetic,
            "protocol": self.protocol,
            "positions_source": self.positions_source,
            "n_test_subjects": len(self.test_subjects),
            "test_subjects": list(self.test_subjects),
            "n_seeds": len(self.seeds),
            "seeds": list(self.seeds),
            "weights": self.weights,
            "by_subject": {"label": SUBJECT_TEST, **self.by_subject.to_dict()},
            "by_seed": {"label": STUDY_TEST, **self.by_seed.to_dict()},
            "runs": [{"arm": a, "seed": s, "key": k} for (a, s), k in self.runs.items()],
        }


def run_align(config: AlignConfig, progress: bool = False) -> AlignReport:
    """Train every (arm, seed) job not yet in ``config.out/sweep``, compare, write the report."""
    from vaxis.axis.positions import resolve_positions

    executor = make_executor(
        config.executor, config.workers, config.ray_address, **config.executor_options()
    )
    given = config.cohort  # a synthetic cohort's truth lies beside the file the user named
    config, cohort = _with_cohort_files(config)
    positions = resolve_positions(config.positions, given, cohort.meta.dataset)
    _check_split(cohort, config)
    arms = config.arms()
    jobs = plan_jobs(config, cohort.meta.dataset, positions)
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
        files=(config.out / REPORT_NAME, *files),
        runs={pair: job.key() for pair, job in jobs.items()},
    )
    (config.out / REPORT_NAME).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return report


def _with_cohort_files(config: AlignConfig) -> tuple[AlignConfig, Cohort]:
    """The config with its cohorts as checked files (NaN policy applied once; an official
    folder read once into ``out/data``), and the cohort: the jobs, in other processes, load
    the cohorts by path."""
    folder = config.out / "data"
    cohort_file, cohort = as_cohort_file(config.cohort, folder, config.nan_policy)
    source = config.source_cohort
    if source is not None:
        source = as_cohort_file(source, folder, config.nan_policy)[0]
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
    dataset = load_meta(config.source_cohort).dataset
    positions = resolve_positions(config.positions, config.source_cohort, dataset)
    return {
        "source_cohort": str(config.source_cohort.resolve()),
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
