"""``vaxis.zoo.run``: the runs it plans, their metrics.json and the report it returns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.cohorts import write_cohort
from vaxis.core.runs import read_metrics
from vaxis.core.stage import StageReport
from vaxis.zoo import ZooConfig, run
from vaxis.zoo.report import accuracy_figures


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cohort"), n_subjects=10)


def _config(cohort: Path, out: Path, **changes: object) -> ZooConfig:
    settings: dict[str, object] = {
        "cohort": cohort, "decoders": ("linear",), "seeds": (0, 1), "epochs": 2,
        "chance_refits": 0, "threads": 1, "executor": "serial", "out": out,
    }  # fmt: skip
    return ZooConfig.model_validate(settings | changes)


def test_the_report_holds_the_figures_of_the_planned_runs_and_the_probe(
    cohort_file: Path, tmp_path: Path
) -> None:
    report = run(_config(cohort_file, tmp_path, positions="truth", probe_nulls=5,
                         probe_bootstrap=5))  # fmt: skip
    assert isinstance(report, StageReport) and report.synthetic
    assert list(report.results) == [
        "linear/plain/seed0", "linear/plain/seed1", "linear/shuffled-labels/seed0"
    ]  # fmt: skip
    per_subject = [r["test"]["per_subject_balanced_accuracy"] for r in report.results.values()]
    figure = report.figures()["test balanced accuracy linear/plain"]
    means = [np.mean([run[s] for run in per_subject[:2]]) for s in sorted(per_subject[0])]
    assert figure.value == pytest.approx(np.mean(means)) and figure.n == len(means)
    assert figure.synthetic and "nominal chance 1/K = 0.111" in figure.protocol
    expected, _ = accuracy_figures(report.results, 1 / 9, synthetic=True)
    assert {k: f for k, f in report.figures().items() if k in expected} == expected
    assert any(name.startswith("probe ") for name in report.figures())
    titles = [t.title for t in report.tables()]
    assert titles[0] == "decoder zoo: test balanced accuracy" and titles[-1].startswith(
        "rediscovery"
    )
    rediscovered = report.tables()[-1].rows
    assert [row[0] for row in rediscovered] == ["linear/plain/seed0", "linear/plain/seed1"]
    assert all(Path(p.png).exists() for p in report.plots()) and report.plots()
    assert json.loads(json.dumps(report.to_json()))["runs"].keys() == report.results.keys()
    assert report.sweep.succeeded == 3
    again = run(_config(cohort_file, tmp_path, positions="truth", probe_nulls=5,
                        probe_bootstrap=5))  # fmt: skip
    assert again.sweep.already_done == 3 and again.figures() == report.figures()


def test_a_zoo_run_records_its_protocol_in_metrics_json(cohort_file: Path, tmp_path: Path) -> None:
    config = _config(cohort_file, tmp_path, decoders=("svm",), seeds=(0,),
                     protocol="subject-kfold", folds=(1,))  # fmt: skip
    report = run(config)
    (folder,) = report.folders.values()
    metrics = read_metrics(folder)
    assert metrics["protocol"] == "subject-kfold" and metrics["split"] == "subject-10fold02"
    assert report.splits == {"svm/plain/seed0": "subject-10fold02"}
    labelled = run(config.model_copy(update={"run_folders": "labels", "out": tmp_path / "l"}))
    assert labelled.folders["svm/plain/seed0"] == tmp_path / "l/subject-10fold02/svm/plain/seed0"
    assert read_metrics(labelled.folders["svm/plain/seed0"])["protocol"] == "subject-kfold"


def test_the_nominal_chance_is_that_of_the_task(cohort_file: Path, tmp_path: Path) -> None:
    """1/K beside each figure is the task's: 1/2 for the binary valence task on FACED's nine
    classes, 1/9 for faced9."""
    binary = run(_config(cohort_file, tmp_path, seeds=(0,), epochs=1, task="binary"))
    figure = binary.figures()["test balanced accuracy linear/plain"]
    assert binary.chance == 0.5 and "nominal chance 1/K = 0.500" in figure.protocol
    assert binary.results["linear/plain/seed0"]["inputs"]["task"] == "binary"
