"""One process per output folder: a second holder is refused at once, naming the first (two
real processes), and a killed holder leaves the folder free."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vaxis.folder_lock import LOCK_NAME, FolderInUseError, hold_folder

HOLD = """
import sys, time
from vaxis.folder_lock import hold_folder
with hold_folder(sys.argv[1], "vaxis study"):
    print("held", flush=True)
    time.sleep(60)
"""


def hold_in_another_process(folder: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_held_folder_is_free_again_after_its_holder_is_killed(tmp_path: Path) -> None:
    other = hold_in_another_process(tmp_path)
    with pytest.raises(FolderInUseError), hold_folder(tmp_path, "vaxis align"):
        pass
    os.kill(other.pid, signal.SIGKILL)
    other.wait()
    with hold_folder(tmp_path, "vaxis align"):
        assert (tmp_path / LOCK_NAME).exists()
    began = time.monotonic()
    with hold_folder(tmp_path, "vaxis align"):  # released on exit: taken again at once
        assert time.monotonic() - began < 1
