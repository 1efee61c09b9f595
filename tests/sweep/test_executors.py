"""Choosing an executor: one factory for every caller, clear errors, repeatable thread pinning."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vaxis.sweep import LocalExecutor, SerialExecutor
from vaxis.sweep.executors import EXECUTOR_KINDS, make_executor


def test_make_executor_builds_the_named_back_end() -> None:
    assert isinstance(make_executor("serial"), SerialExecutor)
    local = make_executor("local", workers=3)
    assert isinstance(local, LocalExecutor) and local.workers == 3
    assert EXECUTOR_KINDS == ("serial", "local", "ray")


def test_make_executor_refuses_bad_requests() -> None:
    with pytest.raises(
        ValueError, match=r"unknown executor 'dask'; choose from serial, local, ray"
    ):
        make_executor("dask")
    with pytest.raises(ValueError, match="an address is for the ray executor, not the local one"):
        make_executor("local", address="ray://head:10001")


def test_without_ray_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails, installed or not
    with pytest.raises(ImportError, match=r"pip install 'vaxis\[ray\]'"):
        make_executor("ray", workers=2)


def test_pinning_threads_twice_in_one_process_is_safe() -> None:
    """A Ray worker runs many jobs: the second pin must not fail although torch's inter-op
    pool, once used, keeps its size."""
    script = (
        "from vaxis.sweep.executors import pin_threads\n"
        "import os, torch\n"
        "pin_threads(2)\n"
        "torch.ones(64, 64) @ torch.ones(64, 64)\n"
        "pin_threads(1)\n"
        "print(torch.get_num_threads(), torch.get_num_interop_threads(),"
        " os.environ['OMP_NUM_THREADS'])"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "2", "1"]
