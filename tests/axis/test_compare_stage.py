"""`vaxis.axis.compare_stage.run`: cross-model agreement as a stage report (what `vaxis axis
compare` prints and the study's ``models`` stage keeps; their equality is tested in
tests/study/test_models_stage.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.axis.planted_words import write_stories
from vaxis.axis.build import AxisBuildConfig
from vaxis.axis.compare_stage import CompareConfig, CompareReport, plan, run
from vaxis.core.reported import figure_of
from vaxis.core.stage import StageReport


@pytest.fixture(scope="module")
def done(
    tiny_model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[CompareConfig, CompareReport]:
    root = tmp_path_factory.mktemp("compare-stage")
    config = CompareConfig(
        models=(str(tiny_model_dirs["llama"]), str(tiny_model_dirs["gpt2"])),
        stories=str(write_stories(root / "stories.csv")),
        cache_dir=str(root / "cache"),
        n_null=200,
        out=root / "out",
    )
    return config, run(config, progress=False)


def test_two_models_reading_the_planted_words_agree_with_exact_p(
    done: tuple[CompareConfig, CompareReport],
) -> None:
    _, report = done
    assert isinstance(report, StageReport) and not report.synthetic
    figures = report.figures()
    assert set(figures) == {
        "agreement r llama vs gpt2", "mean agreement r", "reference r llama", "reference r gpt2"
    }  # fmt: skip
    for name, figure in figures.items():
        assert figure.n == 9 and figure.p is not None and "permutation" in figure.protocol, name
    assert "exact permutation" in figures["agreement r llama vs gpt2"].protocol
    assert figures["agreement r llama vs gpt2"].value > 0.8  # type: ignore[operator]
    assert figures["agreement r llama vs gpt2"].p < 0.01  # type: ignore[operator]
    stats = report.consistency.stats
    assert figures == {s.name: figure_of(s, synthetic=False) for s in stats}


def test_tables_notes_plots_and_json(done: tuple[CompareConfig, CompareReport]) -> None:
    config, report = done
    matrix, tiers = report.tables()
    assert matrix.columns == ["model", "llama", "gpt2"] and matrix.rows[0][1] == "1.000"
    assert [row[0] for row in tiers.rows] == ["llama", "gpt2"]
    assert report.notes()[-1].startswith("mean off-diagonal Pearson")
    (plot,) = report.plots()
    assert Path(plot.png).is_absolute() and Path(plot.png).stat().st_size > 5_000
    payload = report.to_json()
    assert json.loads(json.dumps(payload)) == payload
    assert Path(payload["consistency"]).is_file() and plan(config) == []


def test_the_config_is_the_build_config_plus_the_models_and_one_model_is_refused(
    tmp_path: Path,
) -> None:
    added = set(CompareConfig.model_fields) - set(AxisBuildConfig.model_fields)
    assert added == {"models", "reference", "positions", "n_null", "seed", "out"}
    with pytest.raises(ValidationError, match="at least 2"):
        CompareConfig(models=("smollm2",), out=tmp_path)
