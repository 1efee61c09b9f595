"""A Ray back-end for sweeps: the same jobs on a local Ray instance or on a Ray cluster.

Each job is one Ray task holding ``num_cpus_per_job`` CPUs, run with that many threads (one by
default), like :class:`~vaxis.sweep.executors.LocalExecutor`'s workers; with CUDA
``devices`` and ``jobs_per_device = K`` it also holds ``1/K`` of a GPU, so Ray runs ``K`` jobs on
each GPU (Ray picks the GPU and makes it the task's only visible one). The job function
travels by reference, so every Ray worker must be able to import vaxis (and the module that
defines any job kind of your own); on a cluster the sweep's store must be a folder that every
node sees at the same path. Ray is an optional extra, imported only when this executor is built.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

from vaxis.decoders.numerics import DEVICE_VARIABLE
from vaxis.sweep.executors import check_devices, pin_threads, place

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

    ``devices`` are all CUDA (each job holds ``1 / jobs_per_device`` GPU; a local instance is
    started with ``len(devices)`` GPUs) or all CPU (no GPU asked for); either way they cap the
    jobs in flight at ``len(devices) * jobs_per_device`` unless ``workers`` is given. ``env``
    is set in every task's environment.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        num_cpus_per_job: float = 1,
        *,
        devices: Sequence[str] = (),
        jobs_per_device: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.address = address
        self.devices = check_devices(devices, jobs_per_device)
        kinds = {device.partition(":")[0] for device in self.devices}
        if len(kinds) > 1:
            raise ValueError(f"the ray executor takes CUDA or CPU devices, not both: {devices}")
        self.gpus = len(self.devices) if kinds == {"cuda"} else 0
        self.workers = workers or (len(self.devices) * jobs_per_device or None)
        self.num_cpus_per_job = num_cpus_per_job
        self.options = task_options(num_cpus_per_job, self.gpus, jobs_per_device)
        self.env = dict(env or {})
        if self.devices:  # Ray's GPU is the task's only visible one: "cuda" is the right one
            self.env[DEVICE_VARIABLE] = "cuda" if self.gpus else self.devices[0]
        import_ray()  # fail when the executor is chosen, not after the sweep was planned

    def map(
        self, fn: Callable[[T], R], items: Iterable[T]
    ) -> Iterator[tuple[T, R | BaseException]]:
        ray = import_ray()
        started = self._connect(ray)
        threads = max(1, int(self.num_cpus_per_job))
        task = ray.remote(_run).options(**self.options)
        pending: dict[Any, T] = {}
        try:
            fn_ref = ray.put(fn)  # shipped once, not once per job
            todo = iter(items)

            def submit(n: int | None) -> None:
                for item in itertools.islice(todo, n):
                    pending[task.remote(fn_ref, item, threads, self.env)] = item

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
            gpus = {"num_gpus": self.gpus} if self.gpus else {}
            ray.init(
                address="local",
                num_cpus=cpus,
                include_dashboard=False,
                log_to_driver=False,
                **gpus,
            )
        else:
            ray.init(address=self.address, log_to_driver=False)
        return True


def task_options(num_cpus: float, gpus: int, jobs_per_device: int) -> dict[str, Any]:
    """Ray resources of one job: its CPUs and, with GPUs, ``1 / jobs_per_device`` of one (so
    that Ray packs ``jobs_per_device`` jobs on each GPU); never retried."""
    options: dict[str, Any] = {"num_cpus": num_cpus, "max_retries": 0}
    if gpus:
        options["num_gpus"] = 1 / jobs_per_device
    return options


def _run(fn: Callable[[T], R], item: T, threads: int, env: Mapping[str, str]) -> R:
    """The Ray task: pin the worker's threads, set the job's environment, then run it (a
    reused Ray worker gets the variables again; they are the same for the whole sweep)."""
    pin_threads(threads)
    os.environ.update(env)
    if DEVICE_VARIABLE in env:
        place(env[DEVICE_VARIABLE])
    return fn(item)
