"""Choosing an executor: one factory for every caller, clear errors, repeatable thread pinning,
workers placed on devices."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from functools import partial
from pathlib import Path
from typing import cast

import pytest

from vaxis.decoders.numerics import DEVICE_VARIABLE
from vaxis.sweep import LocalExecutor, SerialExecutor
from vaxis.sweep.executors import (
    EXECUTOR_KINDS,
    check_devices,
    device_slots,
    make_executor,
)


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


def test_each_device_gets_jobs_per_device_slots_dealt_round_robin() -> None:
    assert device_slots(["cuda:0", "cuda:1"], 3) == ["cuda:0", "cuda:1"] * 3
    assert device_slots(["cpu"], 2) == ["cpu", "cpu"]
    executor = LocalExecutor(devices=("cuda:0", "cuda:1", "cuda:2"), jobs_per_device=2)
    assert executor.workers == 6
    assert LocalExecutor(2, devices=("cuda:0", "cuda:1"), jobs_per_device=2).workers == 2


def test_bad_device_requests_are_refused_with_the_fix() -> None:
    for bad in ("gpu0", "cuda:", "cuda:x", "tpu:0"):
        with pytest.raises(ValueError, match=f"unknown device '{bad}'; give cpu or cuda"):
            check_devices([bad], 1)
    with pytest.raises(ValueError, match="jobs_per_device must be at least 1"):
        check_devices(["cuda:0"], 0)
    with pytest.raises(ValueError, match=r"workers = 5 exceeds the 4 device slots"):
        LocalExecutor(5, devices=("cuda:0", "cuda:1"), jobs_per_device=2)
    with pytest.raises(ValueError, match="for the local or ray executor"):
        make_executor("serial", devices=("cuda:0",))


def _where(tag: int, folder: str, n: int) -> dict[str, object]:
    """A job that holds its worker until ``n`` jobs run at once (so each job has a worker of
    its own), then says where it ran."""
    from vaxis.decoders.accel import resolve_device

    Path(folder, f"{tag}.started").touch()
    deadline = time.monotonic() + 120
    while len(list(Path(folder).glob("*.started"))) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    return {
        "pid": os.getpid(),
        "placed": os.environ.get(DEVICE_VARIABLE),
        "auto": str(resolve_device("auto")),
        "flag": os.environ.get("VAXIS_TEST_FLAG"),
    }


@pytest.mark.slow
def test_local_workers_are_placed_k_per_device_and_auto_means_their_device(tmp_path: Path) -> None:
    """Four real worker processes on two (fake, CPU) devices, two per device: four jobs held
    at once land one per worker, each worker on one device, each device with two workers."""
    devices = ("cpu:0", "cpu:1")
    executor = LocalExecutor(devices=devices, jobs_per_device=2, env={"VAXIS_TEST_FLAG": "on"})
    results = dict(executor.map(partial(_where, folder=str(tmp_path), n=4), range(4)))
    assert all(isinstance(r, dict) for r in results.values()), results
    where = [cast(dict[str, object], r) for r in results.values()]
    assert len({r["pid"] for r in where}) == 4
    assert sorted(str(r["placed"]) for r in where) == ["cpu:0", "cpu:0", "cpu:1", "cpu:1"]
    assert all(r["auto"] == r["placed"] and r["flag"] == "on" for r in where)


def test_ray_asks_for_a_fraction_of_a_gpu_per_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked without Ray itself (a stand-in module): the resources of each task."""
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))
    from vaxis.sweep.ray_executor import RayExecutor, task_options

    assert task_options(1, gpus=2, jobs_per_device=4) == {
        "num_cpus": 1, "max_retries": 0, "num_gpus": 0.25,
    }  # fmt: skip
    assert "num_gpus" not in task_options(1, gpus=0, jobs_per_device=4)
    gpu = RayExecutor(devices=("cuda:0", "cuda:1"), jobs_per_device=4, env={"A": "1"})
    assert gpu.options["num_gpus"] == 0.25 and gpu.gpus == 2 and gpu.workers == 8
    assert gpu.env == {"A": "1", DEVICE_VARIABLE: "cuda"}  # Ray's GPU is the visible one
    cpu = RayExecutor(workers=3, devices=("cpu",), jobs_per_device=2)
    assert "num_gpus" not in cpu.options and cpu.workers == 3
    assert RayExecutor().env == {} and "num_gpus" not in RayExecutor().options
    with pytest.raises(ValueError, match="CUDA or CPU devices, not both"):
        RayExecutor(devices=("cuda:0", "cpu"))


@pytest.mark.gpu
def test_two_workers_share_the_gpu_and_auto_means_it(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    executor = LocalExecutor(devices=("cuda:0",), jobs_per_device=2)
    results = dict(executor.map(partial(_where, folder=str(tmp_path), n=2), range(2)))
    where = [cast(dict[str, object], r) for r in results.values()]
    assert len({r["pid"] for r in where}) == 2
    assert all(r["placed"] == "cuda:0" and r["auto"] == "cuda:0" for r in where)
