"""Where jobs run: one interface, several back-ends.

An executor applies a picklable function to items and yields ``(item, result)`` pairs as they
complete, the result being the exception when the call itself failed (a worker died). Job
outcomes do not depend on the executor: the runner gives every back-end the same function.

Devices: given ``devices`` (e.g. ``["cuda:0", "cuda:1"]``) and ``jobs_per_device = K``, the
local executor starts ``K`` workers per device and tells each its device in the environment
variable ``VAXIS_DEVICE`` (a training job with ``device="auto"`` runs there); the Ray executor
asks for ``1/K`` of a GPU per job. Neither enters a job's key: where a job runs does not
change what it computes. ``env`` adds variables to every worker's environment (runtime
switches such as ``VAXIS_COMPILE``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from multiprocessing.queues import Queue
from typing import Literal, Protocol, TypeVar, get_args

from threadpoolctl import threadpool_limits

from vaxis.decoders.numerics import DEVICE_VARIABLE

T = TypeVar("T")
R = TypeVar("R")

ExecutorKind = Literal["serial", "local", "ray"]
#: the names :func:`make_executor` accepts
EXECUTOR_KINDS: tuple[str, ...] = get_args(ExecutorKind)

#: thread-pool variables of the numerical libraries, pinned to one thread per worker
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
DEVICE_KINDS = ("cpu", "cuda")


def check_devices(devices: Sequence[str], jobs_per_device: int) -> tuple[str, ...]:
    """``devices`` as a tuple when each is ``cpu``/``cuda`` with an optional ``:index`` and
    ``jobs_per_device`` is at least 1; a ValueError naming the bad entry otherwise."""
    if jobs_per_device < 1:
        raise ValueError(f"jobs_per_device must be at least 1, not {jobs_per_device}")
    for device in devices:
        kind, _, index = device.partition(":")
        if kind not in DEVICE_KINDS or (index and not index.isdigit()) or device.endswith(":"):
            raise ValueError(
                f"unknown device {device!r}; give cpu or cuda, optionally with an index "
                "(cuda:0, cuda:1, ...)"
            )
    return tuple(devices)


def device_slots(devices: Sequence[str], jobs_per_device: int) -> list[str]:
    """The device of each worker: ``jobs_per_device`` workers per device, dealt round-robin
    (worker i gets ``devices[i % len(devices)]``), so that the first workers, which get the
    first jobs, are spread over every device."""
    return [devices[i % len(devices)] for i in range(len(devices) * jobs_per_device)]


class Executor(Protocol):
    """Runs ``fn`` on each item; yields ``(item, fn(item) or the exception)`` as they finish."""

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]: ...


class SerialExecutor:
    """Everything in this process, in order: for debugging and tests."""

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        for item in items:
            try:
                outcome: R | BaseException = fn(item)
            except Exception as error:
                outcome = error
            yield item, outcome


class LocalExecutor:
    """A pool of ``workers`` processes (default: the CPUs this process may use), each with one
    thread for torch and the BLAS libraries, so that workers do not oversubscribe the cores.

    With ``devices``, the pool has ``jobs_per_device`` workers per device (``workers``, if
    given, may only lower that count), each told its device (see :func:`device_slots`).
    Workers are spawned (not forked): a fork of a process that already ran OpenMP code can
    deadlock, and a spawned worker starts with the thread settings in place.
    """

    def __init__(
        self,
        workers: int | None = None,
        devices: Sequence[str] = (),
        jobs_per_device: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.devices = check_devices(devices, jobs_per_device)
        self.slots = device_slots(self.devices, jobs_per_device) if self.devices else []
        if self.slots and workers is not None and workers > len(self.slots):
            raise ValueError(
                f"workers = {workers} exceeds the {len(self.slots)} device slots "
                f"({len(self.devices)} devices x jobs_per_device = {jobs_per_device}); "
                "raise jobs_per_device or leave workers unset"
            )
        self.workers = workers or len(self.slots) or None
        self.env = dict(env or {})

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        workers = self.workers or len(os.sched_getaffinity(0))
        context = multiprocessing.get_context("spawn")
        slots: Queue[str] | None = None
        if self.slots:  # each worker takes the next device when it starts
            slots = context.Queue()
            for device in self.slots[:workers]:
                slots.put(device)
        pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=start_worker,
            initargs=(slots, self.env),
        )
        try:
            futures = {pool.submit(fn, item): item for item in items}
            for future in cf.as_completed(futures):
                error = future.exception()
                yield futures[future], future.result() if error is None else error
        finally:
            # running jobs finish (and write their results); queued ones are dropped
            pool.shutdown(wait=True, cancel_futures=True)


def start_worker(slots: Queue[str] | None, env: Mapping[str, str]) -> None:
    """Worker initializer: one thread for OpenMP, BLAS and torch, the extra environment, and
    the next device from ``slots`` (when the pool places workers on devices)."""
    pin_threads(1)
    os.environ.update(env)
    if slots is not None:
        place(slots.get(timeout=60))


def place(device: str) -> None:
    """Make ``device`` this process's device for ``device="auto"`` jobs (and CUDA's current
    device, so that stray allocations land there too)."""
    os.environ[DEVICE_VARIABLE] = device
    if device.startswith("cuda:"):
        import torch

        torch.cuda.set_device(device)


def pin_threads(threads: int) -> None:
    """Limit OpenMP, BLAS and torch in this process to ``threads`` threads; safe to repeat.

    The variables cover libraries loaded later; threadpoolctl limits those already loaded
    (numpy's BLAS is, by unpickling the worker's function). torch's inter-op pool can be sized
    only once per process: a reused worker (Ray's) keeps the size it got first.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    threadpool_limits(threads)
    import torch  # after the variables, so that its thread pools start with them

    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # "cannot set ... after parallel work has started"
        torch.set_num_interop_threads(threads)


def make_executor(
    kind: str,
    workers: int | None = None,
    address: str | None = None,
    *,
    devices: Sequence[str] = (),
    jobs_per_device: int = 1,
    env: Mapping[str, str] | None = None,
) -> Executor:
    """The executor named ``kind`` (one of :data:`EXECUTOR_KINDS`): every caller builds its
    executor here. ``workers``: processes (local) or concurrent jobs (ray); ``address``: a
    Ray cluster to connect to (ray only; None starts a local Ray instance); ``devices``,
    ``jobs_per_device`` and ``env``: see the module docstring (local and ray only)."""
    if kind not in EXECUTOR_KINDS:
        raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTOR_KINDS)}")
    if address is not None and kind != "ray":
        raise ValueError(f"an address is for the ray executor, not the {kind} one")
    if kind == "serial":
        if devices or env:
            raise ValueError("devices and worker settings are for the local or ray executor")
        return SerialExecutor()
    if kind == "local":
        return LocalExecutor(workers, devices, jobs_per_device, env)
    from vaxis.sweep.ray_executor import RayExecutor  # ray is an optional extra

    return RayExecutor(address, workers, devices=devices, jobs_per_device=jobs_per_device, env=env)
