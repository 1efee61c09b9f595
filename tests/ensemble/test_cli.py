"""`vaxis ensemble` through typer's runner on the sub-app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.ensemble.test_run import write_cohort
from vaxis.ensemble.cli import app

TINY = [
    "--positions", "truth", "--depth", "1", "--width", "8", "--hyper",
    '{"heads": 2, "channel_tokens": 4}', "--seeds", "0,1", "--epochs", "1", "--no-cascade",
    "--batch-size", "32", "--executor", "serial", "--threads", "1",
]  # fmt: skip


def test_cli_runs_the_tiny_recipe_and_writes_the_report(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path)
    result = CliRunner().invoke(app, [str(cohort), *TINY, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output.upper() and "uniform ensemble" in result.output
    data = json.loads((tmp_path / "out" / "ensemble.json").read_text())
    assert data["synthetic"] is True and data["cascade"] == []
    assert data["config"]["seeds"] == [0, 1] and data["config"]["epochs"] == [1]
    assert len(data["members"]) == 2 and data["arms"]["seed ensemble (1)"]["members"]


def test_cli_reports_a_bad_split_without_training(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=4)
    result = CliRunner().invoke(app, [str(cohort), *TINY, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "test subject" in result.output
    assert not (tmp_path / "out" / "sweep").exists()
