"""`vaxis align` as a library call: train the baseline and every intervention, compare each.

Every arm (the baseline, each intervention, each requested control of an intervention) is
trained on the same split with the same seeds, as one sweep job per (arm, seed) kept in a
:class:`~vaxis.sweep.ResultStore` under ``out/sweep`` (a re-run skips finished jobs). Each
intervention is then compared with the baseline twice:

* per test subject (the test with real power): each subject's balanced accuracy averaged over
  seeds, paired over subjects (sign-flip permutation first, Wilcoxon, paired t);
* the study's test, for comparability: test balanced accuracy per seed, paired t over seeds.

Both tables carry bootstrap or t intervals, Cohen's d_z and Holm and Benjamini-Hochberg
p-values across all arms, and the counts better / no difference / worse beside the study's
published 0 / 9 / 16. Output: ``align.json`` and one forest plot per table (PNG and SVG).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vaxis.align.effects import ComparisonTable, compare_to_baseline
from vaxis.align.forest import plot_forest
from vaxis.align.interventions import CONTROLS, INTERVENTIONS
from vaxis.align.jobs import BASELINE, parse_arm
from vaxis.data.cohort import Cohort
from vaxis.data.splits import SPLITTERS
from vaxis.decoders import DECODERS
from vaxis.sweep import LocalExecutor, ResultStore, SerialExecutor, make_job, run_sweep
from vaxis.sweep.runner import SweepSummary

REPORT_NAME = "align.json"
STUDY_TEST = "the study's test (paired t over seeds), for comparability"
SUBJECT_TEST = "paired over test subjects (per-subject balanced accuracy, mean over seeds)"


class AlignConfig(BaseModel):
    """Everything `vaxis align` needs; defaults follow the study (FACED-9, 5 seeds, 100 epochs)."""

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
    protocol: str = "holdout"
    fold: int = Field(default=0, ge=0)
    task: Literal["auto", "faced9", "binary", "seedv5"] = "auto"
    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Literal["holm", "bh"] = "holm"
    executor: Literal["serial", "local"] = "local"
    workers: int | None = Field(default=None, ge=1)
    device: str = "auto"
    #: torch threads per run (None: torch's default; the local executor's workers use one)
    threads: int | None = Field(default=None, ge=1)
    out: Path = Path("runs/align")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds) or len(seeds) < 2:
            raise ValueError("give at least two distinct seeds (the study's test pairs seeds)")
        return seeds

    @field_validator("decoder")
    @classmethod
    def _torch_decoder(cls, name: str) -> str:
        if name not in DECODERS:  # scikit-learn baselines take no auxiliary loss
            raise ValueError(f"decoder {name!r} is not a torch decoder; choose {list(DECODERS)}")
        return name

    @field_validator("protocol")
    @classmethod
    def _split(cls, name: str) -> str:
        if name not in SPLITTERS:
            raise ValueError(f"unknown protocol {name!r}; choose from {list(SPLITTERS)}")
        return name

    @field_validator("interventions")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for arm in names:
            name, control = parse_arm(arm)
            if name not in INTERVENTIONS:
                raise ValueError(
                    f"unknown intervention {name!r}; choose from {list(INTERVENTIONS)}"
                )
            if control is not None and control not in CONTROLS:
                raise ValueError(f"unknown control {control!r} in {arm!r}; choose {CONTROLS}")
        return names

    def arms(self) -> list[str]:
        """The baseline, then each intervention followed by its controls (no repeats)."""
        names = self.interventions or tuple(INTERVENTIONS)
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
    test_subjects: tuple[int, ...]
    seeds: tuple[int, ...]
    protocol: str
    positions_source: str
    synthetic: bool
    sweep: SweepSummary
    files: tuple[Path, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "synthetic": self.synthetic,
            "protocol": self.protocol,
            "positions_source": self.positions_source,
            "n_test_subjects": len(self.test_subjects),
            "test_subjects": list(self.test_subjects),
            "n_seeds": len(self.seeds),
            "seeds": list(self.seeds),
            "by_subject": {"label": SUBJECT_TEST, **self.by_subject.to_dict()},
            "by_seed": {"label": STUDY_TEST, **self.by_seed.to_dict()},
        }


def run_align(config: AlignConfig, progress: bool = False) -> AlignReport:
    """Train every (arm, seed) job not yet in ``config.out/sweep``, compare, write the report."""
    from vaxis.brain.positions import resolve_positions

    cohort = Cohort.load(config.cohort)
    positions = resolve_positions(config.positions, config.cohort, cohort.meta.dataset)
    _check_split(cohort, config)
    task = config.task
    if task == "auto":
        task = "seedv5" if cohort.meta.dataset == "seedv" else "faced9"
    base = {
        "cohort": str(config.cohort.resolve()),
        "split": config.protocol,
        "fold": config.fold,
        "inputs": {"task": task},
        "positions": positions.model_dump(mode="json"),
    }
    train = {"decoder": config.decoder, "hyper": config.hyper, "epochs": config.epochs,
             "batch_size": config.batch_size, "lr": config.lr, "device": config.device,
             "num_threads": config.threads}  # fmt: skip
    arms = config.arms()
    jobs = {
        (arm, seed): make_job("align", {**base, "arm": arm, "train": {**train, "seed": seed}})
        for arm in arms
        for seed in config.seeds
    }
    store = ResultStore(config.out / "sweep")
    executor = SerialExecutor() if config.executor == "serial" else LocalExecutor(config.workers)
    summary = run_sweep(list(jobs.values()), store, executor, progress=progress)
    if not summary.complete:
        first = next(iter(summary.failed.values()), "a worker died or the sweep was interrupted")
        raise RuntimeError(
            f"{summary.total - summary.already_done - summary.succeeded} of {summary.total} "
            f"jobs did not finish (re-run to retry); first failure:\n{first}"
        )
    results = {pair: _result(store, job.key()) for pair, job in jobs.items()}
    subjects = tuple(sorted(int(s) for s in results[BASELINE, config.seeds[0]]["subjects"]["test"]))
    per_subject, per_seed = _per_subject(results, subjects), _per_seed(results)
    options: dict[str, Any] = {"alpha": config.alpha, "correction": config.correction}
    others = arms[1:]
    by_subject = compare_to_baseline(
        {a: per_subject[a] for a in others}, per_subject[BASELINE], unit="subject", **options
    )
    by_seed = compare_to_baseline(
        {a: per_seed[a] for a in others}, per_seed[BASELINE], unit="seed", **options
    )
    files = _write(config.out, by_subject, by_seed)
    report = AlignReport(
        by_subject=by_subject,
        by_seed=by_seed,
        test_subjects=subjects,
        seeds=config.seeds,
        protocol=results[BASELINE, config.seeds[0]]["protocol"],
        positions_source=positions.source,
        synthetic=bool(cohort.meta.synthetic),
        sweep=summary,
        files=(config.out / REPORT_NAME, *files),
    )
    (config.out / REPORT_NAME).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return report


def _check_split(cohort: Cohort, config: AlignConfig) -> None:
    """Fail before training when the fold does not exist or tests fewer than two subjects."""
    splits = SPLITTERS[config.protocol](cohort)
    if config.fold >= len(splits):
        raise ValueError(f"protocol {config.protocol!r} has {len(splits)} folds, not {config.fold}")
    n_test = np.unique(cohort.subject[splits[config.fold].test]).size
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


def _per_subject(
    results: dict[tuple[str, int], dict[str, Any]], subjects: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Arm -> each test subject's balanced accuracy averaged over seeds (subjects in order)."""
    rows: dict[str, list[list[float]]] = {}
    for (arm, _), result in results.items():
        by_subject = result["test"]["per_subject_balanced_accuracy"]
        if sorted(int(s) for s in by_subject) != list(subjects):
            raise RuntimeError(f"arm {arm!r} was tested on other subjects than the baseline")
        rows.setdefault(arm, []).append([by_subject[str(s)] for s in subjects])
    return {arm: np.mean(values, axis=0) for arm, values in rows.items()}


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
