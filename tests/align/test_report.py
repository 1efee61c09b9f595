"""AlignReport as a stage report: the figures, tables, plots and notes the study keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaxis.align.report import STUDY_TEST, SUBJECT_TEST, AlignReport
from vaxis.core.effects import compare_to_baseline
from vaxis.core.stage import StageReport
from vaxis.study.registry import StageResult, StudyContext
from vaxis.sweep.runner import SweepSummary


def planted_report(out: Path) -> AlignReport:
    """A planted effect: 'up' is 0.1 above the baseline on every subject, 'same' only noise."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.5, size=12)
    subjects = {"up": base + 0.1, "same": base + rng.normal(0, 1e-3, size=12)}
    seeds = {"up": np.array([0.5, 0.52, 0.49]), "same": np.array([0.4, 0.41, 0.39])}
    options = {"n_boot": 500, "n_permutations": 500}
    by_subject = compare_to_baseline(subjects, base, unit="subject", **options)
    by_seed = compare_to_baseline(seeds, np.array([0.4, 0.41, 0.4]), unit="seed", **options)
    for stem in ("forest_subjects", "forest_seeds"):
        (out / f"{stem}.png").write_bytes(b"png")
    (out / "forest_subjects.svg").write_text("<svg/>")
    return AlignReport(
        by_subject=by_subject, by_seed=by_seed, weights={"baseline": None, "up": 1.0},
        test_subjects=tuple(range(12)), seeds=(0, 1, 2), protocol="holdout",
        positions_source="truth", synthetic=True, sweep=SweepSummary(total=9), out=out,
        files=(), runs={("baseline", 0): "k0"},
    )  # fmt: skip


@pytest.fixture
def report(tmp_path: Path) -> AlignReport:
    return planted_report(tmp_path)


def test_figures_are_each_arm_delta_with_its_interval_and_corrected_p(report: AlignReport) -> None:
    assert isinstance(report, StageReport)
    figures = report.figures()
    up = figures["delta balanced accuracy up (subject)"]
    assert up.value == pytest.approx(0.1) and up.n == 12 and up.synthetic
    row = report.by_subject.rows[0]
    assert up.p == row.p_holm[report.by_subject.primary] and up.ci == (row.ci_low, row.ci_high)
    assert up.protocol.startswith(f"{SUBJECT_TEST}: ")
    same = figures["delta balanced accuracy same (subject)"]
    assert abs(same.value or 1) < 2e-3 and same.p is not None and same.p > 0.05  # nothing planted
    seed = figures["delta balanced accuracy up (seed)"]
    assert seed.value == pytest.approx(np.mean([0.1, 0.11, 0.09])) and seed.n == 3
    assert len(figures) == 4


def test_tables_notes_and_plots(report: AlignReport, tmp_path: Path) -> None:
    subject, seed = report.tables()
    assert subject.title == SUBJECT_TEST and seed.title == STUDY_TEST
    assert subject.columns[4] == "p (holm)" and [r[0] for r in subject.rows] == ["up", "same"]
    assert subject.rows[0][2] == "+0.100" and subject.note == report.by_subject.counts_line()
    assert report.notes() == [
        "positions: truth; protocol holdout; 12 test subjects, seeds [0, 1, 2]"
    ]
    forest_subjects, forest_seeds = report.plots()
    assert forest_subjects.png == str((tmp_path / "forest_subjects.png").resolve())
    assert forest_subjects.svg is not None and forest_seeds.svg is None  # no SVG written


def test_the_study_keeps_the_report_parts(report: AlignReport, tmp_path: Path) -> None:
    result = StageResult.of(report, StudyContext(out=tmp_path.parent))
    assert result.figures == report.figures() and result.tables == report.tables()
    assert result.plots[0].png == f"{tmp_path.name}/forest_subjects.png"
    record = json.loads(json.dumps(report.to_json()))
    assert record["runs"] == [{"arm": "baseline", "seed": 0, "key": "k0"}]
    assert record["figures"]["delta balanced accuracy up (subject)"]["n"] == 12
