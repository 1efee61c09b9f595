"""Where jobs run: one interface, several back-ends.

An executor applies a picklable function to items and yields ``(item, result)`` pairs as they
complete, the result being the exception when the call itself failed (a worker died). Job
outcomes do not depend on the executor: the runner gives every back-end the same function.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Literal, Protocol, TypeVar, get_args

from threadpoolctl import threadpool_limits

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

    Workers are spawned (not forked): a fork of a process that already ran OpenMP code can
    deadlock, and a spawned worker starts with the thread settings in place.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        workers = self.workers or len(os.sched_getaffinity(0))
        pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=one_thread,
        )
        try:
            futures = {pool.submit(fn, item): item for item in items}
            for future in cf.as_completed(futures):
                error = future.exception()
                yield futures[future], future.result() if error is None else error
        finally:
            # running jobs finish (and write their results); queued ones are dropped
            pool.shutdown(wait=True, cancel_futures=True)


def one_thread() -> None:
    """Worker initializer: one thread for OpenMP, BLAS and torch."""
    pin_threads(1)


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


def make_executor(kind: str, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor named ``kind`` (one of :data:`EXECUTOR_KINDS`): every caller builds its
    executor here. ``workers``: processes (local) or concurrent jobs (ray); ``address``: a
    Ray cluster to connect to (ray only; None starts a local Ray instance)."""
    if kind not in EXECUTOR_KINDS:
        raise ValueError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTOR_KINDS)}")
    if address is not None and kind != "ray":
        raise ValueError(f"an address is for the ray executor, not the {kind} one")
    if kind == "serial":
        return SerialExecutor()
    if kind == "local":
        return LocalExecutor(workers)
    from vaxis.sweep.ray_executor import RayExecutor  # ray is an optional extra

    return RayExecutor(address, workers)
