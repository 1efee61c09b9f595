"""The Ray executor: the same stored results as the other executors, one thread per job, and a
killed driver resumes without re-running finished jobs.

Ray is an optional extra: without it these tests are skipped on a developer's machine, but
under CI (the variable ``CI`` set) a missing Ray fails them.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.sweep.test_runner import _kill_when, _starts
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.sweep import Job, LocalExecutor, ResultStore, SerialExecutor, grid, run_sweep
from vaxis.sweep.executors import THREAD_VARIABLES, Executor
from vaxis.sweep.jobs import job_kind
from vaxis.sweep.ray_executor import RayExecutor

if os.environ.get("CI"):
    ray = importlib.import_module("ray")  # CI must run these tests: a missing Ray fails
else:
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'vaxis[ray]'")

N_JOBS = 8
SWEEP = """
import sys
import ray
from vaxis.sweep import grid, run_sweep
from vaxis.sweep.executors import make_executor
root, log, n, address = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] or None
jobs = grid("sleep", {"seconds": 0.4, "log": log}, tag=list(range(n)))
summary = run_sweep(jobs, root, make_executor("ray", 2, address), progress=False)
counts = summary.already_done, summary.succeeded, summary.busy, summary.complete
print(*map(int, counts), int(ray.is_initialized()))
"""


@job_kind("test-ray-threads")
def threads_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """What a Ray worker sees: its thread settings and its process."""
    import torch
    from threadpoolctl import threadpool_info

    pools = sorted({pool["num_threads"] for pool in threadpool_info()})
    omp = os.environ["OMP_NUM_THREADS"]
    return {"torch": torch.get_num_threads(), "omp": omp, "pools": pools, "pid": os.getpid()}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray instance for the tests of this module (start-up takes seconds); a
    RayExecutor finds it initialised and leaves it running. Its workers start with two
    threads everywhere, so that only the executor's pinning can give a job one."""
    with pytest.MonkeyPatch.context() as patch:
        for name in THREAD_VARIABLES:
            patch.setenv(name, "2")
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _deterministic(result: dict[str, Any]) -> dict[str, Any]:
    """A stored result without its timings (the only fields that may differ between runs)."""
    if "training" not in result:
        return result
    training = {k: v for k, v in result["training"].items() if k != "samples_per_second"}
    training["history"] = [
        {k: v for k, v in epoch.items() if not k.endswith("_seconds")}
        for epoch in training["history"]
    ]
    return {**result, "training": training}


@pytest.mark.slow
def test_every_executor_stores_the_same_results(local_ray: None, tmp_path: Path) -> None:
    cohort, _ = synthesize_features(SynthConfig(n_subjects=6, n_windows=4, seed=1))
    path = cohort.save(tmp_path / "cohort.h5")
    train = {"decoder": "linear", "epochs": 2, "batch_size": 32, "warmup_epochs": 0}
    base = {"cohort": str(path), "split": "holdout", "train": train, "inputs": {"unit": "window"}}
    jobs: list[Job] = grid("sleep", {"seconds": 0.0}, tag=[0, 1, 2]) + grid("train", base)
    executors: dict[str, Executor] = {
        "serial": SerialExecutor(),
        "local": LocalExecutor(1),
        "ray": RayExecutor(workers=2),
    }
    stored: dict[str, dict[str, dict[str, Any]]] = {}
    for name, executor in executors.items():
        summary = run_sweep(jobs, tmp_path / name, executor, progress=False)
        assert summary.complete and summary.succeeded == len(jobs), name
        records = ResultStore(tmp_path / name).iter_results()
        stored[name] = {r["key"]: _deterministic(r["result"]) for r in records}
    assert set(stored["serial"]) == {job.key() for job in jobs}
    assert stored["local"] == stored["serial"]
    assert stored["ray"] == stored["serial"]
    trained = stored["ray"][jobs[-1].key()]
    assert trained["training"]["history"][-1]["train_loss"] > 0  # it really trained
    assert ray.is_initialized()  # the executor left the caller's Ray running


