"""`vaxis data ...`: the commands a user types, run through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vaxis.cli import app
from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import load_truth

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    """Exit code and output with whitespace collapsed (rich wraps long lines)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_synth_then_inspect_reports_the_cohort_and_says_synthetic(tmp_path: Path) -> None:
    out = tmp_path / "s.cohort.h5"
    code, text = run("data", "synth", "--out", str(out), "--subjects", "3", "--windows", "4")
    assert code == 0, text
    assert "SYNTHETIC DATA" in text
    assert Cohort.load(out).subjects.tolist() == [0, 1, 2]
    assert load_truth(out).planted["valence"] is True
    result = runner.invoke(app, ["data", "inspect", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["synthetic"] is True
    assert summary["n_subjects"] == 3
    assert summary["label_counts"]["neutral"] == 3 * 4 * 4  # 4 neutral clips x 4 windows


def test_null_flag_plants_no_valence(tmp_path: Path) -> None:
    out = tmp_path / "null.cohort.h5"
    code, text = run("data", "synth", "--out", str(out), "--subjects", "2", "--null")
    assert code == 0, text
    assert load_truth(out).planted["valence"] is False


def test_synth_refuses_to_overwrite_and_a_config_typo_names_the_key(tmp_path: Path) -> None:
    out = tmp_path / "s.cohort.h5"
    assert run("data", "synth", "--out", str(out), "--subjects", "2")[0] == 0
    code, text = run("data", "synth", "--out", str(out), "--subjects", "2")
    assert code == 2 and "--overwrite" in text
    config = tmp_path / "c.yaml"
    config.write_text("n_subjets: 4\n")
    code, text = run(
        "data", "synth", "--out", str(tmp_path / "t.cohort.h5"), "--config", str(config)
    )
    assert code == 2 and "n_subjets" in text


def test_raw_features_pipeline_is_resumable(tmp_path: Path) -> None:
    out = tmp_path / "s.cohort.h5"
    assert run("data", "synth", "--out", str(out), "--subjects", "2", "--raw")[0] == 0
    raw = tmp_path / "s.raw.cohort.h5"
    de = tmp_path / "de.cohort.h5"
    code, text = run("data", "features", str(raw), str(de))
    assert code == 0, text
    features = Cohort.load(de)
    assert features.meta.synthetic and features.meta.feature == "de"
    assert features.subjects.tolist() == [0, 1]
    assert not (tmp_path / "de.cohort.h5.parts").exists()


def test_inspect_of_a_missing_path_fails_cleanly(tmp_path: Path) -> None:
    code, text = run("data", "inspect", str(tmp_path / "nothing"))
    assert code == 2
    assert "no such file or folder" in text


@pytest.mark.parametrize("command", [[], ["data"], ["data", "synth"], ["data", "inspect"],
                                     ["data", "features"]])  # fmt: skip
def test_every_command_has_help(command: list[str]) -> None:
    code, text = run(*command, "--help")
    assert code == 0
    assert "Usage" in text


def test_features_can_write_the_official_faced_layout(tmp_path: Path) -> None:
    out = tmp_path / "s.cohort.h5"
    assert run("data", "synth", "--out", str(out), "--subjects", "1", "--raw")[0] == 0
    folder = tmp_path / "official"
    code, text = run("data", "features", str(tmp_path / "s.raw.cohort.h5"), str(folder),
                     "--layout", "faced")  # fmt: skip
    assert code == 0, text
    from vaxis.data.faced import load_faced_features

    official = load_faced_features(folder)
    ours = Cohort.load(folder / "de.cohort.h5")
    assert official.meta.synthetic, "the official layout must keep the synthetic label"
    order = np.lexsort((ours.window, ours.stimulus, ours.subject))
    np.testing.assert_allclose(official.data, ours.data[order], rtol=1e-6)
