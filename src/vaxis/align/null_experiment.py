"""Calibration of `vaxis align`'s tests through real training, on synthetic cohorts.

Each replication synthesises a new FACED-like cohort (``synthesize_features``; synthetic),
trains the baseline recipe with ``n_seeds`` seeds and the "intervention" with ``n_seeds``
other seeds (:func:`~vaxis.decoders.train.fit`, scored by
:func:`~vaxis.decoders.train.evaluate`), and compares them with
:func:`~vaxis.core.effects.compare_to_baseline` as `vaxis align` does: per test subject
(mean over seeds, with the seeds x subjects matrices for the crossed t) and per seed (the
study's test). With ``intervention={}`` the intervention *is* the baseline recipe, so the null
is exactly true and every rejection is a false positive; overrides of the training config
(e.g. ``{"epochs": 10}``) plant a real difference and measure power.

Model-level luck (initialisation, batch order) is shared by all subjects of one trained model,
which is what the subject-paired tests ignore; runs with other seeds (not the baseline's) make
the two arms independent, the hardest case for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats as sps

from vaxis.core.effects import ComparisonTable, compare_to_baseline
from vaxis.data.normalize import subject_zscore
from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.train import TrainConfig, evaluate, fit
from vaxis.decoders.units import Units, make_units


class NullExperimentConfig(BaseModel):
    """One calibration experiment (defaults: tiny, undertrained, binary: fast on one core)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replications: int = Field(default=100, ge=1)
    n_subjects: int = Field(default=16, ge=4)
    n_windows: int = Field(default=4, ge=2)
    #: share of subjects tested (the rest train; no validation set: the last epoch is kept)
    test_fraction: float = Field(default=0.75, gt=0, lt=1)
    task: Literal["faced9", "binary"] = "binary"
    n_seeds: int = Field(default=5, ge=2)
    #: the baseline recipe (TrainConfig fields except seed)
    train: dict[str, Any] = Field(
        default_factory=lambda: {
            "decoder": "linear",
            "epochs": 3,
            "batch_size": 64,
            "warmup_epochs": 0,
            "device": "cpu",
            "num_threads": 1,
        }
    )
    #: TrainConfig overrides of the intervention arm; {}: the baseline recipe (a true null)
    intervention: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    n_permutations: int = Field(default=999, ge=1)


@dataclass(frozen=True)
class NullExperimentResult:
    """p-values of every test of both tables, one per replication ("unit/test" keys), and each
    replication's mean difference (intervention - baseline, per-subject balanced accuracy)."""

    config: NullExperimentConfig
    p_values: dict[str, np.ndarray]
    effects: np.ndarray

    def rejections(self, alpha: float = 0.05) -> dict[str, int]:
        """How many replications each test rejected at ``alpha`` (unadjusted: one arm)."""
        return {name: int(np.count_nonzero(p <= alpha)) for name, p in self.p_values.items()}

    def rates(self, alpha: float = 0.05, confidence: float = 0.95) -> dict[str, dict[str, float]]:
        """Rejection rate of each test with its Clopper-Pearson interval, and n."""
        out = {}
        for name, k in self.rejections(alpha).items():
            ci = sps.binomtest(k, self.config.replications).proportion_ci(confidence)
            out[name] = {
                "rate": k / self.config.replications,
                "ci_low": float(ci.low),
                "ci_high": float(ci.high),
                "n": self.config.replications,
            }
        return out


def run_null_experiment(config: NullExperimentConfig) -> NullExperimentResult:
    """Train, score and compare ``config.replications`` times (see the module docstring)."""
    p_values: dict[str, list[float]] = {}
    effects = []
    for rep in range(config.replications):
        cohort_seed = config.seed * 1_000_003 + rep
        train_units, test_units = _units(config, cohort_seed)
        seeds = cohort_seed * 2 * config.n_seeds + np.arange(2 * config.n_seeds)
        arms = {
            "baseline": _scores(config.train, seeds[: config.n_seeds], train_units, test_units),
            "intervention": _scores(
                {**config.train, **config.intervention},
                seeds[config.n_seeds :],
                train_units,
                test_units,
            ),
        }
        effects.append(float(np.mean(arms["intervention"].per_run - arms["baseline"].per_run)))
        for unit, table in _tables(arms, config.n_permutations, rep).items():
            for test, result in table.rows[0].tests.items():
                p_values.setdefault(f"{unit}/{test}", []).append(result.p_value)
    p = {k: np.asarray(v) for k, v in p_values.items()}
    return NullExperimentResult(config, p, np.asarray(effects))


def _units(config: NullExperimentConfig, seed: int) -> tuple[Units, Units]:
    """Training and test windows of a fresh synthetic cohort, each subject z-scored."""
    cohort, _ = synthesize_features(
        SynthConfig(n_subjects=config.n_subjects, n_windows=config.n_windows, seed=seed)
    )
    cohort = subject_zscore(cohort)
    split = subject_holdout(cohort, val_fraction=0.0, test_fraction=config.test_fraction)[0]
    train, _, test = split.cohorts(cohort)
    return make_units(train, config.task, "window"), make_units(test, config.task, "window")


@dataclass(frozen=True)
class _ArmScores:
    per_run: np.ndarray  # (n_seeds, n_test_subjects) per-subject balanced accuracy
    per_seed: np.ndarray  # (n_seeds,) balanced accuracy over all test samples


def _scores(recipe: dict[str, Any], seeds: np.ndarray, train: Units, test: Units) -> _ArmScores:
    rows, overall = [], []
    for seed in seeds:
        model = fit(TrainConfig(**recipe, seed=int(seed)), train).model
        metrics, _ = evaluate(model, test)
        by_subject = metrics.per_subject_balanced_accuracy
        rows.append([by_subject[int(s)] for s in test.subjects])
        overall.append(metrics.balanced_accuracy)
    return _ArmScores(np.asarray(rows), np.asarray(overall))


def _tables(
    arms: dict[str, _ArmScores], n_permutations: int, seed: int
) -> dict[str, ComparisonTable]:
    """The two comparisons `vaxis align` makes: per test subject and per seed (no intervals
    needed here: the bootstrap is cut to 10 resamples)."""
    base, arm = arms["baseline"], arms["intervention"]
    compare = partial(compare_to_baseline, n_permutations=n_permutations, n_boot=10, seed=seed)
    return {
        "subject": compare(
            {"intervention": arm.per_run.mean(axis=0)},
            base.per_run.mean(axis=0),
            unit="subject",
            per_run={"intervention": arm.per_run},
            baseline_runs=base.per_run,
        ),
        "seed": compare({"intervention": arm.per_seed}, base.per_seed, unit="seed"),
    }
