"""The paper smoke run (``--preset paper --smoke``), reduced (tests/study/smoke_run.py): killed
at a random point after some jobs are recorded, resumed, it loses and repeats no job; its
results carry the plan's n and say SMOKE everywhere training was cut; the report renders."""

from __future__ import annotations

import html
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.study.chromium import check_page
from tests.study.smoke_run import INTERVENTIONS, SEEDS, STAGES, reduced
from tests.study.truth_axis import _positions as positions_file
from tests.study.truth_axis import truth_axis
from vaxis.study.plan import make_plan
from vaxis.study.results import SMOKE_PREFIX, SMOKE_WARNING, schema
from vaxis.sweep.store import recorded_jobs

pytestmark = pytest.mark.slow
#: the training stages and the one that reads their runs: every figure of these says SMOKE
SMOKED = ("zoo", "align", "saturation", "ensemble")


def _smoke_run(out: Path) -> tuple[list[str], dict[str, str]]:
    """The command of the reduced smoke run, and its environment (this process's imports)."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    return [sys.executable, "-m", "tests.study.smoke_run", str(out)], env


@pytest.fixture(scope="module")
def resumed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The reduced smoke run, SIGKILLed once after a random number of recorded jobs, resumed;
    returns its out folder, the recorded jobs at the kill and after the resume, and the plan."""
    out = tmp_path_factory.mktemp("smoke") / "paper-smoke"
    cmd, env = _smoke_run(out)
    target = random.Random().randint(3, 25)  # a random point: zoo, align or ensemble
    run = subprocess.Popen(cmd, env=env, start_new_session=True)
    deadline = time.monotonic() + 600
    while len(recorded_jobs(out)) < target and time.monotonic() < deadline:
        assert run.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    at_kill = recorded_jobs(out)
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=900)
    with truth_axis(), pytest.MonkeyPatch.context() as patch:
        patch.setattr("vaxis.study.stages.axis.axis_dir", positions_file)  # what the run read
        plan = make_plan(reduced(out), STAGES)
    return out, {"target": target, "at_kill": at_kill, "final": recorded_jobs(out)}, plan


def test_a_killed_smoke_run_resumes_without_losing_or_repeating_a_job(
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    _, jobs, plan = resumed
    at_kill, final = jobs["at_kill"], jobs["final"]
    planned = {job["id"] for stage in plan["stages"] for job in stage["jobs"]}
    assert jobs["target"] <= len(at_kill) < len(planned), "the kill left no work undone"
    assert set(final) == planned  # none lost, none extra
    assert all(final[key] == when for key, when in at_kill.items())  # none run again
    counts = {stage["name"]: stage["n_jobs"] for stage in plan["stages"] if stage["jobs"]}
    zoo = 1 * 3 * 6 + 1  # axial x regimes x the paper's six variants, and the shuffled null
    align = (1 + len(INTERVENTIONS)) * len(SEEDS)
    assert counts["zoo"] == zoo and counts["align"] == align
    assert plan["smoke"] and all(
        j["epochs"] in (100, 150) for s in plan["stages"] for j in s["jobs"]
    )


def test_the_results_carry_the_plans_n_and_say_smoke(
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, plan = resumed
    record = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(schema()).validate(record)
    assert record["smoke"] and SMOKE_WARNING in record["warning"]
    stages = {s["name"]: s for s in record["stages"]}
    n_test = len(plan["protocol"]["test_subjects"])
    for name in SMOKED:
        assert stages[name]["notes"][0] == SMOKE_WARNING
        assert stages[name]["figures"], f"{name} reports no figure"
        for figure in stages[name]["figures"].values():
            assert figure["protocol"].startswith(SMOKE_PREFIX)
    assert not any(
        f["protocol"].startswith(SMOKE_PREFIX) for f in stages["axis"]["figures"].values()
    )
    align = stages["align"]["figures"]
    by_subject = [f for k, f in align.items() if "(subject" in k]
    by_seed = [f for k, f in align.items() if "(seed" in k]
    assert len(by_subject) == len(by_seed) == len(INTERVENTIONS)
    assert {f["n"] for f in by_subject} == {n_test} and {f["n"] for f in by_seed} == {len(SEEDS)}
    rediscovery = next(t for t in stages["zoo"]["tables"] if t["title"].startswith("rediscovery"))
    assert len(rediscovery["rows"]) == 1 * 3 * 6  # every checkpoint (the paper's 36 / 2 archs)
    pool = len(SEEDS) * 2  # seeds x the paper's two epoch counts
    assert stages["ensemble"]["notes"][1].startswith(f"{pool} pool members")
    for figure in stages["ensemble"]["figures"].values():
        assert figure["n"] == n_test


def test_the_smoke_report_renders_and_says_smoke(
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, _ = resumed
    page = check_page(out / "report.html")
    assert page.images and all(page.images) and page.console == []
    assert html.escape(SMOKE_WARNING) in (out / "report.html").read_text()  # the banner
