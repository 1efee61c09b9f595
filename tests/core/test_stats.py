"""Paired tests and corrections against scipy, brute-force enumeration and hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from vaxis.core.stats import (
    benjamini_hochberg,
    crossed_t,
    holm,
    nadeau_bengio,
    paired_t,
    sign_flip_permutation,
    wilcoxon_signed_rank,
)

RNG = np.random.default_rng(20240605)
A23, B23 = RNG.uniform(0.4, 0.8, 23), RNG.uniform(0.4, 0.8, 23)


def _brute_force_p(d: np.ndarray, statistic) -> float:
    """Two-sided p over every sign pattern, one pattern at a time (the definition)."""
    observed = abs(statistic(d))
    hits = [
        abs(statistic(np.array(signs) * d)) >= observed - 1e-12
        for signs in itertools.product((-1.0, 1.0), repeat=d.size)
    ]
    return float(np.mean(hits))


# paired t ---------------------------------------------------------------------------------


def test_paired_t_matches_scipy_ttest_rel_with_its_interval():
    result = paired_t(A23, B23, unit="subject")
    ref = sps.ttest_rel(A23, B23)
    ci = ref.confidence_interval(0.95)
    assert result.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert result.effect == pytest.approx(np.mean(A23 - B23))
    assert result.n == 23


def test_paired_t_over_seeds_is_labelled_the_studys_test():
    assert "the study's test" in paired_t(A23[:5], B23[:5]).protocol
    assert "paired t over 5 seeds" in paired_t(A23[:5], B23[:5]).protocol
    assert "study" not in paired_t(A23, B23, unit="subject").protocol


def test_paired_t_zero_variance():
    equal = paired_t(np.ones(5), np.ones(5))
    assert (equal.statistic, equal.p_value) == (0.0, 1.0)
    shifted = paired_t(np.ones(5) + 0.1, np.ones(5) - 0.1)  # d = 0.2 everywhere, up to rounding
    assert shifted.p_value < 1e-6


# Wilcoxon ---------------------------------------------------------------------------------


def test_wilcoxon_matches_scipy_exact_without_ties():
    result = wilcoxon_signed_rank(A23, B23)
    ref = sps.wilcoxon(A23, B23, method="exact")
    assert result.statistic == ref.statistic
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert "exact" in result.note


def test_wilcoxon_large_n_matches_scipy_normal_approximation():
    a, b = RNG.normal(size=80), RNG.normal(size=80)
    ref = sps.wilcoxon(a, b, method="asymptotic")
    assert wilcoxon_signed_rank(a, b).p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_wilcoxon_with_ties_and_zeros_23_subjects_matches_scipy_wilcox_rule():
    """Per-subject balanced accuracy on a grid of 1/84: float rounding must not break ties."""
    hits_a = RNG.integers(30, 70, 23)
    hits_b = hits_a + RNG.integers(-4, 5, 23)
    hits_b[:3] = hits_a[:3]
    hits_b[3:] += hits_b[3:] == hits_a[3:]  # exactly 3 zero differences
    result = wilcoxon_signed_rank(hits_a / 84, hits_b / 84)
    ref = sps.wilcoxon(hits_a, hits_b, zero_method="wilcox", method="asymptotic")
    assert result.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert result.statistic == ref.statistic
    assert result.note.startswith("3 zero differences dropped")


def test_wilcoxon_small_n_with_ties_is_exact_over_mid_ranks():
    d = np.array([0.02, 0.02, -0.01, 0.03, 0.03, 0.03, 0.05, -0.02])

    def signed_rank_sum(x):
        return float(np.sum(np.sign(x) * sps.rankdata(np.abs(x))))

    result = wilcoxon_signed_rank(d, np.zeros(8))
    assert result.p_value == pytest.approx(_brute_force_p(d, signed_rank_sum), abs=1e-12)
    assert "mid-ranks" in result.note


def test_min_wilcoxon_p_with_five_seeds_is_0_0625():
    """docs/REFERENCE.md sec. 5.2: with 5 seeds the exact two-sided Wilcoxon p is >= 0.0625."""
    d = np.array([0.031, 0.032, 0.033, 0.034, 0.035])
    ps = [
        wilcoxon_signed_rank(np.array(s) * d, np.zeros(5)).p_value
        for s in itertools.product((-1, 1), repeat=5)
    ]
    assert min(ps) == pytest.approx(0.0625)
    assert min(ps) == pytest.approx(2 / 2**5)
    # whereas the paired t on the same five seeds can go below it
    assert paired_t(d, np.zeros(5)).p_value < 0.01


def test_wilcoxon_all_zero_differences():
    result = wilcoxon_signed_rank(A23, A23)
    assert result.p_value == 1.0
    assert "all differences are zero" in result.note


# sign-flip permutation --------------------------------------------------------------------


def test_sign_flip_exact_matches_brute_force_loop_n8():
    d = np.array([0.04, -0.01, 0.03, 0.02, 0.05, -0.02, 0.01, 0.06])
    result = sign_flip_permutation(d, np.zeros(8), n_permutations=256)
    assert "exact" in result.note
    assert result.p_value == pytest.approx(_brute_force_p(d, np.mean), abs=1e-12)
    assert result.statistic == pytest.approx(d.mean())


def test_sign_flip_monte_carlo_agrees_with_exact_and_uses_plus_one_rule():
    d = RNG.normal(0.01, 0.03, 14)
    exact = sign_flip_permutation(d, np.zeros(14), n_permutations=2**14)
    mc = sign_flip_permutation(d, np.zeros(14), n_permutations=4000, seed=1)
    assert "Monte Carlo" in mc.note
    assert mc.p_value == pytest.approx(exact.p_value, abs=4 * math.sqrt(0.25 / 4000))
    # a huge effect: no random pattern reaches it, so p = 1 / (1 + N), never 0
    far = sign_flip_permutation(np.full(30, 1.0) + np.arange(30), np.zeros(30), n_permutations=999)
    assert far.p_value == pytest.approx(1 / 1000)


def test_sign_flip_is_reproducible_given_seed():
    first = sign_flip_permutation(A23, B23, seed=7).p_value
    assert sign_flip_permutation(A23, B23, seed=7).p_value == first


def test_sign_flip_floor_with_five_seeds():
    result = sign_flip_permutation(np.arange(1.0, 6.0), np.zeros(5))
    assert result.p_value == pytest.approx(0.0625)


# Nadeau-Bengio ----------------------------------------------------------------------------


def test_nadeau_bengio_by_hand():
    d = [0.01, 0.03, -0.02, 0.04, 0.02]
    # mean 0.016; s^2 = (36 + 196 + 1296 + 576 + 16)e-6 / 4 = 530e-6
    # corrected variance of the mean: 530e-6 * (1/5 + 20/80) = 238.5e-6
    se = math.sqrt(238.5e-6)
    result = nadeau_bengio(d, n_train=80, n_test=20)
    assert result.statistic == pytest.approx(0.016 / se, rel=1e-12)
    assert result.p_value == pytest.approx(2 * sps.t.sf(0.016 / se, 4), rel=1e-12)
    half = sps.t.ppf(0.975, 4) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((0.016 - half, 0.016 + half))


def test_nadeau_bengio_is_wider_than_plain_t_and_equals_it_without_test_share():
    d = RNG.normal(0.01, 0.02, 10)
    plain = paired_t(d, np.zeros(10), unit="fold")
    corrected = nadeau_bengio(d, n_train=9, n_test=1)
    assert corrected.statistic == pytest.approx(plain.statistic * math.sqrt(0.1 / (0.1 + 1 / 9)))
    assert corrected.p_value > plain.p_value
    tiny = nadeau_bengio(d, n_train=1e12, n_test=1)
    assert tiny.p_value == pytest.approx(plain.p_value, rel=1e-6)


def test_nadeau_bengio_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        nadeau_bengio([0.1, 0.2], n_train=0, n_test=1)


# corrections ------------------------------------------------------------------------------


def test_holm_hand_example():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> running max 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_benjamini_hochberg_hand_example_and_scipy():
    # sorted: 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    p = RNG.uniform(0, 0.2, 25) ** 2
    assert benjamini_hochberg(p) == pytest.approx(sps.false_discovery_control(p, method="bh"))


def test_holm_is_never_below_bh_nor_raw():
    p = RNG.uniform(0, 0.1, 25)
    assert np.all(holm(p) >= benjamini_hochberg(p) - 1e-15)
    assert np.all(benjamini_hochberg(p) >= p - 1e-15)


@pytest.mark.parametrize("bad", [[0.1, float("nan")], [1.2], [[0.1, 0.2]]])
def test_corrections_reject_bad_p(bad):
    with pytest.raises(ValueError, match="p-values"):
        holm(bad)


# input checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([0.5, 0.6, 0.7], [0.5, 0.6], "equal length"),
        ([0.5], [0.4], "at least 2"),
        ([0.5, float("nan")], [0.4, 0.3], "NaN"),
    ],
)
def test_paired_tests_reject_bad_input(a, b, match):
    for test in (paired_t, wilcoxon_signed_rank, sign_flip_permutation):
        with pytest.raises(ValueError, match=match):
            test(a, b)


# crossed t (seeds x subjects) -------------------------------------------------------------


def _anova_by_projection(d: np.ndarray) -> tuple[float, float, float]:
    """Mean squares of seeds, subjects and residual from projection matrices (a second route)."""
    n_seeds, n_subjects = d.shape
    mean_s, mean_j = (
        np.full((n_seeds,) * 2, 1 / n_seeds),
        np.full((n_subjects,) * 2, 1 / n_subjects),
    )
    centre_s, centre_j = np.eye(n_seeds) - mean_s, np.eye(n_subjects) - mean_j
    y = d.ravel()  # row-major: seed index slow, subject index fast
    quadratic = {
        "seed": np.kron(centre_s, mean_j),
        "subject": np.kron(mean_s, centre_j),
        "residual": np.kron(centre_s, centre_j),
    }
    dfs = {"seed": n_seeds - 1, "subject": n_subjects - 1}
    dfs["residual"] = dfs["seed"] * dfs["subject"]
    ss = {k: float(y @ q @ y) for k, q in quadratic.items()}
    return (
        ss["seed"] / dfs["seed"],
        ss["subject"] / dfs["subject"],
        ss["residual"] / dfs["residual"],
    )


def test_crossed_t_by_hand_with_every_variance_component():
    rng = np.random.default_rng(5)
    seeds, subjects = rng.normal(0, 0.03, (5, 1)), rng.normal(0, 0.04, (1, 12))
    d = 0.01 + seeds + subjects + rng.normal(0, 0.01, (5, 12))
    ms_s, ms_j, ms_e = _anova_by_projection(d)
    assert ms_s > ms_e and ms_j > ms_e  # all three terms enter
    variance = (ms_s + ms_j - ms_e) / d.size
    df = (ms_s + ms_j - ms_e) ** 2 / (ms_s**2 / 4 + ms_j**2 / 11 + ms_e**2 / 44)
    t = d.mean() / math.sqrt(variance)
    result = crossed_t(d, np.zeros_like(d))
    assert result.statistic == pytest.approx(t, rel=1e-10)
    assert result.p_value == pytest.approx(2 * sps.t.sf(abs(t), df), rel=1e-10)
    half = sps.t.ppf(0.975, df) * math.sqrt(variance)
    assert (result.ci_low, result.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert result.n == 12 and "5 seeds x 12 subjects" in result.protocol
    assert f"df = {df:.3g}" in result.note


def test_crossed_t_without_subject_variance_is_the_t_over_seed_means():
    rng = np.random.default_rng(6)
    noise = rng.normal(0, 0.01, (5, 12))
    noise -= noise.mean(axis=0)  # no subject differences at all
    a, b = 0.6 + rng.normal(0, 0.03, (5, 1)) + noise, np.full((5, 12), 0.6)
    result, ref = crossed_t(a, b), paired_t(a.mean(axis=1), b.mean(axis=1))
    assert (result.statistic, result.p_value) == pytest.approx((ref.statistic, ref.p_value))
    assert (result.ci_low, result.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))


def test_crossed_t_without_seed_variance_is_the_t_over_subject_means():
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, (5, 12))
    noise -= noise.mean(axis=1, keepdims=True)  # every model equally good overall
    a, b = 0.6 + rng.normal(0, 0.03, (1, 12)) + noise, np.full((5, 12), 0.6)
    result = crossed_t(a, b)
    ref = paired_t(a.mean(axis=0), b.mean(axis=0), unit="subject")
    assert (result.statistic, result.p_value) == pytest.approx((ref.statistic, ref.p_value))


def test_crossed_t_counts_the_seed_variance_subject_pairing_ignores():
    """One model per arm a little better everywhere: subjects agree, seeds do not."""
    rng = np.random.default_rng(8)
    a = 0.6 + np.array([[0.04], [-0.01], [0.03], [0.0], [0.02]]) + rng.normal(0, 0.01, (5, 23))
    b = 0.6 + rng.normal(0, 0.01, (5, 23))
    assert paired_t(a.mean(axis=0), b.mean(axis=0), unit="subject").p_value < 1e-6
    assert crossed_t(a, b).p_value > 0.05


def test_crossed_t_zero_variance_and_bad_input():
    equal = crossed_t(np.ones((3, 4)), np.ones((3, 4)))
    assert (equal.statistic, equal.p_value) == (0.0, 1.0)
    for a, b, match in [
        (np.ones(4), np.ones(4), "matrices"),
        (np.ones((1, 4)), np.ones((1, 4)), "at least"),
        (np.ones((3, 4)), np.ones((3, 5)), "equal shape"),
        (np.full((2, 2), np.nan), np.ones((2, 2)), "NaN"),
    ]:
        with pytest.raises(ValueError, match=match):
            crossed_t(a, b)
