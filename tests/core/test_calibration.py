"""Calibration and power of the paired tests on simulated (synthetic) experiments.

Null experiments: no intervention can help or hurt, so every rejection is a false positive.
A test is calibrated when its false-positive count over R repetitions stays within the 99%
binomial range of Binomial(R, alpha). Lower bounds are asserted too, so a test that never
rejects (e.g. returns p = 1) cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from vaxis.core.effects import bootstrap_ci, compare_to_baseline
from vaxis.core.stats import (
    crossed_t,
    nadeau_bengio,
    paired_t,
    sign_flip_permutation,
    wilcoxon_signed_rank,
)

ALPHA = 0.05
REPS = 500
N_SUBJECTS = 23  # the study's FACED test split
SAMPLES_PER_SUBJECT = 84  # 28 clips x 3 segments


def _binomial_range(reps: int, rate: float = ALPHA) -> tuple[int, int]:
    return int(sps.binom.ppf(0.005, reps, rate)), int(sps.binom.ppf(0.995, reps, rate))


def _null_subjects(rng: np.random.Generator, n_arms: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject accuracy of the baseline and of ``n_arms`` equivalent interventions.

    Subjects differ in difficulty (true accuracy 0.35-0.85); each model's score on a subject
    is binomial over its 84 samples, so values sit on a 1/84 grid with ties and zeros.
    """
    skill = rng.uniform(0.35, 0.85, N_SUBJECTS)
    scores = rng.binomial(SAMPLES_PER_SUBJECT, skill, size=(n_arms + 1, N_SUBJECTS))
    scores = scores / SAMPLES_PER_SUBJECT
    return scores[0], scores[1:]


def test_false_positive_rate_of_each_subject_test_is_alpha():
    rng = np.random.default_rng(0)
    tests = {
        "paired_t": lambda a, b: paired_t(a, b, unit="subject"),
        "wilcoxon": wilcoxon_signed_rank,
        "sign_flip": lambda a, b: sign_flip_permutation(a, b, n_permutations=2000, seed=rng),
    }
    rejections = dict.fromkeys(tests, 0)
    for _ in range(REPS):
        base, (arm,) = _null_subjects(rng)
        for name, test in tests.items():
            rejections[name] += test(arm, base).p_value <= ALPHA
    low, high = _binomial_range(REPS)
    for name, count in rejections.items():
        assert low <= count <= high, (name, count, (low, high))


def _null_runs(rng: np.random.Generator, run_sd: float, n_seeds: int = 5) -> np.ndarray:
    """(2 arms, seeds, subjects) accuracies of retrained models: each run's true accuracy is
    the subject's plus a run-level shift N(0, run_sd^2) shared by all its subjects."""
    skill = rng.uniform(0.35, 0.85, N_SUBJECTS)
    luck = rng.normal(0, run_sd, size=(2, n_seeds, 1))
    p = np.clip(skill + luck, 0, 1)
    return rng.binomial(SAMPLES_PER_SUBJECT, p) / SAMPLES_PER_SUBJECT


@pytest.mark.parametrize("run_sd", [0.0, 0.02])
def test_crossed_t_calibrated_with_and_without_run_level_luck(run_sd):
    """Subject pairing is calibrated only when runs carry no shared luck (run_sd = 0).

    Without run-level luck the crossed t is conservative (~0.02 at alpha 0.05: it cannot know
    that the seed variance is 0 and pays with few degrees of freedom); with it, calibrated.
    """
    rng = np.random.default_rng(5)
    crossed = subject_t = 0
    for _ in range(REPS):
        a, b = _null_runs(rng, run_sd)
        crossed += crossed_t(a, b).p_value <= ALPHA
        subject_t += paired_t(a.mean(0), b.mean(0), unit="subject").p_value <= ALPHA
    low, high = _binomial_range(REPS)
    if run_sd == 0:
        assert REPS * ALPHA / 5 <= crossed <= high, crossed
        assert low <= subject_t <= high
    else:  # the variance of the mean triples: subject pairing rejects ~7x too often
        assert low <= crossed <= high, (crossed, (low, high))
        assert subject_t > 2 * high


