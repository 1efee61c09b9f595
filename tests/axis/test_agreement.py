"""Permutation p-values of cross-model agreement: exact against counting every relabeling,
Monte Carlo where k! is too many, and calibrated on noise."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import pearsonr

from vaxis.axis.agreement import mean_agreement_p, permutation_p


def test_the_exact_permutation_p_equals_counting_every_relabeling_with_scipy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=6)
    for b in (a + 0.5 * rng.normal(size=6), rng.normal(size=6)):
        observed = pearsonr(a, b)[0]
        null = [pearsonr(a, b[list(order)])[0] for order in itertools.permutations(range(6))]
        expected = np.mean(np.array(null) >= observed - 1e-12)
        assert permutation_p(a, b, 100, 0) == pytest.approx(expected)


def test_identical_orderings_of_nine_classes_reach_the_smallest_exact_p() -> None:
    a = np.arange(9.0)
    assert permutation_p(a, 2 * a + 1, 100, 0) == pytest.approx(1 / math.factorial(9))
    assert permutation_p(a, -a, 100, 0) == pytest.approx(1.0)  # agreement is one-sided


def test_many_classes_fall_back_to_counted_monte_carlo_draws() -> None:
    a = np.arange(12.0)
    assert permutation_p(a, a, 99, 0) == pytest.approx(1 / 100)  # the observed one counted


def test_the_mean_agreement_p_finds_a_shared_ordering_and_nothing_in_noise() -> None:
    rng = np.random.default_rng(1)
    shared = rng.normal(size=9)
    agreeing = shared + 0.3 * rng.normal(size=(3, 9))
    assert mean_agreement_p(agreeing, 500, 0) < 0.01
    noise_ps = [mean_agreement_p(rng.normal(size=(3, 9)), 200, s) for s in range(20)]
    assert np.mean(np.array(noise_ps) < 0.05) <= 0.15  # about the nominal rate, not more
    assert min(noise_ps) >= 1 / 201
