"""`vaxis brain map` through typer's test runner (mounted under a parent app, as in vaxis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vaxis.brain.cli import app as brain_app
from vaxis.data.synthetic import SynthConfig, synthesize_features

runner = CliRunner()
parent = typer.Typer()
parent.add_typer(brain_app, name="brain")
SMALL = ["--permutations", "50", "--random-directions", "50", "--bootstrap", "20"]


@parent.callback()
def _root() -> None:
    """Parent group, so that `brain map` is addressed as in the vaxis command line."""


@pytest.fixture(scope="module")
def cohort_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("brain") / "s.cohort.h5"
    cohort, truth = synthesize_features(SynthConfig(n_subjects=6, n_windows=3, seed=4))
    cohort.save(path)
    truth.save(path)
    return path


def test_map_writes_readout_json_with_protocols_and_the_synthetic_flag(
    cohort_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["brain", "map", str(cohort_path), "--positions", "truth", "-o", str(out), *SMALL]
    result = runner.invoke(parent, args)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.output
    record = json.loads((out / "readout.json").read_text())
    assert list(record)[:3] == ["synthetic", "warning", "positions_source"]
    assert record["synthetic"] is True and record["positions_source"] == "synthetic-truth"
    stats = {s["name"]: s for s in record["stats"]}
    assert stats["r loso"]["p_value"] is not None and stats["r loso"]["ci_low"] is not None
    assert "optimistic" in stats["r in_sample"]["protocol"]
    assert record["topography"]["regions"]["ranking_by_mean_abs"]
    assert "hierarchical permutation" in record["topography"]["protocol"]
    assert record["not_on_topomaps"][0].startswith("A2")
    for paths in record["figures"].values():
        assert all(Path(p).stat().st_size > 0 for p in paths)
    assert json.loads((out / "positions.json").read_text())["source"] == "synthetic-truth"


def test_map_with_class_positions_records_the_fallback(cohort_path: Path, tmp_path: Path) -> None:
    args = ["brain", "map", str(cohort_path), "--positions", "classes", "-o", str(tmp_path), *SMALL]
    result = runner.invoke(parent, [*args, "--model", "pls", "--subset", ""])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "readout.json").read_text())
    assert record["positions_source"] == "class-fallback:valence-groups"
    assert not any("within" in s["name"] for s in record["stats"])  # no subset asked for


def test_map_names_a_bad_positions_argument(cohort_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    args = ["brain", "map", str(cohort_path), "--positions", str(missing), "-o", str(tmp_path)]
    result = runner.invoke(parent, args)
    assert result.exit_code == 2
    assert "nowhere.csv" in result.output and "fix:" in " ".join(result.output.split())
