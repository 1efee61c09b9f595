"""Per-cell correlations, BH, regions and plots (planted pattern found, nothing found on nulls)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vaxis.brain import nulls
from vaxis.brain.mapping import cohort_tensor
from vaxis.brain.topography import (
    bh_adjust,
    cell_correlations,
    channel_region,
    plot_scatter,
    plot_topomaps,
    region_summary,
)
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import FACED_CHANNELS, SEEDV_CHANNELS
from vaxis.data.synthetic import GroundTruth, SynthConfig, synthesize_features
from vaxis.plotting import save_figure

BANDS = ("delta", "theta", "alpha", "beta", "gamma")


def synth(seed: int, plant: bool = True) -> tuple[Cohort, GroundTruth]:
    config = SynthConfig(n_subjects=12, n_windows=5, seed=seed, plant_valence=plant)
    return synthesize_features(config)


def test_cell_correlations_follow_the_planted_valence_pattern() -> None:
    cohort, truth = synth(seed=0)
    cells = cell_correlations(cohort_tensor(cohort), truth.valence, FACED_CHANNELS, BANDS)
    assert np.corrcoef(cells.r.ravel(), truth.valence_pattern.ravel())[0, 1] > 0.7
    peak = cells.peak()
    assert channel_region(peak["channel"]) in ("occipital", "parietal")
    ranking = region_summary(cells.r, FACED_CHANNELS)["ranking_by_mean_abs"]
    assert ranking[:4] == ["occipital", "parietal", "central", "frontal"]  # as planted
    # p-values are Pearson's two-sided test, cell by cell
    tensor = cohort_tensor(cohort)
    reference = stats.pearsonr(tensor[:, 27, 4], truth.valence)
    assert cells.r[27, 4] == pytest.approx(reference.statistic)
    assert cells.p[27, 4] == pytest.approx(reference.pvalue)


def test_null_cohorts_rarely_have_any_cell_surviving_bh() -> None:
    n_cohorts = 20
    with_discovery = 0
    for seed in range(n_cohorts):
        cohort, truth = synth(seed=200 + seed, plant=False)
        cells = cell_correlations(cohort_tensor(cohort), truth.valence, FACED_CHANNELS, BANDS)
        with_discovery += bool((cells.q < 0.05).any())
    # Under the global null BH keeps the chance of any discovery at <= 5% per cohort.
    assert with_discovery <= stats.binom.ppf(0.999, n_cohorts, 0.05)


def test_permutation_p_values_agree_with_the_t_test_for_independent_stimuli() -> None:
    cohort, truth = synth(seed=5, plant=False)
    tensor, y = cohort_tensor(cohort), truth.valence
    rng = np.random.default_rng(0)
    draws = nulls.permuted_positions(y, np.zeros(28, int), 2000, rng, "stimuli")
    exact = cell_correlations(tensor, y, FACED_CHANNELS, BANDS)
    permuted = cell_correlations(tensor, y, FACED_CHANNELS, BANDS, draws)
    assert permuted.r == pytest.approx(exact.r)
    assert permuted.p.min() >= 1 / 2001
    assert np.abs(permuted.p - exact.p).max() < 0.05  # Monte Carlo error at 2000 draws
    assert "2000 draws" in permuted.to_dict()["protocol"]


def test_bh_against_a_hand_computed_example() -> None:
    # sorted p: 0.005 0.01 0.03 0.04 -> p * m / rank: 0.02 0.02 0.04 0.04 (already monotone)
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert bh_adjust(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # a step-up case: 0.02 * 3 / 2 = 0.03 > 0.025 = 0.025 * 3 / 3, so rank 2 takes 0.025
    assert bh_adjust(np.array([0.001, 0.02, 0.025])) == pytest.approx([0.003, 0.025, 0.025])
    with_nan = bh_adjust(np.array([np.nan, 0.01, 0.04]))
    assert np.isnan(with_nan[0]) and with_nan[1:] == pytest.approx([0.02, 0.04])


def test_region_summary_on_a_tiny_hand_example() -> None:
    channels = ("Fp1", "FC1", "Cz", "CP1", "PO3", "O1", "T7", "A1")
    values = np.array([[0.1], [-0.2], [0.4], [0.35], [-0.5], [0.7], [0.9], [5.0]])
    summary = region_summary(values, channels)
    assert summary["frontal"]["mean_abs"] == pytest.approx(0.1)
    assert summary["central"]["mean_abs"] == pytest.approx(0.3)  # FC1 and Cz
    assert summary["central"]["mean"] == pytest.approx(0.1)
    assert summary["parietal"]["channels"] == ["CP1"]
    assert summary["occipital"]["mean_abs"] == pytest.approx(0.6)  # PO3 and O1
    assert summary["temporal"]["mean_abs"] == pytest.approx(0.9)
    assert summary["ranking_by_mean_abs"] == [
        "temporal", "occipital", "parietal", "central", "frontal",
    ]  # fmt: skip
    # reference electrodes are in no region (A1's 5.0 counts nowhere)
    assert all("A1" not in summary[r]["channels"] for r in summary["ranking_by_mean_abs"])


@pytest.mark.parametrize(
    ("name", "region"),
    [("FPZ", "frontal"), ("AF3", "frontal"), ("FT7", "temporal"), ("TP8", "temporal"),
     ("CB1", "occipital"), ("POZ", "occipital"), ("CPZ", "parietal"), ("FCZ", "central"),
     ("M1", None), ("A2", None)],
)  # fmt: skip
def test_seedv_channel_names_have_regions(name: str, region: str | None) -> None:
    assert channel_region(name) == region


def test_topomaps_drop_reference_and_unplaceable_channels_and_say_so(tmp_path: Path) -> None:
    values = np.random.default_rng(0).normal(size=(32, 5))
    fig, dropped = plot_topomaps(values, FACED_CHANNELS, BANDS, "weights", "w")
    assert [d.split()[0] for d in dropped] == ["A2", "A1"]
    assert all("reference electrode" in d for d in dropped)
    assert len(fig.axes) == 6  # five bands and the colour bar
    paths = save_figure(fig, tmp_path / "weights")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].stat().st_size > 1000
    _, dropped = plot_topomaps(np.zeros((62, 5)), SEEDV_CHANNELS, BANDS, "seed-v")
    assert [d.split()[0] for d in dropped] == ["CB1", "CB2"]
    assert all("no position" in d for d in dropped)


def test_scatter_reports_the_correlation_it_shows(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(size=28)
    pred = true + rng.normal(size=28)
    categories = np.arange(28) % 9
    fig = plot_scatter(pred, true, categories, tuple("abcdefghi"), "loso")
    (ax,) = fig.axes
    assert f"r = {np.corrcoef(pred, true)[0, 1]:+.2f}" in ax.get_title()
    assert len(ax.get_legend().get_texts()) == 9
    assert save_figure(fig, tmp_path / "s")[0].stat().st_size > 1000
