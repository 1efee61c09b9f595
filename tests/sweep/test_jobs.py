"""Job keys: stable for the same job anywhere, new for any change of params, code or data."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vaxis import __version__
from vaxis.sweep.jobs import Job, code_version, fingerprint, grid, make_job


def test_same_job_same_key_in_another_process() -> None:
    job = make_job("sleep", {"seconds": 0.5, "tag": "a", "nested": {"b": [1, 2], "a": None}})
    script = (
        "from vaxis.sweep.jobs import make_job;"
        "print(make_job('sleep', {'nested': {'a': None, 'b': [1, 2]}, 'tag': 'a', "
        "'seconds': 0.5}).key())"
    )
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == job.key()
    assert len(job.key()) == 64


def test_any_change_gives_a_new_key() -> None:
    job = make_job("sleep", {"seconds": 0.5, "tag": "a"})
    changed = [
        job.model_copy(update={"params": {"seconds": 0.5, "tag": "b"}}),
        job.model_copy(update={"params": {"seconds": 0.5, "tag": "a", "extra": 1}}),
        job.model_copy(update={"params": {"seconds": 0.50001, "tag": "a"}}),
        job.model_copy(update={"code_version": job.code_version + "-edited"}),
        job.model_copy(update={"data_fingerprint": "0" * 64}),
        job.model_copy(update={"kind": "train"}),
    ]
    keys = {job.key(), *(c.key() for c in changed)}
    assert len(keys) == 1 + len(changed)
    assert Job.model_validate(job.model_dump()).key() == job.key()


def test_data_change_changes_the_key(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.h5"
    cohort.write_bytes(b"x" * (3 << 20) + b"tail")  # several 1 MiB chunks
    expected = hashlib.sha256(cohort.read_bytes()).hexdigest()
    assert fingerprint(cohort) == expected
    before = make_job("train", {"cohort": str(cohort), "split": "holdout"})
    assert expected in before.data_fingerprint
    # same size, later mtime, one byte different: the cache must not hide the change
    cohort.write_bytes(b"x" * (3 << 20) + b"tale")
    stat = cohort.stat()
    os.utime(cohort, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = make_job("train", {"cohort": str(cohort), "split": "holdout"})
    assert after.key() != before.key()
    # a copy with the same content elsewhere is the same data
    copy = tmp_path / "copy.h5"
    copy.write_bytes(cohort.read_bytes())
    assert fingerprint(copy) == fingerprint(cohort)


def test_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"missing\.h5.*cannot read"):
        make_job("train", {"cohort": str(tmp_path / "missing.h5")})


def test_grid_is_the_cartesian_product_in_order() -> None:
    base = {"seconds": 0.0, "train": {"epochs": 1}}
    jobs = grid("sleep", base, tag=["a", "b", "c"], **{"train.seed": [0, 1]})
    assert len(jobs) == 6
    pairs = [(j.params["tag"], j.params["train"]["seed"]) for j in jobs]
    assert pairs == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]
    assert all(j.params["train"]["epochs"] == 1 for j in jobs)
    assert base == {"seconds": 0.0, "train": {"epochs": 1}}  # base is not modified
    assert len({j.key() for j in jobs}) == 6
    assert [j.key() for j in jobs] == [
        j.key() for j in grid("sleep", base, tag=["a", "b", "c"], **{"train.seed": [0, 1]})
    ]


def test_bad_jobs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown job kind 'nope'.*sleep"):
        make_job("nope", {})
    with pytest.raises(TypeError):
        make_job("sleep", {"when": object()})


def test_code_version_names_the_commit() -> None:
    version = code_version()
    assert version.startswith(__version__)
    git = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
    )
    if git.returncode == 0:
        assert version == f"{__version__}+{git.stdout.strip()}"
