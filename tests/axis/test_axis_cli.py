"""`vaxis axis build / validate / compare` on tiny models: help, outputs, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.axis.planted_words import write_corpus, write_stories
from vaxis.axis.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ([], ["build", "validate", "compare", "recipe study", "dequantized"]),
        (["build"], ["--recipe", "centroid PCA-1", "penultimate", "--layer", "--method"]),
        (["validate"], ["--data", "vader-movies", "--n-null", "inspection, not selection"]),
        (["compare"], ["--reference", "held-out", "one at a time"]),
    ],
)
def test_help_explains_the_options(command: list[str], words: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps lines and pads with spaces
    for word in words:
        assert word in text, word


def test_build_validate_compare_write_their_files(
    tiny_model_dirs: dict[str, Path], tmp_path: Path
) -> None:
    stories = str(write_stories(tmp_path / "stories.csv"))
    corpus = str(write_corpus(tmp_path / "planted.csv", n=120))
    llama, gpt2 = str(tiny_model_dirs["llama"]), str(tiny_model_dirs["gpt2"])
    out = tmp_path / "axis"
    built = runner.invoke(
        app, ["build", "--model", llama, "--stories", stories, "-o", str(out), "--no-progress"]
    )
    assert built.exit_code == 0, built.output
    assert "wrote" in built.output and "weights used as stored" in built.output
    assert {"axis.json", "build.json", "class_positions.png", "layer_scores.png"} <= {
        p.name for p in out.iterdir()
    }

    checked = runner.invoke(
        app, ["validate", str(out), "--data", corpus, "--n-null", "200", "--n-boot", "200",
              "--no-progress"],
    )  # fmt: skip
    assert checked.exit_code == 0, checked.output
    saved = json.loads((out / "validation.json").read_text())
    auroc = saved["corpora"][0]["axis_layer"][0]
    assert auroc["metric"] == "auroc" and auroc["value"] > 0.95
    assert f"{auroc['value']:.3f}" in checked.output  # the table shows the saved number
    assert (out / "validation_layers.png").is_file()

    compared = runner.invoke(
        app, ["compare", llama, gpt2, "--stories", stories, "-o", str(tmp_path / "cmp"),
              "--no-progress"],
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output
    assert (tmp_path / "cmp" / "consistency.json").is_file()
    assert (tmp_path / "cmp" / "agreement.png").is_file()
    assert "mean off-diagonal Pearson" in compared.output


def test_errors_name_the_problem_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path), "--data", "x.csv"])
    assert result.exit_code == 2
    assert "build.json" in result.output and "vaxis axis build" in result.output
    result = runner.invoke(app, ["build", "-o", str(tmp_path), "--method", "nope"])
    assert result.exit_code == 2 and "mean_difference" in result.output
    result = runner.invoke(app, ["compare", "a", "b", "-o", str(tmp_path), "--positions", "x"])
    assert result.exit_code == 2


def test_command_parameters_map_onto_the_build_config(tmp_path: Path) -> None:
    """Build and compare share one mapping: config fields kept (paraphrases renamed, paths as
    strings), the command's own parameters (out, positions, progress) left out."""
    from vaxis.axis.cli import _config

    options = {"paraphrases": False, "batch_size": 4, "cache_dir": tmp_path, "method": "lda"}
    config = _config({**options, "out": tmp_path, "positions": "x", "progress": False})
    assert config.include_paraphrases is False and config.batch_size == 4
    assert config.method == "lda" and config.cache_dir == str(tmp_path)


def test_build_plan_sizes_the_extraction_and_loads_no_weights(
    tiny_model_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    from vaxis.axis.positions import faced_clips

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("weights were loaded for --plan")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", refuse)
    stories = str(write_stories(tmp_path / "stories.csv", paraphrases=3))  # 9 classes x 4 texts
    out = tmp_path / "axis"
    args = ["build", "-o", str(out), "--model", str(tiny_model_dirs["llama"]), "--plan"]
    result = runner.invoke(app, [*args, "--stories", stories], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    n_texts = 36 + len(faced_clips())
    # 20,704 parameters: the tiny llama's config (tests/axis/test_sizing.py); 3 states x width 32.
    assert "llama, 20,704 parameters, 2 layers x width 32" in text
    assert f"{n_texts} texts" in text and f"(3 x {n_texts} texts x 32 x 4 bytes)" in text
    assert "cpu, float32" in text and "1 chunk(s) of 3 layers" in text
    assert not out.exists()
