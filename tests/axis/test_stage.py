"""`vaxis.axis.stage.run`: the V-axis stage report, the same in the study and the commands.

A tiny random llama reads stories and texts whose valence is planted in their last word
(tests/axis/planted_words.py): the axis must find the planted corpus and nothing in the null one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.axis.planted_words import write_corpus, write_stories
from vaxis.axis.build import AxisBuildConfig
from vaxis.axis.cli import app
from vaxis.axis.settings import AxisSettings, BuildSettings, ValidationSettings
from vaxis.axis.stage import AxisReport, AxisStageConfig, plan, run
from vaxis.core.stage import StageReport
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext
from vaxis.study.run import run_study

SMALL = {"n_null": 100, "n_boot": 100}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("axis-stage")
    return {
        "root": str(root),
        "stories": str(write_stories(root / "stories.csv")),
        "planted": str(write_corpus(root / "planted.csv", n=120)),
        "null": str(write_corpus(root / "null.csv", n=120, kind="null")),
        "cache": str(root / "cache"),
    }


@pytest.fixture(scope="module")
def done(
    tiny_model_dirs: dict[str, Path], files: dict[str, str]
) -> tuple[AxisStageConfig, AxisReport]:
    config = AxisStageConfig(
        model=str(tiny_model_dirs["llama"]),
        stories=files["stories"],
        validation_data=(files["planted"], files["null"]),
        cache_dir=files["cache"],
        out=Path(files["root"]) / "stage",
        **SMALL,
    )
    return config, run(config, progress=False)


def test_the_settings_are_the_study_keys_and_the_config_adds_the_build_and_the_folder() -> None:
    assert list(AxisSettings.model_fields) == [
        "method", "layer", "recipe", "stories",
        "validation_data", "max_items", "n_null", "n_boot", "seed",
    ]  # fmt: skip
    assert type(StudyConfig().stages.axis) is AxisSettings
    assert issubclass(AxisBuildConfig, BuildSettings)
    fields = set(AxisStageConfig.model_fields)
    assert fields == {*AxisBuildConfig.model_fields, *ValidationSettings.model_fields, "out"}


def test_the_planted_corpus_is_found_and_the_null_corpus_is_not(
    done: tuple[AxisStageConfig, AxisReport],
) -> None:
    _, report = done
    assert isinstance(report, StageReport) and not report.synthetic
    figures = report.figures()
    assert set(figures) == {"zero-shot auroc planted", "zero-shot auroc null"}
    for figure in figures.values():
        assert figure.n == 120 and figure.ci is not None and figure.ci_level == 0.95
        assert "random unit directions" in figure.protocol and not figure.synthetic
    planted, null = figures["zero-shot auroc planted"], figures["zero-shot auroc null"]
    assert planted.value is not None and planted.value > 0.9 and planted.p is not None
    assert planted.p < 0.05 and null.p is not None and null.p > 0.05
    saved = json.loads((report.validation_dir / "validation.json").read_text())
    first = saved["corpora"][0]["axis_layer"][0]
    assert (planted.value, planted.p, planted.n) == (first["value"], first["p_value"], first["n"])


def test_tables_plots_and_json_describe_the_same_axis(
    done: tuple[AxisStageConfig, AxisReport],
) -> None:
    config, report = done
    zero_shot, classes = report.tables()
    assert [row[0] for row in zero_shot.rows] == ["planted", "null"]
    assert zero_shot.columns[-1] == "probe after ablation"
    assert len(classes.rows) == 9 and classes.note.startswith("diagnosis: held-out Spearman")
    assert plan(config) == []
    for plot in report.plots():
        assert Path(plot.png).is_absolute() and Path(plot.png).stat().st_size > 1_000
        assert plot.svg is not None and Path(plot.svg).is_file()
    payload = report.to_json()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["axis"]["layer"] == report.axis.layer_ and payload["model"]["note"]
    kept = StageResult.of(report, StudyContext(out=config.out), report.provenance())
    assert kept.figures == report.figures() and kept.provenance["axis"] == payload["axis"]
    assert kept.plots[0].png == "axis/layer_scores.png"


def test_the_study_reports_the_stage_figures(
    done: tuple[AxisStageConfig, AxisReport], files: dict[str, str], tmp_path: Path
) -> None:
    config, report = done
    study = StudyConfig.model_validate(
        {
            "out": str(tmp_path / "study"),
            "data": {"subjects": 4, "windows": 2},
            "model": {"name": config.model, "cache_dir": files["cache"]},
            "stages": {
                "axis": {
                    "stories": files["stories"],
                    "validation_data": [files["planted"], files["null"]],
                    **SMALL,
                }
            },
        }
    )
    result = run_study(study, ["axis"], progress=False)
    record = json.loads(result.results.read_text())
    stage = next(s for s in record["stages"] if s["name"] == "axis")
    expected = {k: f.model_dump(mode="json") for k, f in report.figures().items()}
    assert stage["figures"] == expected
    assert stage["tables"] == [t.model_dump(mode="json") for t in report.tables()]
    assert record["axis"] == report.provenance()["axis"]


def test_the_commands_print_the_stage_tables(
    done: tuple[AxisStageConfig, AxisReport], files: dict[str, str], tmp_path: Path
) -> None:
    config, report = done
    runner, out = CliRunner(), str(tmp_path / "axis")
    built = runner.invoke(
        app,
        ["build", "--model", config.model, "--stories", files["stories"], "-o", out,
         "--cache-dir", files["cache"], "--no-progress"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert all(row[0] in built.output for row in report.tables()[1].rows)
    checked = runner.invoke(
        app,
        ["validate", out, "--data", f"{files['planted']},{files['null']}", "--max-items", "400",
         "--n-null", "100", "--n-boot", "100", "--no-progress"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    for row in report.tables()[0].rows:
        assert " ".join(row[:5]) in " ".join(checked.output.replace("│", " ").split()), row
