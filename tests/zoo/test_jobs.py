"""The zoo's one job builder: `vaxis train`, the study's zoo and ``plan`` build the same jobs,
and only knobs that change a result (not at their defaults) enter a job's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cohorts import write_cohort
from vaxis.data.cohort import Cohort
from vaxis.study.config import StageSettings, StudyConfig
from vaxis.sweep import ResultStore
from vaxis.sweep.cost import Rates
from vaxis.zoo import ZooConfig, ZooSettings, plan
from vaxis.zoo.cli import app
from vaxis.zoo.jobs import plan_jobs, resolve

FIXED = Rates(cpu=1e9, gpu_peak=1e12)


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cohort"), n_subjects=6, n_windows=10)


def _keys(config: ZooConfig) -> dict[str, str]:
    resolved = resolve(config, Cohort.load(config.cohort))
    return {run.name: run.job.key() for run in plan_jobs(resolved)}


def _store_keys(out: Path) -> set[str]:
    return {record["key"] for record in ResultStore(out / "sweep").iter_results()}


def test_vaxis_train_runs_the_jobs_the_study_plans_for_the_same_settings(
    cohort_file: Path, tmp_path: Path
) -> None:
    settings = ZooSettings(decoders=("linear", "svm"), seeds=(0, 1), epochs=2, shuffled_null=False)
    study = StudyConfig(out=str(tmp_path / "study"), stages=StageSettings(zoo=settings))
    from vaxis.study.stages.zoo import plan_jobs as study_jobs

    planned = {job.key() for job in study_jobs(study, cohort_file, "faced9").values()}
    args = [str(cohort_file), "--decoder", "linear,svm", "--seeds", "0,1", "--epochs", "2",
            "--protocol", "holdout", "--threads", "1", "-o", str(tmp_path / "train")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert _store_keys(tmp_path / "train") == planned and len(planned) == 4
    rows = plan(ZooConfig(**settings.model_dump(), cohort=cohort_file), FIXED)
    assert {row["id"] for row in rows} == planned
    assert {(row["decoder"], row["seed"]) for row in rows} == {
        (d, s) for d in ("linear", "svm") for s in (0, 1)
    }


def test_runtime_knobs_leave_keys_alone_and_result_knobs_change_them(cohort_file: Path) -> None:
    base = ZooConfig(cohort=cohort_file, decoders=("mlp",), seeds=(0,))
    default = _keys(base)
    placed = base.model_copy(update={"device": "cpu", "threads": 1, "checkpoint_every": 5})
    assert _keys(placed) == default
    resolved = resolve(placed, Cohort.load(cohort_file))
    assert plan_jobs(resolved)[0].job.runtime == {
        "device": "cpu", "num_threads": 1, "checkpoint_every": 5
    }  # fmt: skip
    for change in ({"batch_size": 64}, {"unit": "window"}, {"hyper": {"mlp": {"hidden": [8]}}}):
        changed = _keys(base.model_copy(update=change))
        assert changed.keys() == default.keys()
        assert all(changed[k] != default[k] for k in default), change
    job = plan_jobs(resolve(base.model_copy(update={"batch_size": 64}), Cohort.load(cohort_file)))
    assert job[0].job.params["train"]["batch_size"] == 64
    assert (
        "batch_size"
        not in plan_jobs(resolve(base, Cohort.load(cohort_file)))[0].job.params["train"]
    )


def test_several_folds_are_named_by_fold_and_auto_resolves_on_the_cohort(
    cohort_file: Path,
) -> None:
    config = ZooConfig(
        cohort=cohort_file, decoders=("svm",), seeds=(0,), protocol="loso", folds="all"
    )
    resolved = resolve(config, Cohort.load(cohort_file))
    runs = plan_jobs(resolved)
    assert resolved.folds == tuple(range(6)) and resolved.task == "faced9"
    assert [r.name for r in runs] == [f"fold{k}/svm/plain/seed0" for k in range(1, 7)]
    assert [r.job.params["fold"] for r in runs] == list(range(6))
    auto = resolve(config.model_copy(update={"protocol": "auto"}), Cohort.load(cohort_file))
    assert auto.protocol == "holdout"  # not all 123 FACED subjects
    with pytest.raises(ValueError, match="resolve"):
        plan_jobs(config)


def test_a_weights_file_is_fingerprinted_into_the_key(cohort_file: Path, tmp_path: Path) -> None:
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"one")
    config = ZooConfig(cohort=cohort_file, decoders=("cbramod",), seeds=(0,), weights=weights)
    before = _keys(config)
    weights.write_bytes(b"two")
    assert _keys(config) != before
    job = plan_jobs(resolve(config, Cohort.load(cohort_file)))[0].job
    assert json.loads(job.data_fingerprint).keys() == {"cohort", "weights"}
