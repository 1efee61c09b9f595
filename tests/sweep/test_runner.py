"""The runner: resumes after SIGKILL without losing or re-running finished jobs, shares a store
between concurrent sweeps, records failures, and gives the same results on every executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.experiment import InputConfig, run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.sweep import (
    LocalExecutor,
    ResultStore,
    SerialExecutor,
    SweepSummary,
    grid,
    job_kind,
    run_sweep,
)

N_JOBS = 12
SWEEP = """
import sys
from vaxis.sweep import LocalExecutor, SerialExecutor, grid, run_sweep
root, log, workers, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
jobs = grid("sleep", {"seconds": seconds, "log": log}, tag=list(range(int(sys.argv[5]))))
executor = LocalExecutor(workers) if workers else SerialExecutor()
summary = run_sweep(jobs, root, executor, progress=False)
print(summary.succeeded, summary.busy, summary.complete)
"""


@job_kind("test-threads")
def threads_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """What a worker sees: its thread settings."""
    import torch
    from threadpoolctl import threadpool_info

    pools = sorted({pool["num_threads"] for pool in threadpool_info()})
    return {"torch": torch.get_num_threads(), "omp": os.environ["OMP_NUM_THREADS"], "pools": pools}


@job_kind("test-interrupt")
def interrupt_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Ctrl-C once: the first job that finds the flag file removes it and is interrupted."""
    flag = Path(params["flag"])
    if params["tag"] == 2 and flag.exists():
        flag.unlink()
        raise KeyboardInterrupt
    return {"tag": params["tag"]}


def _sweep(root: Path, log: Path, workers: int, seconds: float, n: int = N_JOBS) -> list[str]:
    return [sys.executable, "-c", SWEEP, str(root), str(log), str(workers), str(seconds), str(n)]


