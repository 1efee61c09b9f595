"""`vaxis ensemble` through typer's runner on the sub-app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cohorts import write_cohort
from vaxis.ensemble.cli import app

TINY = [
    "--positions", "truth", "--depth", "1", "--width", "8", "--hyper",
    '{"heads": 2, "channel_tokens": 4}', "--seeds", "0,1", "--epochs", "1", "--no-cascade",
    "--batch-size", "32", "--executor", "serial", "--threads", "1",
]  # fmt: skip


def test_cli_runs_the_tiny_recipe_and_writes_the_report(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=12)
    result = CliRunner().invoke(app, [str(cohort), *TINY, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output.upper() and "uniform ensemble" in result.output
    for title in ("ensembles", "paired comparisons", "study: ensemble", "pool members"):
        assert title in result.output  # the report's tables and notes, as the study shows them
    data = json.loads((tmp_path / "out" / "ensemble.json").read_text())
    assert data["synthetic"] is True and data["cascade"] == []
    assert data["config"]["seeds"] == [0, 1] and data["config"]["epochs"] == [1]
    assert len(data["members"]) == 2 and data["arms"]["seed ensemble (1)"]["members"]


def test_cli_reports_a_bad_split_without_training(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=4)
    result = CliRunner().invoke(app, [str(cohort), *TINY, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "test subject" in result.output
    assert not (tmp_path / "out" / "sweep").exists()


@pytest.mark.slow
def test_cli_precision_and_devices_reach_the_jobs_but_only_precision_their_keys(
    tmp_path: Path,
) -> None:
    cohort = write_cohort(tmp_path, n_subjects=12)
    out = tmp_path / "out"
    bf16 = ["--precision", "bf16", "--devices", "cpu:0,cpu:1"]
    tiny = [a if a != "serial" else "local" for a in TINY]
    result = CliRunner().invoke(app, [str(cohort), *tiny, *bf16, "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "ensemble.json").read_text())["config"]
    assert config["precision"] == "bf16" and config["devices"] == ["cpu:0", "cpu:1"]
    records = [json.loads(p.read_text()) for p in (out / "sweep" / "results").glob("*/*.json")]
    assert records and all(r["job"]["params"]["train"]["precision"] == "bf16" for r in records)
    assert all("cpu:1" not in json.dumps(r["job"]) for r in records)  # never in a key


def test_cli_refuses_a_bad_precision_or_device_before_training(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=12)
    for bad in (["--precision", "fp8"], ["--devices", "gpu0"]):
        out = tmp_path / bad[1]
        refused = CliRunner().invoke(app, [str(cohort), *TINY, *bad, "--out", str(out)])
        assert refused.exit_code == 2 and bad[1] in refused.output, refused.output
        assert not (out / "sweep").exists()
