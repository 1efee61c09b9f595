"""A Ray back-end for sweeps: the same jobs on a local Ray instance or on a Ray cluster.

Each job is one Ray task holding ``num_cpus_per_job`` CPUs, run with that many threads (one by
default), like :class:`~vaxis.sweep.executors.LocalExecutor`'s workers. The job function
travels by reference, so every Ray worker must be able to import vaxis (and the module that
defines any job kind of your own); on a cluster the sweep's store must be a folder that every
node sees at the same path. Ray is an optional extra, imported only when this executor is built.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any, TypeVar

from vaxis.sweep.executors import pin_threads

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "install the extra: pip install 'vaxis[ray]'"


def import_ray() -> ModuleType:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"the ray executor needs Ray; {INSTALL_HINT}") from error
    return ray


class RayExecutor:
    """Runs jobs as Ray tasks; yields ``(item, result or the exception)`` as they finish.

    ``address=None`` starts a local Ray instance of ``workers`` CPUs (default: the CPUs this
    process may use) and shuts it down after the sweep; an address (``ray://host:10001`` or
    ``host:6379``) connects to that cluster and only disconnects afterwards, and a Ray already
    initialised by the caller is used as it is and left running. ``workers`` also caps the
    number of jobs in flight. Tasks are not retried: a job whose worker died is reported (its
    exception) and runs again on the next sweep, as with the other executors.
    """

    def __init__(
        self, address: str | None = None, workers: int | None = None, num_cpus_per_job: float = 1
    ) -> None:
        self.address = address
        self.workers = workers
        self.num_cpus_per_job = num_cpus_per_job
        import_ray()  # fail when the executor is chosen, not after the sweep was planned

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        ray = import_ray()
        started = self._connect(ray)
        threads = max(1, int(self.num_cpus_per_job))
        task = ray.remote(_run).options(num_cpus=self.num_cpus_per_job, max_retries=0)
        pending: dict[Any, T] = {}
        try:
            fn_ref = ray.put(fn)  # shipped once, not once per job
            todo = iter(items)

            def submit(n: int | None) -> None:
                for item in itertools.islice(todo, n):
                    pending[task.remote(fn_ref, item, threads)] = item

            submit(self.workers)
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                item = pending.pop(ref)
                try:
                    outcome: R | BaseException = ray.get(ref)
                except Exception as error:  # the task itself failed (a worker died)
                    outcome = error
                yield item, outcome
                submit(1)
        finally:
            # jobs not finished are cancelled: a running one is interrupted and releases its
            # claim (nothing recorded, it runs again next time); queued ones never start
            for ref in pending:
                ray.cancel(ref)
            if started:
                ray.shutdown()

    def _connect(self, ray: ModuleType) -> bool:
        """Initialise Ray unless the caller already has; whether this call did."""
        if ray.is_initialized():
            return False
        if self.address is None:
            cpus = self.workers or len(os.sched_getaffinity(0))
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=self.address, log_to_driver=False)
        return True


def _run(fn: Callable[[T], R], item: T, threads: int) -> R:
    """The Ray task: pin the worker's threads, then run the job."""
    pin_threads(threads)
    return fn(item)
