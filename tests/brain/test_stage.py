"""`vaxis.brain.run`: the stage report the command prints and the study keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vaxis.brain import BrainConfig, BrainReport, BrainSettings, ReadoutConfig, run
from vaxis.brain.cli import app as brain_app
from vaxis.brain.outputs import SYNTHETIC_WARNING
from vaxis.core.reported import figure_of
from vaxis.core.stage import StageReport
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.study.registry import StageResult, StudyContext

SMALL = {"permutations": 50, "random_directions": 50, "bootstrap": 20}


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[BrainConfig, BrainReport]:
    folder = tmp_path_factory.mktemp("brain")
    cohort, truth = synthesize_features(SynthConfig(n_subjects=6, n_windows=3, seed=4))
    cohort.save(folder / "s.cohort.h5")
    truth.save(folder / "s.cohort.h5")
    config = BrainConfig(
        cohort=folder / "s.cohort.h5", positions="truth", out=folder / "out", **SMALL
    )
    return config, run(config)


def test_the_settings_are_the_study_keys_and_the_config_adds_only_plumbing() -> None:
    assert list(BrainSettings.model_fields) == [
        "model", "permutations", "random_directions", "bootstrap", "subject_folds", "seed"
    ]  # fmt: skip
    assert issubclass(ReadoutConfig, BrainSettings) and issubclass(BrainConfig, ReadoutConfig)
    added = set(BrainConfig.model_fields) - set(ReadoutConfig.model_fields)
    assert added == {"cohort", "positions", "out", "nan_policy"}


def test_the_report_gives_every_reportable_stat_as_a_figure_and_the_study_keeps_them(
    done: tuple[BrainConfig, BrainReport],
) -> None:
    config, report = done
    assert isinstance(report, StageReport) and report.synthetic
    stats = report.readout.stats
    expected = {f"eeg read-out {s.name}": figure_of(s, True) for s in stats}
    assert report.figures() == {k: f for k, f in expected.items() if f is not None}
    assert "eeg read-out r loso" in report.figures()
    assert [row[0] for row in report.tables()[0].rows] == [s.name for s in stats]
    notes = report.notes()
    assert notes[0] == SYNTHETIC_WARNING and notes[1].startswith("positions: synthetic-truth")
    assert notes[-1].startswith("per-cell peak ") and "BH q = " in notes[-1]
    assert [Path(p.png).name for p in report.plots()] == [
        "topomap_pattern.png", "topomap_cell_r.png", "scatter_loso.png"
    ]  # fmt: skip
    assert all(Path(p.png).is_absolute() and Path(p.png).stat().st_size for p in report.plots())
    kept = StageResult.of(report, StudyContext(out=config.out.parent))
    assert kept.figures == report.figures() and kept.notes == notes
    assert kept.plots[0].png == "out/topomap_pattern.png"
    payload = report.to_json()
    assert set(payload["figures"]) == set(report.figures()) and payload["synthetic"] is True
    assert json.loads(json.dumps(payload)) == payload


def test_readout_json_records_the_readout_settings_not_the_paths(
    done: tuple[BrainConfig, BrainReport],
) -> None:
    _, report = done
    recorded = json.loads(report.path.read_text())["config"]
    assert recorded["permutations"] == 50 and recorded["bootstrap"] == 20
    assert "cohort" not in recorded and "out" not in recorded


@pytest.mark.slow
def test_the_command_prints_the_reports_table_and_notes(
    done: tuple[BrainConfig, BrainReport], tmp_path: Path
) -> None:
    config, report = done
    parent = typer.Typer()
    parent.add_typer(brain_app, name="brain")
    parent.callback()(lambda: None)
    args = ["brain", "map", str(config.cohort), "--positions", "truth", "-o", str(tmp_path)]
    small = ["--permutations", "50", "--random-directions", "50", "--bootstrap", "20"]
    result = CliRunner().invoke(parent, [*args, *small], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert report.tables()[0].title in result.output
    assert report.notes()[-1] in result.output and "wrote " in result.output
