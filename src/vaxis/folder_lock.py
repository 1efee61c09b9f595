"""One process at a time per output folder: a second command on the same folder is refused at
once, naming the process that holds it, instead of repeating its work beside it.

The lock is an ``flock`` on ``FOLDER/.vaxis.lock``: the kernel drops it when its process ends,
however it ends, so a killed run never leaves a folder locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from vaxis.errors import VaxisError

LOCK_NAME = ".vaxis.lock"


class FolderInUseError(VaxisError):
    """Another live process is writing into the same output folder."""


@contextlib.contextmanager
def hold_folder(folder: str | Path, command: str) -> Iterator[None]:
    """Hold ``folder`` for ``command`` (e.g. "vaxis study") while the block runs; raises
    :class:`FolderInUseError` at once when another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise FolderInUseError(f"{folder}: {_holder(lock.read())}") from None
        lock.seek(0)
        lock.truncate()
        lock.write(json.dumps({"pid": os.getpid(), "command": command, "since": time.time()}))
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _holder(text: str) -> str:
    """The refusal's words: who holds the folder, since when, and what to do."""
    try:
        info = json.loads(text)
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        who = f"process {int(info['pid'])} ({info['command']}, since {since})"
    except (ValueError, KeyError, TypeError):
        who = "another process"
    return f"in use by {who}; wait for it to finish or choose another --out"
