"""The result store: atomic records, corrupt files detected, claims that exclude and expire."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from vaxis.sweep.executors import SerialExecutor
from vaxis.sweep.jobs import make_job
from vaxis.sweep.runner import run_sweep
from vaxis.sweep.store import ResultStore


def _job(tag: str = "a"):
    return make_job("sleep", {"tag": tag})


def test_put_get_done_and_failed(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    ok, bad = _job("ok"), _job("bad")
    assert not store.done(ok.key()) and store.get(ok.key()) is None
    path = store.put(ok, {"value": 3}, seconds=1.5)
    assert path == tmp_path / "results" / ok.key()[:2] / f"{ok.key()}.json"
    record = store.get(ok.key())
    assert record is not None and record["result"] == {"value": 3}
    assert record["job"] == ok.model_dump(mode="json") and record["seconds"] == 1.5
    assert store.done(ok.key())
    store.put(bad, None, "failed", "Traceback: boom")
    assert not store.done(bad.key())  # a failed job is run again
    assert [r["key"] for r in store.iter_results()] == [ok.key()]
    assert {r["key"] for r in store.iter_results(None)} == {ok.key(), bad.key()}
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_crash_before_the_rename_leaves_no_result(tmp_path: Path) -> None:
    """A process killed between writing the temporary file and renaming it (os._exit inside
    os.replace) leaves its temporary file, which is never taken for a result."""
    script = (
        "import os, sys\n"
        "from vaxis.sweep.jobs import make_job\n"
        "from vaxis.sweep.store import ResultStore\n"
        "import vaxis.sweep.store as store\n"
        "store.os.replace = lambda *a: os._exit(9)\n"
        "ResultStore(sys.argv[1]).put(make_job('sleep', {'tag': 'a'}), {'value': 1})\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert crashed.returncode == 9
    assert len(list(tmp_path.rglob("*.tmp"))) == 1  # the half-done write is there...
    store = ResultStore(tmp_path)
    key = _job("a").key()
    assert not store.done(key) and not store.path(key).exists()  # ...but no result
    assert list(store.iter_results(None)) == []
    store.put(_job("a"), {"value": 1})
    assert store.done(key)


def test_corrupt_results_count_as_not_done(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    jobs = [_job(t) for t in "abcd"]
    for job in jobs:
        store.put(job, {"tag": job.params["tag"]})
    truncated, garbage, other = (store.path(j.key()) for j in jobs[:3])
    truncated.write_text(truncated.read_text()[:40])
    garbage.write_bytes(b"\xff\xfe\x00garbage")
    other.write_text(json.dumps({"key": "someone-else", "status": "ok"}))
    assert [store.done(j.key()) for j in jobs] == [False, False, False, True]
    assert set(store.corrupt) == {truncated, garbage, other}
    assert [r["key"] for r in store.iter_results()] == [jobs[3].key()]
    store.put(jobs[0], {"tag": "a"})  # re-running a job repairs its record
    assert store.done(jobs[0].key()) and truncated not in store.corrupt


def test_claims_exclude_other_processes(tmp_path: Path) -> None:
    store, key = ResultStore(tmp_path), _job().key()
    script = (
        "import sys; from vaxis.sweep.store import ResultStore; "
        "print(ResultStore(sys.argv[1]).claim(sys.argv[2]))"
    )

    def claim_elsewhere() -> str:
        run = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path), key],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip()

    assert store.claim(key)
    assert not store.claim(key)  # not even twice by the same process
    assert claim_elsewhere() == "False"  # held by a live process
    store.release(key)
    assert claim_elsewhere() == "True"  # the child got it, then died without releasing...
    assert store.claim(key)  # ...so its claim is stale and is broken
    store.release(key)
    assert not (tmp_path / "locks" / f"{key}.lock").exists()


def test_stale_claims_only_on_this_host(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = tmp_path / "locks"
    lock.mkdir()
    here, there = _job("here").key(), _job("there").key()
    (lock / f"{here}.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    (lock / f"{there}.lock").write_text(json.dumps({"host": "elsewhere", "pid": dead.pid}))
    assert store.claim(here)  # dead process on this host
    assert not store.claim(there)  # we cannot tell whether a process elsewhere is alive
    store.release(there)  # not ours: left alone
    assert (lock / f"{there}.lock").exists()
    owner = json.loads((lock / f"{here}.lock").read_text())
    assert owner["pid"] == os.getpid()


def test_a_finished_job_loses_the_claim_of_its_dead_worker(tmp_path: Path) -> None:
    """A worker killed between recording its job and releasing the claim leaves a lock; the
    next sweep removes it (the job is done), but never a live process's claim."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    store, locks = ResultStore(tmp_path), tmp_path / "locks"
    locks.mkdir()
    finished, running = _job("finished"), _job("running")
    for job, pid in ((finished, dead.pid), (running, os.getpid())):
        store.put(job, {"ok": 1}, "ok", None, 0.0)
        (locks / f"{job.key()}.lock").write_text(
            json.dumps({"host": socket.gethostname(), "pid": pid})
        )
    summary = run_sweep([finished, running], store, SerialExecutor(), progress=False)
    assert summary.already_done == 2
    assert not (locks / f"{finished.key()}.lock").exists()
    assert (locks / f"{running.key()}.lock").exists()  # alive: left alone
