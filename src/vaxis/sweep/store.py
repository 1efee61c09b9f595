"""A folder of job results that survives crashes and is shared safely by concurrent workers.

Layout under ``root``::

    results/<key[:2]>/<key>.json   one record per finished job (status "ok" or "failed")
    locks/<key>.lock               a claim: the pid and host of the worker running the job
    work/<key[:2]>/<key>/          the job's own folder for artefacts

Records are written atomically (temporary file in the same folder, fsync, ``os.replace``), so a
crash leaves either the whole record or none. A record that cannot be read (truncated, edited,
written for another key) counts as not done and is listed in :attr:`ResultStore.corrupt`;
it never stops a sweep. Claims are files created with ``O_CREAT | O_EXCL``; a claim whose
process is dead on this host is stale and is broken (under a lock, so by one worker only).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from vaxis.sweep.jobs import Job

Status = Literal["ok", "failed"]
_HOST = socket.gethostname()


class ResultStore:
    """Results of jobs by key, written atomically; claims so that no job runs twice at once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        #: result files found unreadable so far (path -> why); they count as not done
        self.corrupt: dict[Path, str] = {}

    def path(self, key: str) -> Path:
        """Where the record of ``key`` is (or will be)."""
        return self.root / "results" / key[:2] / f"{key}.json"

    def work_dir(self, key: str) -> Path:
        """The folder where the job ``key`` may write artefacts."""
        return self.root / "work" / key[:2] / key

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``, or None if there is none or it is unreadable."""
        path = self.path(key)
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            self.corrupt[path] = f"unreadable ({error})"
            return None
        if not isinstance(record, dict) or record.get("key") != key or "status" not in record:
            self.corrupt[path] = "not a result record of this key"
            return None
        self.corrupt.pop(path, None)
        return record

    def done(self, key: str) -> bool:
        """Whether ``key`` finished successfully (a failed job is re-run)."""
        record = self.get(key)
        return record is not None and record["status"] == "ok"

    def put(
        self,
        job: Job,
        result: dict[str, Any] | None,
        status: Status = "ok",
        error: str | None = None,
        seconds: float | None = None,
    ) -> Path:
        """Write the record of ``job`` atomically; returns its path."""
        key = job.key()
        record = {
            "key": key,
            "status": status,
            "job": job.model_dump(mode="json"),
            "result": result,
            "error": error,
            "seconds": seconds,
            "host": _HOST,
            "pid": os.getpid(),
            "finished": time.time(),
        }
        path = self.path(key)
        _write_atomic(path, json.dumps(record, indent=1, sort_keys=True))
        self.corrupt.pop(path, None)
        return path

    def iter_results(self, status: Status | None = "ok") -> Iterator[dict[str, Any]]:
        """Every readable record (of ``status``, or all if None), in key order."""
        for path in sorted((self.root / "results").glob("*/*.json")):
            record = self.get(path.stem)
            if record is not None and status in (None, record["status"]):
                yield record

    def claim(self, key: str) -> bool:
        """Claim ``key`` for this process; False if a live process holds it."""
        lock = self._lock(key)
        lock.parent.mkdir(parents=True, exist_ok=True)
        if _create(lock):
            return True
        with _mutex(lock.parent / ".breaker"):  # one worker at a time breaks stale claims
            if not _is_stale(lock):
                return False
            lock.unlink(missing_ok=True)
            return _create(lock)

    def clear_stale_claim(self, key: str) -> None:
        """Remove the claim of ``key`` if its process is dead (e.g. killed between writing the
        job's record and releasing its claim)."""
        lock = self._lock(key)
        if not lock.exists():
            return
        with _mutex(lock.parent / ".breaker"):
            if lock.exists() and _is_stale(lock):
                lock.unlink(missing_ok=True)

    def holder(self, key: str) -> tuple[str, int] | None:
        """(host, pid) of the live process that claims ``key``, or None when it is free (or its
        claim is stale: the process died)."""
        lock = self._lock(key)
        if not lock.exists() or _is_stale(lock):
            return None
        return _owner(lock) or ("?", -1)  # a claim being written right now: held

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key``."""
        lock = self._lock(key)
        if _owner(lock) == (_HOST, os.getpid()):
            lock.unlink(missing_ok=True)

    def _lock(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.lock"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump({"host": _HOST, "pid": os.getpid(), "since": time.time()}, f)
    return True


def _owner(lock: Path) -> tuple[str, int] | None:
    try:
        info = json.loads(lock.read_text())
        return str(info["host"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _is_stale(lock: Path) -> bool:
    """A claim of a dead process on this host (or one without readable owner, left by a
    crash between creating and writing it). Claims of other hosts are never judged stale."""
    if not lock.exists():
        return True
    owner = _owner(lock)
    if owner is None:
        try:
            return time.time() - lock.stat().st_mtime > 60  # a live writer needs microseconds
        except FileNotFoundError:
            return True
    host, pid = owner
    return host == _HOST and not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs here (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    return True


@contextlib.contextmanager
def _mutex(path: Path) -> Iterator[None]:
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def recorded_jobs(folder: str | Path) -> dict[str, float]:
    """Job key -> when its result was recorded, over every store under ``folder`` (e.g. a
    study's out folder): what a killed and resumed run must keep, none lost, none run again."""
    found: dict[str, float] = {}
    for path in sorted(Path(folder).glob("**/results/*/*.json")):
        record = json.loads(path.read_text())
        found[record["key"]] = float(record["finished"])
    return found
