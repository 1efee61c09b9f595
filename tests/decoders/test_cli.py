"""`vaxis train`: a zoo of decoders x regimes x seeds through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders import DECODERS
from vaxis.decoders.cli import _decoders, app, parse_hyper

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cohort") / "s.cohort.h5"
    synthesize_features(SynthConfig(n_subjects=5, n_windows=20, seed=0))[0].save(path)
    return path


def test_a_small_zoo_writes_one_folder_per_run_and_reruns_skip(
    cohort_file: Path, tmp_path: Path
) -> None:
    args = [
        str(cohort_file),
        "--decoder",
        "linear,svm",
        "--regimes",
        "plain,aug",
        "--seeds",
        "0,1",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--unit",
        "segment",
        "--segment-seconds",
        "10",
        "--chance-refits",
        "0",
        "-o",
        str(tmp_path),
    ]  # fmt: skip  (refits: tests/decoders/test_chance_cli.py)
    code, text = run(*args)
    assert code == 0, text
    assert "SYNTHETIC DATA" in text and "holdout" in text
    runs = sorted(p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("metrics.json"))
    assert runs == [
        "holdout/linear/aug/seed0",
        "holdout/linear/aug/seed1",
        "holdout/linear/plain/seed0",
        "holdout/linear/plain/seed1",
        "holdout/svm/plain/seed0",
        "holdout/svm/plain/seed1",
    ]  # a closed-form SVM has no augmentation regime
    report = json.loads((tmp_path / "holdout/linear/aug/seed1/metrics.json").read_text())
    assert report["config"]["augmentation"]["p"] == 0.6 and report["config"]["seed"] == 1
    assert report["config"]["epochs"] == 2 and report["inputs"]["task"] == "faced9"
    code, text = run(*args)
    assert code == 0 and "6 run(s) were done before" in text


def test_bad_names_are_reported_with_the_choices(cohort_file: Path, tmp_path: Path) -> None:
    code, text = run(str(cohort_file), "--decoder", "nope", "-o", str(tmp_path))
    assert code != 0 and "linear" in text
    code, text = run(str(cohort_file), "--protocol", "nope", "-o", str(tmp_path))
    assert code != 0 and "subject-kfold" in text
    code, text = run(str(cohort_file), "--task", "seedv5", "-o", str(tmp_path))
    assert code == 2 and "seedv5" in text


def test_hyper_parameters_parse_as_json_and_can_target_one_decoder() -> None:
    items = ["hidden=[64,32]", "dropout=0.1", "resmlp.width=32", "act=gelu"]
    assert parse_hyper(items, "mlp") == {"hidden": [64, 32], "dropout": 0.1, "act": "gelu"}
    assert parse_hyper(items, "resmlp")["width"] == 32


def test_all_means_every_decoder_for_the_cohorts_kind_of_input() -> None:
    de = _decoders("all", "de")
    assert {"linear", "mlp", "resmlp", "svm"} <= set(de)
    assert all(DECODERS[n].input_kind == "de" for n in de if n in DECODERS)
    assert "svm" not in _decoders("all", "raw")
    with pytest.raises(typer.BadParameter, match="take DE features"):
        _decoders("linear", "raw")