def test_ray_jobs_run_with_one_thread_per_cpu(local_ray: None, tmp_path: Path) -> None:
    """The job reports its own thread settings; a failing job is recorded, not lost."""
    jobs = grid("sleep", {"fail": True}, tag=[0]) + grid("test-ray-threads", {}, i=[0])
    summary = run_sweep(jobs, tmp_path / "one", RayExecutor(workers=2), progress=False)
    assert (summary.succeeded, len(summary.failed), summary.lost) == (1, 1, 0)
    assert "asked to fail" in summary.failed[jobs[0].key()]
    record = ResultStore(tmp_path / "one").get(jobs[1].key())
    assert record is not None
    assert record["result"] == {"torch": 1, "omp": "1", "pools": [1], "pid": record["pid"]}
    assert record["pid"] != os.getpid()  # it ran in a Ray worker, not here

    wide = grid("test-ray-threads", {}, i=[1])
    run_sweep(wide, tmp_path / "two", RayExecutor(num_cpus_per_job=2), progress=False)
    record = ResultStore(tmp_path / "two").get(wide[0].key())
    assert record is not None and (record["result"]["torch"], record["result"]["omp"]) == (2, "2")


@pytest.mark.slow
def test_align_runs_on_ray_as_in_one_process(local_ray: None, tmp_path: Path) -> None:
    """`vaxis align --executor ray`: Ray workers import the ``align`` job kind and train what
    one process trains."""
    from tests.align.test_stage import small_config
    from tests.cohorts import write_cohort
    from vaxis import align

    cohort = write_cohort(tmp_path)
    name = "distance-ce-tau5"  # acts on the linear decoder's logits
    arms: dict[str, Any] = {"decoder": "linear", "hyper": {}, "controls": (),
                            "interventions": (name,), "weights": {name: 30.0}}  # fmt: skip
    serial = align.run(small_config(cohort, tmp_path / "serial", **arms))
    on_ray = align.run(small_config(cohort, tmp_path / "ray", executor="ray", workers=2, **arms))
    assert on_ray.sweep.succeeded == 4
    assert on_ray.by_subject.to_dict() == serial.by_subject.to_dict()
    assert on_ray.by_seed.to_dict() == serial.by_seed.to_dict()
    assert on_ray.by_seed.rows[0].mean_delta < -0.05  # the weight reached the Ray workers too


@pytest.mark.slow
def test_a_killed_ray_driver_resumes_without_repeating_finished_jobs(
    local_ray: None, tmp_path: Path
) -> None:
    """The killed driver joined this module's Ray by its address; the one that resumes starts
    its own instance and shuts it down. The cluster outlives the killed driver."""
    root, log = tmp_path / "store", tmp_path / "starts.log"
    cmd = [sys.executable, "-c", SWEEP, str(root), str(log), str(N_JOBS)]
    address = ray.get_runtime_context().gcs_address
    sweep = subprocess.Popen([*cmd, address], start_new_session=True, stdout=subprocess.PIPE)
    _kill_when(sweep, root, 3)
    finished = {r["result"]["params"]["tag"] for r in ResultStore(root).iter_results()}
    assert 3 <= len(finished) < N_JOBS  # the kill left work undone
    final = subprocess.run([*cmd, ""], capture_output=True, text=True, check=True, timeout=120)
    already, succeeded, busy, complete, still_up = map(int, final.stdout.split())
    assert complete and busy == 0
    assert not still_up  # the executor shut down the instance it had started
    # a Ray worker may outlive its driver by a moment and finish the job it was running
    assert already >= len(finished) and already + succeeded == N_JOBS

    records = list(ResultStore(root).iter_results(None))
    assert len(records) == N_JOBS and all(r["status"] == "ok" for r in records)
    ends = {r["result"]["params"]["tag"]: r["finished"] for r in records}
    starts = _starts(log)
    for tag, times in starts.items():
        assert max(times) < ends[tag], f"job {tag} started again after it had finished"
    assert all(len(starts[tag]) == 1 for tag in finished)  # finished before the kill: not re-run
    assert not list((root / "locks").glob("*.lock"))
    after = run_sweep(grid("sleep", {}, i=[0]), tmp_path / "after", RayExecutor(), progress=False)
    assert after.succeeded == 1  # the cluster the killed driver had joined still runs jobs
