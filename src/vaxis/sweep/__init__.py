"""Sweeps: grids of pure jobs keyed by a hash, run on an executor, resumable after any crash."""

from vaxis.sweep.executors import (
    EXECUTOR_KINDS,
    Executor,
    ExecutorKind,
    LocalExecutor,
    SerialExecutor,
    make_executor,
)
from vaxis.sweep.jobs import (
    JOB_KINDS,
    Job,
    JobKind,
    code_version,
    fingerprint,
    grid,
    job_kind,
    make_job,
)
from vaxis.sweep.runner import SweepSummary, execute, run_sweep
from vaxis.sweep.store import ResultStore

__all__ = [
    "EXECUTOR_KINDS",
    "JOB_KINDS",
    "Executor",
    "ExecutorKind",
    "Job",
    "JobKind",
    "LocalExecutor",
    "ResultStore",
    "SerialExecutor",
    "SweepSummary",
    "code_version",
    "execute",
    "fingerprint",
    "grid",
    "job_kind",
    "make_executor",
    "make_job",
    "run_sweep",
]
