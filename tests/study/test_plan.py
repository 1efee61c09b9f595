"""``vaxis study --plan``: every job the stages will run, with FLOP counts from a formula, the
study's protocol, a schema-valid plan.json, and a refusal above ``--max-hours``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from vaxis.study.config import DataSettings, StageSettings, StudyConfig, ZooSettings
from vaxis.study.plan import make_plan, schema, too_costly
from vaxis.study.presets import paper
from vaxis.sweep.cost import DEFAULT_GPU_TFLOPS, GPU_UTILISATION, calibrate

#: a fixed calibration (1 GFLOP/s) so the tests do not time anything
FIXED: dict[str, Any] = {
    "model": "fixed for the test",
    "steps": 1,
    "seconds": 1.0,
    "flops_per_step": 10**9,
    "flops_per_second": 1e9,
}


def small(tmp_path: Path) -> StudyConfig:
    """A 12-subject synthetic cohort; a linear zoo of 2 seeds x 3 epochs; no ensemble."""
    zoo = ZooSettings(decoders=("linear",), seeds=(0, 1), epochs=3, shuffled_null=False)
    stages = StageSettings(zoo=zoo, ensemble={"enabled": False})  # type: ignore[arg-type]
    return StudyConfig(out=str(tmp_path / "out"), data=DataSettings(subjects=12), stages=stages)


def test_linear_jobs_cost_what_the_formula_says(tmp_path: Path) -> None:
    plan = make_plan(small(tmp_path), ["zoo"], calibration=FIXED)
    jsonschema.validate(plan, schema())
    zoo = next(s for s in plan["stages"] if s["name"] == "zoo")
    assert zoo["n_jobs"] == 2 and zoo["keys_pending"] is None
    protocol = plan["protocol"]
    n_val_subjects, n_test_subjects = len(protocol["val_subjects"]), len(protocol["test_subjects"])
    assert not set(protocol["train_subjects"]) & set(protocol["test_subjects"])
    per_subject = 28 * 3  # 28 clips x three 10-s segments of 30 s
    forward = 2 * (32 * 5) * 9  # one multiply-add per weight; the bias is not a product
    for job in zoo["jobs"]:
        n_train = job["n_train"]
        assert n_train == len(protocol["train_subjects"]) * per_subject
        n_val, n_test = n_val_subjects * per_subject, n_test_subjects * per_subject
        # training: forward + weight gradient (the input needs none) = 2 x forward
        # then the test part (the selected epoch's validation pass is reused)
        expected = 3 * (n_train * 2 * forward + n_val * forward) + n_test * forward
        assert job["flops"] == expected
        assert job["cpu_seconds"] == pytest.approx(expected / 1e9)
        assert job["gpu_seconds"] == pytest.approx(
            expected / (DEFAULT_GPU_TFLOPS * 1e12 * GPU_UTILISATION)
        )
        assert (job["decoder"], job["regime"], job["epochs"]) == ("linear", "plain", 3)
    assert {j["seed"] for j in zoo["jobs"]} == {0, 1}
    assert zoo["flops"] == sum(j["flops"] for j in zoo["jobs"])


def test_the_ids_are_the_keys_the_zoo_stage_runs(tmp_path: Path) -> None:
    from vaxis.study.registry import StudyContext
    from vaxis.study.stages.data import cohort_path
    from vaxis.study.stages.zoo import plan_jobs

    config = small(tmp_path)
    plan = make_plan(config, ["zoo"], calibration=FIXED)
    path = cohort_path(config, StudyContext(out=Path(config.out), progress=False))
    keys = {job.key() for job in plan_jobs(config, path, "faced9").values()}
    ids = {j["id"] for s in plan["stages"] for j in s["jobs"]}
    assert ids == keys and len(keys) == 2
    assert not (Path(config.out) / "stages" / "zoo").exists()  # nothing trained


def test_align_ids_wait_for_the_axis_and_count_the_baseline(tmp_path: Path) -> None:
    plan = make_plan(small(tmp_path), ["align"], calibration=FIXED)
    align = next(s for s in plan["stages"] if s["name"] == "align")
    assert align["keys_pending"] and all(j["id"] is None for j in align["jobs"])
    arms = {j["intervention"] for j in align["jobs"]}
    assert arms == {"baseline", *StudyConfig().stages.align.interventions}
    assert align["n_jobs"] == len(arms) * 2  # two seeds


def test_more_hours_than_allowed_is_refused_naming_the_costliest_stage(tmp_path: Path) -> None:
    plan = make_plan(small(tmp_path), ["zoo"], calibration=FIXED)
    hours = plan["estimate"]["cpu_seconds"] / 3600
    assert too_costly(plan, hours * 2) is None
    problem = too_costly(plan, hours / 2)
    assert problem is not None and "zoo" in problem and "--max-hours" in problem


def test_calibration_is_bounded_by_its_step_budget_and_measures_a_positive_rate() -> None:
    """Its time is bounded by steps, not by a clock read here (timings belong in bench/)."""
    shortest = calibrate(seconds=0.0, max_steps=3)
    assert shortest["steps"] == 2  # the minimum: a time budget of 0 still times two steps
    capped = calibrate(seconds=3600.0, max_steps=3)
    assert capped["steps"] == 3  # the step cap ends it long before the time budget
    for found in (shortest, capped):
        assert found["seconds"] > 0 and found["flops_per_second"] > 1e8


@pytest.mark.slow
def test_the_paper_plan_on_a_faced_sized_cohort(tmp_path: Path) -> None:
    """123 synthetic FACED subjects: the study's split and n, in under 2 minutes."""
    config = paper().model_copy(update={"out": str(tmp_path / "paper")})
    plan = make_plan(config)  # its time (target: under 2 minutes) is bench/bench_plan.py's
    jsonschema.validate(plan, schema())
    protocol = plan["protocol"]
    assert protocol["name"] == "study"
    assert protocol["train_subjects"] == list(range(80))
    assert protocol["val_subjects"] == list(range(80, 100))
    assert protocol["test_subjects"] == list(range(100, 123))
    stages = {s["name"]: s for s in plan["stages"]}
    zoo = [j for j in stages["zoo"]["jobs"] if j["regime"] != "shuffled"]
    assert len(zoo) == 36 and {j["decoder"] for j in zoo} == {"cbramod-de", "axial"}
    assert {j["n_train"] for j in zoo} == {80 * 28 * 3}
    assert stages["align"]["n_jobs"] == 25 * 5  # baseline + 24 interventions, 5 seeds
    assert {j["epochs"] for j in stages["align"]["jobs"]} == {100}
    pool = [j for j in stages["ensemble"]["jobs"] if j["label"].startswith("d6-")]
    assert len(pool) == 10 and {j["epochs"] for j in pool} == {100, 150}
    assert stages["ensemble"]["n_jobs"] == 10 + 3 * 5  # the cascade's depth-6 step is the pool's
    assert plan["estimate"]["cpu_seconds"] > 100 * 3600  # hundreds of CPU-hours, as measured


@pytest.mark.slow
def test_the_cli_writes_the_plan_and_refuses_above_max_hours(tmp_path: Path) -> None:
    from vaxis.study.cli import study

    app = typer.Typer()
    app.command()(study)
    config = small(tmp_path)
    path = tmp_path / "small.toml"
    path.write_text(
        f'out = "{config.out}"\n[data]\nsubjects = 12\n[stages.zoo]\ndecoders = ["linear"]\n'
        "epochs = 3\nshuffled_null = false\n[stages.ensemble]\nenabled = false\n"
    )
    env = {"COLUMNS": "200"}
    run = CliRunner().invoke(app, [str(path), "--plan", "--stages", "zoo"], env=env)
    assert run.exit_code == 0, run.output
    assert (Path(config.out) / "plan.json").is_file() and "linear" in run.output
    assert not (Path(config.out) / "stages" / "zoo").exists()
    refused = CliRunner().invoke(
        app, [str(path), "--max-hours", "0", "--stages", "zoo", "--no-progress"], env=env
    )
    assert refused.exit_code == 2 and "costliest stages: zoo" in refused.output
    assert not (Path(config.out) / "stages" / "zoo").exists()
