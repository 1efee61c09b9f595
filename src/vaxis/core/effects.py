"""Effect sizes, bootstrap intervals, and the table comparing every intervention with the baseline.

:func:`compare_to_baseline` runs the tests that suit the pairing unit on each intervention
(first = primary, used for the verdict):

- ``subject`` (per-test-subject metric, e.g. balanced accuracy): sign-flip permutation,
  Wilcoxon signed-rank, paired t; given each arm's (seeds x subjects) matrix (``per_run`` and
  ``baseline_runs``) also the crossed t (:func:`~vaxis.core.stats.crossed_t`), which counts
  run-level variance and is then the primary test: the three above treat the trained models as
  fixed and reject too often when retraining is part of the question;
- ``seed``: the study's paired t over seeds, Wilcoxon, sign-flip (both floored at 0.0625 with
  5 seeds, reported to show it);
- ``fold`` (cross-validation folds): Nadeau-Bengio corrected t, and the plain paired t over
  folds for reference (anti-conservative: folds share training data).

Each test's p-values are adjusted across all interventions by Holm and by Benjamini-Hochberg;
the verdict is "better" / "worse" where the primary test's p adjusted by ``correction`` is
<= ``alpha`` (direction from the mean difference), else "no difference". The interval is the
primary test's own when it has one (t and corrected t), else the bootstrap interval of the mean.
The study's published counts (0 better / 9 no difference / 16 worse of 25, paired t over 5
seeds) are carried beside ours, labelled "published, not run here".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

from vaxis.core.stats import (
    TestResult,
    benjamini_hochberg,
    check_differences,
    crossed_t,
    holm,
    nadeau_bengio,
    paired_t,
    sign_flip_permutation,
    wilcoxon_signed_rank,
)

Unit = Literal["subject", "seed", "fold"]
Verdict = Literal["better", "no difference", "worse"]
VERDICTS: tuple[Verdict, ...] = ("better", "no difference", "worse")
TESTS_BY_UNIT: dict[str, tuple[str, ...]] = {  # first entry: the default primary test
    "subject": ("sign_flip", "wilcoxon", "paired_t"),
    "seed": ("paired_t", "wilcoxon", "sign_flip"),
    "fold": ("nadeau_bengio", "paired_t"),
}
CORRECTIONS: dict[str, Callable[[ArrayLike], np.ndarray]] = {
    "holm": holm,
    "bh": benjamini_hochberg,
}
PUBLISHED: dict[str, object] = {
    "better": 0,
    "no difference": 9,
    "worse": 16,
    "n_interventions": 25,
    "protocol": "paired t over 5 seeds (the study's test)",
    "status": "published, not run here",
}


def cohens_dz(diffs: ArrayLike) -> float:
    """Cohen's d_z for paired data: mean(d) / sd(d) (ddof 1); NaN when sd is 0."""
    d = check_differences(diffs)
    sd = float(d.std(ddof=1))
    return float(d.mean()) / sd if sd > 0 else math.nan


