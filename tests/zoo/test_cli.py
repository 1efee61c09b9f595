"""`vaxis train`: a zoo of decoders x regimes x seeds through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.cohorts import write_cohort
from vaxis.data.synthetic import SynthConfig
from vaxis.decoders import DECODERS
from vaxis.zoo.cli import _decoders, app, parse_hyper

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cohort"), n_subjects=5, n_windows=20)


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


def test_other_settings_into_the_same_folder_are_refused_before_training(
    cohort_file: Path, tmp_path: Path
) -> None:
    args = [str(cohort_file), "--decoder", "linear", "--seeds", "0", "--epochs", "2",
            "--threads", "1", "--chance-refits", "0", "-o", str(tmp_path)]  # fmt: skip
    assert run(*args)[0] == 0
    metrics = tmp_path / "holdout/linear/plain/seed0/metrics.json"
    before = metrics.read_bytes()
    code, text = run(*args, "--lr", "0.01")
    assert code == 2, text
    assert "holdout/linear/plain/seed0/metrics.json" in text, text
    assert "holds the results of a different run" in text and "another output folder" in text
    assert "Traceback" not in text and "failed" not in text
    assert metrics.read_bytes() == before  # results are never overwritten
    assert run(*args)[0] == 0  # the folder still serves its own settings


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


@pytest.fixture(scope="module")
def faced_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SYNTHETIC raw FACED at 250 Hz in the official folder layout (Processed_data)."""
    from vaxis.data.synthetic_files import export_official

    root = tmp_path_factory.mktemp("faced") / "FACED"
    export_official(SynthConfig(n_subjects=4, n_windows=30, seed=0, raw=True), root)
    return root


TINY_CBRAMOD = [
    "--hyper",
    "depth=1",
    "--hyper",
    "width=50",
    "--hyper",
    "heads=2",
    "--hyper",
    "feedforward=64",
]  # fmt: skip  (patch_size=200: the weights' default)


@pytest.mark.slow
def test_train_fine_tunes_official_weights_on_250_hz_faced_resampled_to_200(
    faced_root: Path, tmp_path: Path
) -> None:
    """`vaxis train FACED_ROOT --decoder cbramod --weights W`: the raw EEG is read, resampled
    to 200 Hz, cut into 10-s segments of 10 one-second patches, and the run records it."""
    import hashlib

    import torch

    from tests.decoders.official_cbramod import official_backbone

    weights = tmp_path / "pretrained_weights.pth"
    torch.manual_seed(0)
    torch.save(official_backbone(width=50, depth=1, heads=2, feedforward=64).state_dict(), weights)
    args = [str(faced_root), "--decoder", "cbramod", "--weights", str(weights), *TINY_CBRAMOD,
            "--epochs", "1", "--threads", "1", "--chance-refits", "0"]  # fmt: skip
    code, text = run(*args, "-o", str(tmp_path / "runs"))
    assert code == 0, text
    assert "resampled 250 -> 200 Hz" in text
    (metrics,) = (tmp_path / "runs").rglob("metrics.json")
    report = json.loads(metrics.read_text())
    assert report["synthetic"] is True and report["sfreq"] == 200.0
    assert report["units"]["train"]["sample_shape"] == [32, 2000]
    assert report["config"]["hyper"]["patch_size"] == 200
    assert report["config"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert report["weights"]["layout"] == "encoder"
    assert "proj_out.0.weight" in report["weights"]["dropped"]
    code, text = run(*args, "--no-resample", "-o", str(tmp_path / "refused"))
    assert code == 2 and "data are at 250 Hz but the weights expect 200 Hz" in text


def test_weights_are_refused_by_name_for_decoders_that_cannot_take_them(
    cohort_file: Path, tmp_path: Path
) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"anything")
    code, text = run(str(cohort_file), "--decoder", "mlp", "--weights", str(weights),
                     "-o", str(tmp_path / "runs"))  # fmt: skip
    assert code == 2 and "decoder(s) mlp take no pretrained weights" in text and "cbramod" in text
    code, text = run(str(cohort_file), "--decoder", "mlp", "--weights", str(tmp_path / "no.pth"),
                     "-o", str(tmp_path / "runs"))  # fmt: skip
    assert code == 2 and "no.pth" in text
