"""Effect sizes, bootstrap intervals, the comparison table and its forest plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.colors import to_hex
from scipy import stats as sps

from vaxis.align.forest import STYLE, plot_forest
from vaxis.core.effects import (
    PUBLISHED,
    bootstrap_ci,
    cohens_dz,
    compare_to_baseline,
)
from vaxis.core.stats import benjamini_hochberg, crossed_t, holm, nadeau_bengio, paired_t
from vaxis.plotting import save_figure

RNG = np.random.default_rng(11)
BASE = RNG.uniform(0.45, 0.8, 23)  # per-subject balanced accuracy of the baseline (synthetic)


def _arm(effect: float, sd: float = 0.02, seed: int = 0) -> np.ndarray:
    return BASE + effect + np.random.default_rng(seed).normal(0, sd, BASE.size)


def test_cohens_dz_by_hand():
    assert cohens_dz([1.0, 2.0, 3.0]) == pytest.approx(2.0)  # mean 2, sd 1
    assert np.isnan(cohens_dz([0.5, 0.5, 0.5]))


@pytest.mark.parametrize(("ours", "theirs"), [("percentile", "percentile"), ("bca", "BCa")])
def test_bootstrap_ci_matches_scipy_given_the_same_seed(ours, theirs):
    d = RNG.gamma(2.0, 0.01, 23) - 0.015  # skewed, so BCa differs from percentile
    ref = sps.bootstrap(
        (d,), np.mean, n_resamples=4000, method=theirs, rng=np.random.default_rng(5)
    ).confidence_interval
    assert bootstrap_ci(d, 4000, 5, ours) == pytest.approx((ref.low, ref.high), rel=1e-10)


def test_bca_and_percentile_differ_on_skewed_data_and_bracket_the_mean():
    d = RNG.exponential(0.02, 23)
    pct, bca = bootstrap_ci(d, 4000, 1, "percentile"), bootstrap_ci(d, 4000, 1, "bca")
    assert pct != pytest.approx(bca, abs=1e-6)
    for low, high in (pct, bca):
        assert low < d.mean() < high


def test_bootstrap_ci_constant_differences_and_bad_method():
    assert bootstrap_ci([0.01, 0.01, 0.01]) == (0.01, 0.01)
    with pytest.raises(ValueError, match="percentile"):
        bootstrap_ci([0.1, 0.2], method="student")  # type: ignore[arg-type]


# comparison table -------------------------------------------------------------------------


def test_planted_better_worse_and_null_are_found_per_subject():
    arms = {
        "helps": _arm(0.04, seed=1),
        "hurts": _arm(-0.04, seed=2),
        "nothing": _arm(0.0, seed=3),
        "hurts a lot": _arm(-0.10, seed=4),
    }
    table = compare_to_baseline(arms, BASE, unit="subject")
    verdicts = {row.name: row.verdict for row in table.rows}
    assert verdicts == {
        "helps": "better",
        "hurts": "worse",
        "nothing": "no difference",
        "hurts a lot": "worse",
    }
    assert table.counts() == (1, 1, 2)
    assert table.primary == "sign_flip"
    assert table.protocol == "sign-flip permutation over 23 subjects"
    for row, (name, a) in zip(table.rows, arms.items(), strict=True):
        assert row.name == name
        assert row.mean_delta == pytest.approx(np.mean(a - BASE))
        assert row.ci_low < row.mean_delta < row.ci_high
        assert row.d_z == pytest.approx(cohens_dz(a - BASE))
        assert set(row.tests) == {"sign_flip", "wilcoxon", "paired_t"}
    assert "bootstrap" in table.interval


def test_corrected_p_columns_are_holm_and_bh_across_interventions():
    arms = {f"arm {k}": _arm(0.004 * k - 0.01, seed=k) for k in range(6)}
    table = compare_to_baseline(arms, BASE)
    for test in ("sign_flip", "wilcoxon", "paired_t"):
        raw = [row.tests[test].p_value for row in table.rows]
        assert [row.p_holm[test] for row in table.rows] == pytest.approx(holm(raw))
        assert [row.p_bh[test] for row in table.rows] == pytest.approx(benjamini_hochberg(raw))


def test_verdict_follows_the_chosen_correction():
    """Ten identical interventions with raw p = 0.01: Holm gives 0.1 (keep), BH 0.01 (reject)."""
    z = RNG.normal(size=23)
    z = (z - z.mean()) / z.std(ddof=1)
    shift = sps.t.isf(0.005, 22) / np.sqrt(23)  # makes the paired t p exactly 0.01
    arms = {f"arm {k}": BASE + shift + z for k in range(10)}
    kwargs = {"unit": "subject", "primary": "paired_t"}
    holm_table = compare_to_baseline(arms, BASE, correction="holm", **kwargs)
    bh_table = compare_to_baseline(arms, BASE, correction="bh", **kwargs)
    assert holm_table.rows[0].tests["paired_t"].p_value == pytest.approx(0.01)
    assert holm_table.rows[0].p_holm["paired_t"] == pytest.approx(0.1)
    assert holm_table.counts() == (0, 10, 0)
    assert bh_table.counts() == (10, 0, 0)


def test_seed_unit_uses_the_studys_test_and_shows_the_wilcoxon_floor():
    base = np.array([0.61, 0.62, 0.60, 0.63, 0.62])
    arms = {"hurts": base - np.array([0.051, 0.049, 0.050, 0.052, 0.048])}
    table = compare_to_baseline(arms, base, unit="seed")
    row = table.rows[0]
    assert table.primary == "paired_t"
    assert "the study's test" in table.protocol
    assert row.verdict == "worse"
    assert row.tests["wilcoxon"].p_value == pytest.approx(0.0625)  # cannot go lower
    ref = paired_t(arms["hurts"], base)
    assert (row.ci_low, row.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
    assert "paired_t" in table.interval


def test_fold_unit_needs_sizes_and_uses_nadeau_bengio():
    base = RNG.uniform(0.55, 0.65, 10)
    arms = {"x": base + RNG.normal(0.01, 0.01, 10)}
    with pytest.raises(ValueError, match="n_train and n_test"):
        compare_to_baseline(arms, base, unit="fold")
    table = compare_to_baseline(arms, base, unit="fold", n_train=111, n_test=12)
    ref = nadeau_bengio(arms["x"] - base, 111, 12)
    row = table.rows[0]
    assert row.tests["nadeau_bengio"].p_value == pytest.approx(ref.p_value)
    assert (row.ci_low, row.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
    assert "anti-conservative" in row.tests["paired_t"].note


def _runs(effect: float, seed_sd: float, seed: int) -> np.ndarray:
    """5 runs x 23 subjects: each run shifted as a whole (run-level luck) plus noise."""
    rng = np.random.default_rng(seed)
    return BASE + effect + rng.normal(0, seed_sd, (5, 1)) + rng.normal(0, 0.01, (5, 23))


def test_run_matrices_add_the_crossed_t_as_primary_and_temper_lucky_runs():
    base_runs = _runs(0.0, 0.0, seed=1)
    runs = {"lucky runs": _runs(0.0, 0.03, seed=2), "helps": _runs(0.05, 0.0, seed=3)}
    means = {name: m.mean(axis=0) for name, m in runs.items()}
    plain = compare_to_baseline(means, base_runs.mean(axis=0))
    table = compare_to_baseline(
        means, base_runs.mean(axis=0), per_run=runs, baseline_runs=base_runs
    )
    assert "crossed_t" not in plain.rows[0].tests and plain.primary == "sign_flip"
    assert table.primary == "crossed_t" and "5 seeds x 23 subjects" in table.protocol
    lucky, helps = table.rows
    ref = crossed_t(runs["lucky runs"], base_runs)
    assert lucky.tests["crossed_t"].p_value == pytest.approx(ref.p_value)
    assert (lucky.ci_low, lucky.ci_high) == pytest.approx((ref.ci_low, ref.ci_high))
    assert lucky.tests["sign_flip"].p_value == plain.rows[0].tests["sign_flip"].p_value
    # run-level luck alone: subject pairing calls it an effect, the crossed t does not
    assert plain.rows[0].verdict != "no difference" and lucky.verdict == "no difference"
    assert helps.verdict == "better"
    p = [row.tests["crossed_t"].p_value for row in table.rows]
    assert [row.p_holm["crossed_t"] for row in table.rows] == pytest.approx(holm(p))


def test_run_matrices_must_match_the_per_subject_values():
    base_runs, runs = _runs(0.0, 0.0, seed=1), {"x": _runs(0.0, 0.0, seed=2)}
    means = {"x": runs["x"].mean(axis=0)}
    base = base_runs.mean(axis=0)
    cases = [
        ({"per_run": runs}, "go together"),
        ({"per_run": runs, "baseline_runs": base_runs, "unit": "seed"}, "go together"),
        ({"per_run": {"y": runs["x"]}, "baseline_runs": base_runs}, "give both"),
        ({"per_run": {"x": runs["x"][:4]}, "baseline_runs": base_runs}, "same seeds"),
        ({"per_run": {"x": runs["x"] + 0.1}, "baseline_runs": base_runs}, "mean over seeds"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            compare_to_baseline(means, base, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": "trial"}, "unit must be"),
        ({"unit": "seed", "primary": "nadeau_bengio"}, "primary test"),
        ({"correction": "bonferroni"}, "correction must be"),
        ({"per_unit": {"short": BASE[:20]}}, "'short' has shape"),
        ({"per_unit": {}}, "no interventions"),
    ],
)
def test_compare_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_to_baseline(kwargs.pop("per_unit", {"x": BASE}), BASE, **kwargs)


def test_to_dict_is_json_with_published_counts_beside_ours():
    table = compare_to_baseline({"a": _arm(-0.05, seed=1), "same": BASE.copy()}, BASE)
    out = json.loads(json.dumps(table.to_dict()))  # NaN d_z of "same" must become null
    assert out["counts"] == {"better": 0, "no difference": 1, "worse": 1}
    assert out["published"]["status"] == "published, not run here"
    assert (PUBLISHED["better"], PUBLISHED["no difference"], PUBLISHED["worse"]) == (0, 9, 16)
    assert out["rows"][1]["d_z"] is None
    assert out["rows"][0]["p_holm"]["sign_flip"] <= 0.05
    assert "0 / 1 / 1 of 2" in table.counts_line()
    assert "0 / 9 / 16 of 25" in table.counts_line()


# forest plot ------------------------------------------------------------------------------


def test_forest_plot_rows_markers_and_caption(tmp_path):
    arms = {"helps": _arm(0.05, seed=1), "nothing": _arm(0.0, seed=3), "hurts": _arm(-0.05)}
    table = compare_to_baseline(arms, BASE)
    fig = plot_forest(table, "synthetic cohort")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["helps", "nothing", "hurts"]
    points = [line for line in ax.lines if line.get_marker() in ("^", "o", "v")]
    by_marker = {
        line.get_marker(): (line.get_xdata()[0], to_hex(line.get_color())) for line in points
    }
    assert by_marker["^"] == (pytest.approx(table.rows[0].mean_delta), STYLE["better"][1])
    assert by_marker["v"] == (pytest.approx(table.rows[2].mean_delta), STYLE["worse"][1])
    assert "23 subjects" in ax.get_title()
    assert any("0 / 9 / 16" in text.get_text() for text in fig.texts)
    paths = save_figure(fig, tmp_path / "out" / "forest")
    assert [p.suffix for p in paths] == [".png", ".svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:2000]