def bootstrap_ci(
    diffs: ArrayLike,
    n_boot: int = 10_000,
    seed: int | np.random.Generator | None = 0,
    method: Literal["percentile", "bca"] = "percentile",
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Bootstrap interval of the mean paired difference (units resampled with replacement).

    ``bca``: bias-corrected and accelerated (Efron 1987), bias from the share of resampled
    means below the observed one (ties count half, clipped away from 0 and 1), acceleration
    from the jackknife. Same resamples as ``scipy.stats.bootstrap`` given the same seed.
    Constant differences give the point interval.
    """
    d = check_differences(diffs)
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    mean = float(d.mean())
    if np.ptp(d) == 0:
        return mean, mean
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    levels = np.array([tail, 1 - tail])
    if method == "bca":
        below = (np.count_nonzero(means < mean) + 0.5 * np.count_nonzero(means == mean)) / n_boot
        z0 = sps.norm.ppf(np.clip(below, 0.5 / n_boot, 1 - 0.5 / n_boot))
        jack = (d.sum() - d) / (d.size - 1)
        u = jack.mean() - jack
        accel = (u**3).sum() / (6 * ((u**2).sum()) ** 1.5)
        z = sps.norm.ppf(levels)
        levels = sps.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    low, high = np.quantile(means, levels)
    return float(low), float(high)


@dataclass(frozen=True)
class ComparisonRow:
    """One intervention against the baseline; p-values keyed by test name."""

    name: str
    n: int
    mean_delta: float
    d_z: float
    ci_low: float
    ci_high: float
    tests: dict[str, TestResult]
    p_holm: dict[str, float]
    p_bh: dict[str, float]
    verdict: Verdict

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "n": self.n,
            "mean_delta": self.mean_delta,
            "d_z": None if math.isnan(self.d_z) else self.d_z,  # JSON has no NaN
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "verdict": self.verdict,
            "p": {k: t.p_value for k, t in self.tests.items()},
            "p_holm": self.p_holm,
            "p_bh": self.p_bh,
            "tests": {k: t.to_dict() for k, t in self.tests.items()},
        }


@dataclass(frozen=True)
class ComparisonTable:
    """Rows in input order, with how they were decided."""

    rows: tuple[ComparisonRow, ...]
    unit: Unit
    primary: str
    correction: str
    alpha: float
    interval: str  # how ci_low / ci_high were obtained

    @property
    def protocol(self) -> str:
        """The primary test's pairing protocol, e.g. 'sign-flip permutation over 23 subjects'."""
        return self.rows[0].tests[self.primary].protocol

    def counts(self) -> tuple[int, int, int]:
        """(better, no difference, worse)."""
        verdicts = [row.verdict for row in self.rows]
        better, same, worse = (verdicts.count(v) for v in VERDICTS)
        return better, same, worse

    def counts_line(self) -> str:
        """Our counts beside the study's published ones."""
        ours = " / ".join(str(c) for c in self.counts())
        study = " / ".join(str(PUBLISHED[v]) for v in VERDICTS)
        return (
            f"better / no difference / worse: {ours} of {len(self.rows)} "
            f"({self.primary}, {self.correction}, alpha {self.alpha:g}); study: {study} of "
            f"{PUBLISHED['n_interventions']} ({PUBLISHED['protocol']}; {PUBLISHED['status']})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "primary": self.primary,
            "protocol": self.protocol,
            "correction": self.correction,
            "alpha": self.alpha,
            "interval": self.interval,
            "counts": dict(zip(VERDICTS, self.counts(), strict=True)),
            "published": dict(PUBLISHED),
            "rows": [row.to_dict() for row in self.rows],
        }


def _verdict(adjusted_p: float, mean: float, alpha: float) -> Verdict:
    if adjusted_p > alpha or mean == 0:
        return "no difference"
    return "better" if mean > 0 else "worse"


def compare_to_baseline(
    per_unit: Mapping[str, ArrayLike],
    baseline: ArrayLike,
    *,
    unit: Unit = "subject",
    alpha: float = 0.05,
    correction: Literal["holm", "bh"] = "holm",
    primary: str | None = None,
    n_train: float | None = None,
    n_test: float | None = None,
    n_permutations: int = 10_000,
    n_boot: int = 10_000,
    ci_method: Literal["percentile", "bca"] = "bca",
    seed: int = 0,
    per_run: Mapping[str, ArrayLike] | None = None,
    baseline_runs: ArrayLike | None = None,
) -> ComparisonTable:
    """Compare each intervention's per-unit metric with the baseline's (same units, same order).

    ``unit="fold"`` needs ``n_train`` and ``n_test`` (one fold's sizes) for Nadeau-Bengio.
    ``primary`` (default: the unit's first test, see the module doc) decides the verdict.
    ``per_run`` (every intervention) and ``baseline_runs``: (n_seeds, n_subjects) matrices,
    rows seed-paired across arms, columns the subjects of ``baseline``; only with
    ``unit="subject"``, where each per-subject value must be its matrix's mean over seeds.
    They add the ``crossed_t`` test, then the default primary.
    """
    if unit not in TESTS_BY_UNIT:
        raise ValueError(f"unit must be one of {sorted(TESTS_BY_UNIT)}, got {unit!r}")
    matrices = _run_matrices(per_run, baseline_runs, per_unit, baseline, unit)
    names = TESTS_BY_UNIT[unit] + (() if matrices is None else ("crossed_t",))
    primary = primary or (names[0] if matrices is None else "crossed_t")
    if primary not in names:
        raise ValueError(f"primary test for unit {unit!r} must be one of {names}, got {primary!r}")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {sorted(CORRECTIONS)}, got {correction!r}")
    if not per_unit:
        raise ValueError("no interventions to compare")
    if unit == "fold" and (n_train is None or n_test is None):
        raise ValueError("unit='fold' needs n_train and n_test for the Nadeau-Bengio correction")
    b = np.asarray(baseline, dtype=float)
    run = _runners(unit, n_train, n_test, n_permutations, seed)
    arms = {name: np.asarray(a, dtype=float) for name, a in per_unit.items()}
    for name, a in arms.items():
        if a.shape != b.shape:
            raise ValueError(
                f"intervention {name!r} has shape {a.shape}, the baseline {b.shape}: "
                f"give one value per {unit}, in the same order for every arm"
            )
    results = [{test: run[test](a, b) for test in TESTS_BY_UNIT[unit]} for a in arms.values()]
    if matrices is not None:
        runs, base_runs = matrices
        for name, result in zip(arms, results, strict=True):
            result["crossed_t"] = crossed_t(runs[name], base_runs)
    adjusted = {
        method: {test: fn([r[test].p_value for r in results]) for test in names}
        for method, fn in CORRECTIONS.items()
    }
    own_interval = math.isfinite(results[0][primary].ci_low)
    rows = []
    for i, (name, a) in enumerate(arms.items()):
        first, d = results[i][primary], a - b
        low, high = (
            (first.ci_low, first.ci_high)
            if own_interval
            else bootstrap_ci(d, n_boot, seed, ci_method)
        )
        verdict = _verdict(float(adjusted[correction][primary][i]), first.effect, alpha)
        rows.append(
            ComparisonRow(
                name=name,
                n=first.n,
                mean_delta=first.effect,
                d_z=cohens_dz(d),
                ci_low=low,
                ci_high=high,
                tests=results[i],
                p_holm={t: float(adjusted["holm"][t][i]) for t in names},
                p_bh={t: float(adjusted["bh"][t][i]) for t in names},
                verdict=verdict,
            )
        )
    interval = (
        f"95% interval of the {primary} test"
        if own_interval
        else f"95% {ci_method} bootstrap interval of the mean ({n_boot} resamples)"
    )
    return ComparisonTable(tuple(rows), unit, primary, correction, alpha, interval)


def _run_matrices(
    per_run: Mapping[str, ArrayLike] | None,
    baseline_runs: ArrayLike | None,
    per_unit: Mapping[str, ArrayLike],
    baseline: ArrayLike,
    unit: Unit,
) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
    """(intervention -> (seeds x subjects) matrix, the baseline's); None when none were given."""
    if per_run is None and baseline_runs is None:
        return None
    if per_run is None or baseline_runs is None or unit != "subject":
        raise ValueError("per_run and baseline_runs go together, and only with unit='subject'")
    if set(per_run) != set(per_unit):
        raise ValueError(
            f"per_run has arms {sorted(per_run)}, per_unit {sorted(per_unit)}: give both for each"
        )
    runs = {name: np.asarray(m, dtype=float) for name, m in per_run.items()}
    base = np.asarray(baseline_runs, dtype=float)
    checks = [(f"intervention {n!r}", runs[n], per_unit[n]) for n in runs]
    for label, matrix, values in [("the baseline", base, baseline), *checks]:
        means = np.asarray(values, dtype=float)
        if matrix.ndim != 2 or matrix.shape != base.shape or matrix.shape[1:] != means.shape:
            raise ValueError(
                f"runs of {label} have shape {matrix.shape}: give one (n_seeds, n_subjects) "
                f"matrix per arm, n_subjects = {means.size}, the same seeds in every arm"
            )
        if not np.allclose(matrix.mean(axis=0), means, rtol=0, atol=1e-9):
            raise ValueError(
                f"per-subject values of {label} are not the mean over seeds of its runs: "
                "pass the same results to both"
            )
    return runs, base


def _runners(
    unit: Unit, n_train: float | None, n_test: float | None, n_permutations: int, seed: int
) -> dict[str, Callable[[np.ndarray, np.ndarray], TestResult]]:
    """Each test as f(intervention, baseline) with this comparison's settings bound."""

    def plain_t(a: np.ndarray, b: np.ndarray) -> TestResult:
        result = paired_t(a, b, unit=unit)
        if unit != "fold":
            return result
        return replace(result, note="ignores training data shared by folds: anti-conservative")

    return {
        "paired_t": plain_t,
        "wilcoxon": partial(wilcoxon_signed_rank, unit=unit),
        "sign_flip": partial(
            sign_flip_permutation, n_permutations=n_permutations, seed=seed, unit=unit
        ),
        "nadeau_bengio": lambda a, b: nadeau_bengio(a - b, n_train or 0, n_test or 0),
    }
