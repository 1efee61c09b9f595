"""Stage ``models``: agreement of V-axes across tiny stand-in models, and its permutation p.

Stories carry their valence in the last word (tests/axis/planted_words.py). Two tiny random
models (llama, gpt2) read those words, so both order the classes by valence and agree; a third
("flat") is a llama whose valence words all share one embedding, so it cannot tell them apart:
nothing is planted for it, and it must agree with neither the others nor the reference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from tests.axis.conftest import SPECIALS, _build_tiny_model
from tests.axis.planted_words import NEGATIVE, NEUTRAL, POSITIVE, write_stories
from vaxis.study import registry
from vaxis.study.config import StudyConfig, parse
from vaxis.study.registry import StageResult, StudyContext, StudyError
from vaxis.study.results import schema
from vaxis.study.run import StudyResult, run_study
from vaxis.study.stages.models import ONE_MODEL, models


# ------------------------------------------------------------------------ the stage
@contextmanager
def _stand_in_axis() -> Iterator[None]:
    """The axis stage replaced by a no-op: the models stage builds every axis itself."""
    saved = registry.STAGES["axis"]
    registry.STAGES["axis"] = registry.Stage(
        "axis", lambda c, x: StageResult(), "V-axis (stand-in)", ("data",), saved.uses
    )
    try:
        yield
    finally:
        registry.STAGES["axis"] = saved


def _flat_model(folder: Path) -> Path:
    """A tiny llama whose valence words (positive, negative, neutral) share one embedding."""
    from transformers import AutoModel

    _build_tiny_model(folder, "llama", seed=1)
    model = AutoModel.from_pretrained(folder)
    ids = [len(SPECIALS) + int(w[1:]) for w in POSITIVE + NEGATIVE + NEUTRAL]
    weight = model.get_input_embeddings().weight
    weight.data[ids] = weight.data[ids].mean(dim=0)
    model.save_pretrained(folder)
    return folder


def _config(root: Path, compare: list[str]) -> StudyConfig:
    return StudyConfig.model_validate(
        {
            "out": str(root / "study"),
            "data": {"subjects": 4, "windows": 2},
            "model": {"name": str(root / "llama"), "compare": compare},
            "stages": {"axis": {"stories": str(root / "stories.csv"), "n_null": 200}},
        }
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("models")
    _build_tiny_model(root / "llama", "llama")
    _build_tiny_model(root / "gpt2", "gpt2")
    _flat_model(root / "flat")
    write_stories(root / "stories.csv")
    with pytest.MonkeyPatch.context() as patch, _stand_in_axis():
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("VAXIS_CACHE", str(root / "cache"))
        yield root


@pytest.fixture(scope="module")
def compared(root: Path) -> tuple[StudyConfig, StudyResult]:
    config = _config(root, [str(root / "gpt2"), str(root / "flat")])
    return config, run_study(config, ["models"], progress=False)


def _stage(result: StudyResult) -> dict[str, Any]:
    record = json.loads(result.results.read_text())
    jsonschema.Draft202012Validator(schema()).validate(record)
    return next(s for s in record["stages"] if s["name"] == "models")


def test_models_sharing_valence_agree_and_a_model_without_it_does_not(
    compared: tuple[StudyConfig, StudyResult],
) -> None:
    figures = _stage(compared[1])["figures"]
    assert set(figures) == {
        "agreement r llama vs gpt2",
        "agreement r llama vs flat",
        "agreement r gpt2 vs flat",
        "mean agreement r",
        "reference r llama",
        "reference r gpt2",
        "reference r flat",
    }
    assert all(f["n"] == 9 and f["p"] is not None and not f["synthetic"] for f in figures.values())
    shared = figures["agreement r llama vs gpt2"]
    assert shared["value"] > 0.8 and shared["p"] < 0.01
    for name in ("agreement r llama vs flat", "agreement r gpt2 vs flat", "reference r flat"):
        assert figures[name]["value"] < 0.6 and figures[name]["p"] > 0.05, name
    for name in ("llama", "gpt2"):
        reference = figures[f"reference r {name}"]
        assert reference["p"] < 0.01 and reference["note"] in ("tier: top", "tier: middle")
    assert figures["reference r flat"]["note"] in ("tier: out", "tier: between tiers")
    pairs = [figures[f"agreement r {p}"]["value"] for p in ("llama vs gpt2", "llama vs flat")]
    pairs.append(figures["agreement r gpt2 vs flat"]["value"])
    assert figures["mean agreement r"]["value"] == pytest.approx(np.mean(pairs))


def test_the_heatmap_and_tables_name_the_models(
    compared: tuple[StudyConfig, StudyResult],
) -> None:
    config, result = compared
    stage = _stage(result)
    assert stage["tables"][0]["columns"] == ["model", "llama", "gpt2", "flat"]
    assert [row[0] for row in stage["tables"][1]["rows"]] == ["llama", "gpt2", "flat"]
    png = Path(config.out) / stage["plots"][0]["png"]
    assert png.stat().st_size > 5_000
    assert "agreement of class positions between models" in result.report.read_text()


def test_a_rerun_skips_and_a_changed_list_reruns_only_the_comparison(
    compared: tuple[StudyConfig, StudyResult], root: Path
) -> None:
    config, _ = compared
    again = run_study(config, ["models"], progress=False)
    skipped = {name: "skipped (done)" for name in ("data", "axis", "models")}
    assert again.status == skipped
    fewer = _config(root, [str(root / "gpt2")])
    changed = run_study(fewer, ["models"], progress=False)
    assert changed.status == {**skipped, "models": "ran"}
    assert set(_stage(changed)["figures"]) == {
        "agreement r llama vs gpt2",
        "mean agreement r",
        "reference r llama",
        "reference r gpt2",
    }


def test_one_model_gives_a_note_and_no_figure(root: Path, tmp_path: Path) -> None:
    config = _config(root, []).model_copy(update={"out": str(tmp_path / "study")})
    stage = _stage(run_study(config, ["models"], progress=False))
    assert stage["notes"] == [ONE_MODEL]
    assert stage["figures"] == {} and stage["plots"] == [] and stage["tables"] == []


def test_a_gguf_file_inside_a_non_folder_is_refused(root: Path, tmp_path: Path) -> None:
    config = StudyConfig.model_validate(
        {"model": {"name": "some/hf-id", "gguf_file": "m.gguf", "compare": ["smollm2"]}}
    )
    with pytest.raises(StudyError, match="gguf_file"):
        models(config, StudyContext(out=tmp_path, progress=False))


def test_compare_is_read_from_the_config_file() -> None:
    config = parse('[model]\ncompare = ["gemma3-270m", "m/q.gguf"]\n', "study.toml")
    assert config.model.compare == ("gemma3-270m", "m/q.gguf")
    assert StudyConfig().model.compare == ()


def test_the_command_prints_the_figures_the_study_reports(
    compared: tuple[StudyConfig, StudyResult], root: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from vaxis.axis.cli import app
    from vaxis.core.render import figure_line
    from vaxis.core.reported import Figure

    record = json.loads(compared[1].results.read_text())  # the study's last run on it
    model = record["config"]["model"]
    names = [model["name"], *model["compare"]]
    args = ["compare", *names, "--stories", str(root / "stories.csv"), "--n-null", "200"]
    printed = CliRunner().invoke(
        app, [*args, "-o", str(tmp_path / "cmp"), "--no-progress"], env={"COLUMNS": "2000"}
    )
    assert printed.exit_code == 0, printed.output
    text = " ".join(printed.output.split())
    figures = _stage(compared[1])["figures"]
    m = len(names)
    assert len(figures) == m * (m - 1) // 2 + 1 + m  # pairs, their mean, each model
    for name, figure in figures.items():
        assert figure_line(name, Figure.model_validate(figure)) in text, name
