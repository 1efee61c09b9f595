"""`vaxis align` through typer's test runner: tables, labels, files, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cohorts import write_cohort, write_official_twins
from vaxis.align.cli import app
from vaxis.align.report import STUDY_TEST, SUBJECT_TEST

runner = CliRunner()
SMALL = ["--positions", "truth", "--decoder", "mlp", "--hyper", '{"hidden": [32]}',
         "--epochs", "3", "--batch-size", "32", "--lr", "0.01", "--seeds", "0,1",
         "--executor", "serial", "--threads", "1"]  # fmt: skip


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture(scope="module")
def cohort_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cohort"))


def test_align_prints_both_tests_and_writes_the_report(cohort_path: Path, tmp_path: Path) -> None:
    arms = "aux-mse-0.5,rsa-5/label-smoothing"
    weight = ["--weight", "rsa-5=2.5"]
    code, text = run(
        str(cohort_path), *SMALL, "--interventions", arms, *weight, "-o", str(tmp_path)
    )
    assert code == 0, text
    assert "loss weights: aux-mse-0.5 0.5, rsa-5/label-smoothing 2.5" in text
    assert "SYNTHETIC DATA" in text
    assert SUBJECT_TEST in text and STUDY_TEST in text  # the report's two tables
    assert "3 test subjects" in text and "2 seeds" in text
    assert text.count("study: 0 / 9 / 16 of 25") == 2  # beside each table's counts
    assert text.count("│ rsa-5/label-smoothing │") == 2 and "│ baseline" not in text
    saved = json.loads((tmp_path / "align.json").read_text())
    names = [row["name"] for row in saved["by_subject"]["rows"]]
    assert names == ["aux-mse-0.5", "rsa-5/label-smoothing"]
    assert saved["by_subject"]["correction"] == "holm"
    assert saved["weights"] == {"baseline": None, "aux-mse-0.5": 0.5, "rsa-5/label-smoothing": 2.5}
    assert (tmp_path / "forest_subjects.svg").exists() and (tmp_path / "forest_seeds.png").exists()
    code, text = run(
        str(cohort_path), *SMALL, "--interventions", arms, *weight, "-o", str(tmp_path)
    )
    assert code == 0 and "6 jobs, 6 already done, 0 to run" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interventions", "no-such"], "unknown intervention"),
        (["--controls", "shuffled"], "invalid settings"),
        (["--seeds", "3"], "two distinct seeds"),
        (["--hyper", "{hidden"], "error"),
        (["--protocol", "loso", "--fold", "99"], "has 16 folds"),
        (["--weight", "rsa-5"], "--weight 'rsa-5': not NAME=WEIGHT (allowed: NAME=WEIGHT, e.g."),
        (["--weight", "rsa-5=big"], "not NAME=WEIGHT"),
        (["--weight", "no-such=1"], "weight for unknown intervention 'no-such'"),
        (["--weight", "rsa-5=-2"], "rsa-5=-2 is not allowed (allowed: a finite weight > 0)"),
        (["--executor", "dask"], "invalid settings"),
        (["--address", "ray://head:10001"], "an address is for the ray executor"),
    ],
)
def test_bad_settings_exit_with_a_message(
    cohort_path: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    code, text = run(str(cohort_path), *SMALL, *args, "-o", str(tmp_path))
    assert code == 2 and message in text, text
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_an_official_faced_folder_is_read_as_its_cohort_file_is(tmp_path: Path) -> None:
    """`vaxis align FACED_ROOT` as `vaxis train` takes it: read once into OUT/data, with the
    same results as the cohort file holding the same EEG; `vaxis saturation` on either align
    output (its ablation reads the EEG align read) reports the same numbers."""
    from vaxis.saturation.cli import app as saturation_app

    root, cohort_file = write_official_twins(tmp_path, n_subjects=16)
    args = [*SMALL, "--positions", "classes", "--interventions", "aux-mse-0.5", "--epoch-probe"]
    reports = []
    for name, source in (("folder", root), ("file", cohort_file)):
        code, text = run(str(source), *args, "-o", str(tmp_path / name))
        assert code == 0, text
        reports.append(json.loads((tmp_path / name / "align.json").read_text()))
    assert next((tmp_path / "folder" / "data").iterdir()).name.startswith("faced-")
    assert reports[0]["by_subject"]["rows"] == reports[1]["by_subject"]["rows"]
    saturations = []
    for name in ("folder", "file"):
        out = tmp_path / f"saturation-{name}"
        argv = [str(tmp_path / name), "-o", str(out), "--bootstrap", "100", "--nulls", "4"]
        result = runner.invoke(saturation_app, argv)
        assert result.exit_code == 0, result.output
        record = json.loads((out / "saturation.json").read_text())
        saturations.append({k: v for k, v in record.items() if k not in ("config", "files")})
    assert saturations[0]["n_runs"] == 4 and saturations[0]["ablation"]
    assert saturations[0] == saturations[1]
