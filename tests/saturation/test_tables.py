"""SaturationReport as a stage report: its figures and tables from planted records (no
training), the ones the study keeps in results.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vaxis.core.stage import StageReport
from vaxis.core.stats import paired_t
from vaxis.saturation.ablation import AblationResult
from vaxis.saturation.config import SaturationConfig
from vaxis.saturation.epoch_probe import SHARE_KEYS
from vaxis.saturation.records import (
    AblationSummary,
    Curve,
    Movement,
    RunRow,
    SaturationReport,
    Threshold,
    ThresholdPair,
)
from vaxis.saturation.tables import _bootstrap_ci
from vaxis.saturation.threshold import estimate_threshold
from vaxis.study.registry import StageResult, StudyContext

SEEDS = (0, 1, 2, 3)
X = np.array([0.55, 0.6, 0.68, 0.72])
DELTA = 0.64 - X + np.array([0.01, -0.01, 0.005, -0.005])


def planted(out: Path, line: bool = True) -> SaturationReport:
    """delta = 0.64 - x plus noise (crossing near 0.64, slope near -1) over four baselines;
    rho of the arm 0.2 above the baseline's; one ablation z of 3 and one skipped run."""
    pairs = [
        ThresholdPair("aux", s, float(x), float(d)) for s, x, d in zip(SEEDS, X, DELTA, strict=True)
    ]
    estimate = estimate_threshold(X, DELTA, np.array(SEEDS), n_boot=200) if line else None
    threshold = Threshold(
        x="baseline val", delta="gain", protocol="OLS", pairs=pairs, estimate=estimate,
        reason=None if line else "fewer than 3 pairs over 2 baselines",
    )  # fmt: skip
    base_rho = np.array([0.3, 0.35, 0.4, 0.32])
    movement = Movement("paired", {"rho": {"aux": paired_t(base_rho + 0.2, base_rho, unit="seed")}})
    shares = {k: np.array([0.5, 0.25]) for k in SHARE_KEYS}
    curve = Curve(
        np.array([1, 2]), np.array([0.4, 0.5]), np.array([0.5, 0.6]), 2, 0.1, 0.05, shares
    )
    found = AblationResult(
        baseline=0.5, drop=0.1, random_mean=0.0, random_sd=0.03, z=3.0, p=0.01, n=20
    )
    runs = [
        RunRow("baseline", 0, 0.55, 0.5, 0.4, 0.1, ablation=found),
        RunRow("aux", 0, 0.55, 0.6, 0.6, 0.1, ablation="no validation predictions"),
    ]
    return SaturationReport(
        synthetic=True, protocol="holdout", positions_source="truth",
        config=SaturationConfig(align_out=out, out=out), runs=runs,
        curves={"baseline": {0: curve}}, threshold=threshold, movement=movement,
        ablation=AblationSummary("matched", 1, 3.0, 1),
    )  # fmt: skip


def test_figures_are_the_planted_threshold_movement_and_ablation(tmp_path: Path) -> None:
    report = planted(tmp_path)
    assert isinstance(report, StageReport)
    figures = report.figures()
    slope, intercept = np.polyfit(X, DELTA, 1)
    crossing = figures["threshold crossing"]
    assert crossing.value == pytest.approx(-intercept / slope) == pytest.approx(0.64, abs=0.01)
    assert crossing.ci is not None and crossing.ci[0] < crossing.value < crossing.ci[1]
    assert figures["threshold slope"].value == pytest.approx(slope) and crossing.n == 4
    rho = figures["movement rho aux"]
    assert rho.value == pytest.approx(0.2) and rho.n == 4 and rho.p is not None and rho.p < 0.01
    ablation = figures["ablation z baseline/seed0"]
    assert ablation.value == 3.0 and ablation.p == 0.01 and ablation.n == 20
    assert "ablation z aux/seed0" not in figures  # skipped: no figure, a row saying why
    assert list(figures) == [
        "threshold crossing", "threshold slope", "movement rho aux", "ablation z baseline/seed0"
    ]  # fmt: skip


def test_no_line_gives_no_threshold_figure_and_says_why(tmp_path: Path) -> None:
    report = planted(tmp_path, line=False)
    assert not any(name.startswith("threshold") for name in report.figures())
    threshold = report.tables()[1]
    assert threshold.rows == [
        ["threshold", "none", "-", "-", "fewer than 3 pairs over 2 baselines"]
    ]


def test_tables_notes_plots_and_what_the_study_keeps(tmp_path: Path) -> None:
    report = planted(tmp_path)
    rho, threshold, shares, ablation = report.tables()
    assert rho.rows == [["baseline", "0", "2", "0.400", "0.500"]]
    assert shares.rows == [["baseline", "0", "0.250", "0.250", "0.250", "0.250"]]
    assert [r[0] for r in threshold.rows] == ["crossing", "slope"]
    assert ablation.rows[1] == ["aux/seed0", "-", "-", "-", "no validation predictions"]
    assert report.notes() == [
        "2 align runs; positions: truth; protocol holdout; rho at the last epoch 0.500-0.500"
    ]
    assert [Path(p.png).name for p in report.plots()] == [
        "basin_per_epoch.png", "threshold.png", "gradient_shares.png", "ablation.png"
    ]  # fmt: skip
    result = StageResult.of(report, StudyContext(out=tmp_path.parent))
    assert result.figures == report.figures() and result.tables == report.tables()
    record = report.to_json()
    assert record["threshold"]["pairs"][0] == {
        "arm": "aux",
        "seed": 0,
        "x": 0.55,
        "delta": DELTA[0],
    }
    assert record["config"]["n_boot"] == 500 and record["config"]["n_random"] == 100
    assert record["runs"][0]["ablation"]["z"] == 3.0 and record["runs"][0]["saturation_epoch"] == 2
    assert record["runs"][1]["ablation"] == {"skipped": "no validation predictions"}
    assert "saturation_epoch" not in record["runs"][1]  # no curve
    assert record["ablation"]["n_z_above_1.96"] == 1 and record["curves"]["baseline"]["0"][
        "epoch"
    ] == [1, 2]


def test_a_bootstrap_ci_over_seeds_is_reported_only_when_it_can_mean_something() -> None:
    assert _bootstrap_ci([0.58, 0.66], 3) == (0.58, 0.66)
    assert _bootstrap_ci([0.58, 0.66], 2) is None  # two seeds: resamples collapse
    assert _bootstrap_ci([0.63, 0.63], 5) is None  # zero width
    assert _bootstrap_ci([None, 0.66], 5) is None and _bootstrap_ci([np.nan, 0.66], 5) is None