def _starts(log: Path) -> dict[int, list[float]]:
    starts: dict[int, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        _, tag, when = line.split()
        starts[int(tag)].append(float(when))
    return starts


def _n_results(root: Path) -> int:
    return len(list((root / "results").glob("*/*.json")))


def _kill_when(sweep: subprocess.Popen[bytes], root: Path, n_results: int) -> int:
    """SIGKILL the sweep (its workers too) once ``n_results`` results exist."""
    deadline = time.monotonic() + 60
    while _n_results(root) < n_results and time.monotonic() < deadline:
        assert sweep.poll() is None, "the sweep ended before it could be killed"
        time.sleep(0.02)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    return _n_results(root)


def test_killed_sweeps_resume_without_losing_or_repeating_jobs(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    cmd = _sweep(tmp_path / "store", log, workers=2, seconds=0.3)
    after_kills = []
    for target in (3, 7):  # kill twice, with jobs running
        sweep = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE)
        after_kills.append(_kill_when(sweep, tmp_path / "store", target))
    assert 3 <= after_kills[0] < after_kills[1] < N_JOBS  # each kill left work undone
    final = subprocess.run(cmd, capture_output=True, text=True, check=True)
    succeeded, busy, complete = final.stdout.split()
    assert complete == "True" and busy == "0"
    assert int(succeeded) == N_JOBS - after_kills[1]  # only the unfinished ones ran

    store = ResultStore(tmp_path / "store")
    records = list(store.iter_results(None))
    assert len(records) == N_JOBS and all(r["status"] == "ok" for r in records)
    finished = {r["result"]["params"]["tag"]: r["finished"] for r in records}
    assert sorted(finished) == list(range(N_JOBS))  # one completion per job
    starts = _starts(log)
    for tag, times in starts.items():
        assert max(times) < finished[tag], f"job {tag} started again after it had finished"
    repeated = sum(len(times) - 1 for times in starts.values())
    assert repeated <= 2 * 2  # at most the 2 running jobs of each of the 2 kills
    assert not list((tmp_path / "store" / "locks").glob("*.lock"))


def test_two_concurrent_sweeps_never_run_a_job_twice(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    cmd = _sweep(tmp_path / "store", log, workers=0, seconds=0.15, n=8)
    sweeps = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [s.communicate(timeout=60)[0].split() for s in sweeps]
    starts = _starts(log)
    assert sorted(starts) == list(range(8))
    assert all(len(times) == 1 for times in starts.values())  # each job ran once, overall
    assert sum(int(out[0]) for out in outputs) == 8
    assert all(int(out[0]) > 0 for out in outputs)  # both did work: they really competed
    # each waited for the jobs the other had claimed: both end complete, none "busy" or "lost"
    assert all(out[1:] == ["0", "True"] for out in outputs), outputs
    assert len(list(ResultStore(tmp_path / "store").iter_results())) == 8


def test_failures_are_recorded_and_retried_and_finished_jobs_skipped(tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    base = {"seconds": 0.0, "log": str(log)}
    jobs = grid("sleep", base, tag=[0, 1, 2], fail=[False]) + grid(
        "sleep", base, tag=[3], fail=[True]
    )
    first = run_sweep(jobs, tmp_path / "store", SerialExecutor(), progress=False)
    assert (first.succeeded, len(first.failed), first.already_done) == (3, 1, 0)
    assert not first.complete
    (trace,) = first.failed.values()
    assert "RuntimeError: job 3 asked to fail" in trace
    store = ResultStore(tmp_path / "store")
    record = store.get(jobs[3].key())
    assert (
        record is not None and record["status"] == "failed" and "asked to fail" in record["error"]
    )

    # a corrupt result is re-run too; finished jobs are not
    store.path(jobs[0].key()).write_text("{ half a record")
    second = run_sweep(jobs, store, SerialExecutor(), progress=False)
    assert (second.already_done, second.succeeded, len(second.failed), second.corrupt) == (
        2,
        1,
        1,
        1,
    )
    assert Counter(int(t) for t, times in _starts(log).items() for _ in times) == {
        0: 2,
        1: 1,
        2: 1,
        3: 2,
    }


def test_duplicate_jobs_run_once(tmp_path: Path) -> None:
    jobs = grid("sleep", {}, tag=[1, 2]) * 2
    summary = run_sweep(jobs, tmp_path, SerialExecutor(), progress=False)
    assert (summary.total, summary.succeeded) == (2, 2)


def test_workers_use_one_thread_and_match_serial_training(tmp_path: Path) -> None:
    """One worker process, one thread; a real training job gives the same metrics as the bare
    call and as the serial executor."""
    cohort, _ = synthesize_features(SynthConfig(n_subjects=6, n_windows=4, seed=1))
    path = cohort.save(tmp_path / "cohort.h5")
    train = {"decoder": "linear", "epochs": 2, "batch_size": 32, "warmup_epochs": 0}
    inputs = {"unit": "window", "sequence": False}
    base = {"cohort": str(path), "split": "holdout", "train": train, "inputs": inputs}
    jobs = grid("train", base, **{"train.seed": [0, 1]}) + grid("test-threads", {}, i=[0])

    serial = run_sweep(jobs[:2], tmp_path / "serial", SerialExecutor(), progress=False)
    local = run_sweep(jobs, tmp_path / "local", LocalExecutor(1), progress=False)
    assert serial.complete and local.complete
    threads = ResultStore(tmp_path / "local").get(jobs[2].key())
    assert threads is not None and threads["result"] == {"torch": 1, "omp": "1", "pools": [1]}
    for seed, job in enumerate(jobs[:2]):
        bare = json.loads(
            (
                run_experiment(
                    cohort,
                    subject_holdout(cohort)[0],
                    TrainConfig(**{**train, "seed": seed}),
                    tmp_path / f"bare{seed}",
                    InputConfig(**inputs),
                ).path
                / "metrics.json"
            ).read_text()
        )
        runs = [ResultStore(tmp_path / s).get(job.key()) for s in ("serial", "local")]
        for run in runs:
            assert run is not None
            assert run["result"]["test"] == bare["test"]
            np.testing.assert_equal(run["result"]["val"], bare["val"])


def test_ctrl_c_keeps_finished_jobs_and_resumes(tmp_path: Path) -> None:
    flag = tmp_path / "interrupt"
    flag.touch()
    jobs = grid("test-interrupt", {"flag": str(flag)}, tag=[0, 1, 2, 3])
    first = run_sweep(jobs, tmp_path / "store", SerialExecutor(), progress=False)
    assert first.interrupted and (first.succeeded, first.lost) == (2, 2)
    assert not list((tmp_path / "store" / "locks").glob("*.lock"))  # the claim was released
    second = run_sweep(jobs, tmp_path / "store", SerialExecutor(), progress=False)
    assert not second.interrupted and (second.already_done, second.succeeded) == (2, 2)
    assert second.complete


def test_an_unfinished_sweep_says_how_many_jobs_and_the_first_failure() -> None:
    assert SweepSummary(total=3, already_done=1, succeeded=2).unfinished() is None
    failed = SweepSummary(total=4, already_done=1, succeeded=1, failed={"k": "Traceback: boom"})
    assert failed.unfinished() == (
        "2 of 4 jobs did not finish (re-run to retry); first failure:\nTraceback: boom"
    )
    lost = SweepSummary(total=2, succeeded=1, lost=1).unfinished()
    assert lost is not None and ": 1 worker(s) ended before recording their job" in lost
    assert "checkpoint_activations" in lost  # what to change when memory ran out
    stopped = SweepSummary(total=2, succeeded=1, busy=1, interrupted=True).unfinished()
    assert stopped is not None and stopped.endswith(": the sweep was interrupted")


def test_a_job_claimed_by_a_live_process_is_waited_for_and_run_here_if_it_is_dropped(
    tmp_path: Path,
) -> None:
    """A claim of another live process is never reported as a dead worker: the sweep waits,
    and runs the job itself once that process ends without recording it."""
    log = tmp_path / "starts.log"
    jobs = grid("sleep", {"seconds": 0.0, "log": str(log)}, tag=[0, 1])
    store = ResultStore(tmp_path / "store")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    lock = store.root / "locks" / f"{jobs[0].key()}.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"host": os.uname().nodename, "pid": other.pid, "since": 0}))
    assert store.holder(jobs[0].key()) == (os.uname().nodename, other.pid)
    began = time.monotonic()
    summary = run_sweep(jobs, store, SerialExecutor(), progress=False)
    other.wait()
    assert summary.complete and (summary.succeeded, summary.busy, summary.lost) == (2, 0, 0)
    assert time.monotonic() - began >= 0.5  # it waited for the other process to end
    assert sorted(_starts(log)) == [0, 1] and store.holder(jobs[0].key()) is None