def test_nadeau_bengio_calibrated_where_plain_t_over_folds_is_not():
    """10 folds whose differences share training data: exchangeable correlation
    rho = n_test / (n_train + n_test) = 0.1, the case the correction is derived for."""
    rng = np.random.default_rng(1)
    k, rho = 10, 0.1
    corrected = plain = 0
    for _ in range(REPS):
        d = np.sqrt(rho) * rng.normal() + np.sqrt(1 - rho) * rng.normal(size=k)
        corrected += nadeau_bengio(d, n_train=9, n_test=1).p_value <= ALPHA
        plain += paired_t(d, np.zeros(k), unit="fold").p_value <= ALPHA
    low, high = _binomial_range(REPS)
    assert low <= corrected <= high
    assert plain > high  # the uncorrected t over folds is anti-conservative (~0.15 here)


@pytest.mark.slow  # ~25 s
def test_holm_and_bh_keep_family_wise_error_over_25_null_interventions():
    """25 null interventions against one shared baseline, decided by compare_to_baseline."""
    rng = np.random.default_rng(2)
    reps, n_arms = 200, 25
    any_holm = any_bh = any_raw = 0
    for rep in range(reps):
        base, arms = _null_subjects(rng, n_arms)
        table = compare_to_baseline(
            {f"arm {i}": a for i, a in enumerate(arms)},
            base,
            n_permutations=999,
            n_boot=50,
            seed=rep,
        )
        any_holm += sum(table.counts()) - table.counts()[1] > 0
        any_bh += min(row.p_bh["sign_flip"] for row in table.rows) <= ALPHA
        any_raw += min(row.tests["sign_flip"].p_value for row in table.rows) <= ALPHA
    _, high = _binomial_range(reps)
    assert any_holm <= high
    assert any_bh <= high  # under the complete null, FDR = family-wise error
    # uncorrected, 25 looks find "something" far more often (less than 1 - 0.95^25 = 0.72,
    # because the 25 comparisons share the baseline's noise)
    assert any_raw > 3 * high


def test_subject_pairing_has_power_where_five_seed_t_has_little():
    """5 seeds x 23 subjects, true delta 0.02, per-subject sd 0.05 of each seed's delta.

    Same data both ways: the study's test pairs the 5 seed means; subject pairing averages
    each subject over the seeds. Threshold alpha / 25: Holm's first step over the study's
    25 interventions. No extra seed-level training noise, which favours the seed test; the
    crossed t (which cannot know that) lands between the two (~0.4 here).
    """
    rng = np.random.default_rng(3)
    reps, level = 300, ALPHA / 25
    hits = dict.fromkeys(
        ("subject sign_flip", "subject wilcoxon", "seed paired_t", "seed wilcoxon", "crossed t"), 0
    )
    zeros_subject, zeros_seed = np.zeros(N_SUBJECTS), np.zeros(5)
    for _ in range(reps):
        delta = 0.02 + rng.normal(0, 0.05, size=(5, N_SUBJECTS))
        per_subject, per_seed = delta.mean(axis=0), delta.mean(axis=1)
        hits["subject sign_flip"] += (
            sign_flip_permutation(per_subject, zeros_subject, seed=rng).p_value <= level
        )
        hits["subject wilcoxon"] += (
            wilcoxon_signed_rank(per_subject, zeros_subject).p_value <= level
        )
        hits["seed paired_t"] += paired_t(per_seed, zeros_seed).p_value <= level
        hits["seed wilcoxon"] += wilcoxon_signed_rank(per_seed, zeros_seed).p_value <= level
        hits["crossed t"] += crossed_t(delta, np.zeros_like(delta)).p_value <= level
    power = {name: count / reps for name, count in hits.items()}
    assert power["seed wilcoxon"] == 0  # p >= 0.0625 always
    assert power["subject sign_flip"] > 0.5
    assert power["subject wilcoxon"] > 0.5
    assert power["subject sign_flip"] > 2.5 * power["seed paired_t"]
    assert power["subject sign_flip"] > power["crossed t"] > 1.5 * power["seed paired_t"]


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_interval_coverage_is_roughly_nominal(method):
    rng = np.random.default_rng(4)
    reps, true_mean = 300, 0.02
    covered = 0
    for _ in range(reps):
        d = true_mean + rng.gamma(4.0, 0.0125, N_SUBJECTS) - 0.05  # skewed, mean 0.02
        low, high = bootstrap_ci(d, n_boot=2000, seed=rng, method=method)
        covered += low <= true_mean <= high
    # the bootstrap under-covers a little at n = 23; far off means a broken interval
    assert 0.89 <= covered / reps <= 0.99
