"""Run a grid of jobs: skip the finished ones, run the rest on an executor, resume after a crash.

Each job runs through :func:`execute`, in the worker: claim the job, check again that no one
finished it meanwhile, run it, write its record, release the claim. Records are written by the
worker as each job ends, so a killed sweep loses only the jobs that were running; the next
call runs them again and skips everything finished. A failed job is recorded with its
traceback (the sweep goes on) and is run again by the next call.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

from vaxis.console import console, track
from vaxis.sweep.executors import Executor, LocalExecutor
from vaxis.sweep.jobs import Job, JobFn, get_kind
from vaxis.sweep.store import ResultStore

Outcome = Literal["ok", "failed", "done", "busy"]
#: first and longest pause between looks at jobs another process runs (seconds)
POLL_SECONDS, MAX_POLL_SECONDS = 0.2, 5.0


@dataclass
class SweepSummary:
    """What one call of :func:`run_sweep` did."""

    total: int
    #: finished before this call (skipped)
    already_done: int = 0
    succeeded: int = 0
    #: key -> traceback of jobs that raised (recorded; run again next time)
    failed: dict[str, str] = field(default_factory=dict)
    #: jobs another live process was still running when the wait for them was interrupted
    busy: int = 0
    #: jobs whose worker died or that never started (nothing recorded; run again next time)
    lost: int = 0
    #: unreadable result files met (treated as not done)
    corrupt: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether every job of the grid has a successful result now."""
        return self.already_done + self.succeeded == self.total

    def unfinished(self) -> str | None:
        """None when complete; else how many jobs did not finish and why (the message of the
        caller's error): the first failure's traceback, an interruption, or workers that died."""
        if self.complete:
            return None
        missing = self.total - self.already_done - self.succeeded
        done = f"{missing} of {self.total} jobs did not finish (re-run to retry)"
        if self.failed:
            return f"{done}; first failure:\n{next(iter(self.failed.values()))}"
        if self.interrupted:
            return f"{done}: the sweep was interrupted"
        return (
            f"{done}: {self.lost} worker(s) ended before recording their job (killed from "
            "outside; most often by the system for lack of memory: compare the plan's peak "
            "memory, `vaxis study CONFIG --plan`, with this machine's; lower [compute] workers "
            "or set [compute] checkpoint_activations = true)"
        )


def execute(
    job: Job, root: str, kinds: Mapping[str, JobFn], folders: Mapping[str, str] | None = None
) -> Outcome:
    """Run one job in this process and record its outcome in the store at ``root``.

    ``kinds`` maps job kinds to their functions: passing the functions (pickled by reference)
    makes a spawned worker import the modules that define them, built-in or not. ``folders``
    (key -> folder) places a job's artefacts elsewhere than its folder in the store.
    """
    store, key = ResultStore(root), job.key()
    if not store.claim(key):
        return "busy"
    try:
        if store.done(key):  # finished by another worker since the sweep looked
            return "done"
        work = Path(folders[key]) if folders and key in folders else store.work_dir(key)
        work.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        params = dict(job.params) | ({"runtime": job.runtime} if job.runtime else {})
        try:
            result = kinds[job.kind](params, work)
        except Exception:
            store.put(job, None, "failed", traceback.format_exc(), time.perf_counter() - start)
            return "failed"
        store.put(job, result, "ok", None, time.perf_counter() - start)
        return "ok"
    finally:
        store.release(key)


def run_sweep(
    jobs: Sequence[Job],
    store: ResultStore | str | Path,
    executor: Executor | None = None,
    progress: bool = True,
    folders: Mapping[str, Path] | None = None,
) -> SweepSummary:
    """Run every job of ``jobs`` not yet finished in ``store``; returns what happened.

    ``folders`` (key -> folder) puts those jobs' artefacts there instead of the store's
    ``work/`` (`vaxis train` names its run folders by what they train).
    The default executor is :class:`~vaxis.sweep.executors.LocalExecutor`. Ctrl-C stops the
    sweep gracefully: finished jobs stay recorded, the summary says ``interrupted``.
    """
    start = time.perf_counter()
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    executor = executor or LocalExecutor()
    unique = list({job.key(): job for job in jobs}.values())
    finished = {job.key() for job in unique if store.done(job.key())}
    todo = [job for job in unique if job.key() not in finished]
    for key in finished:  # claims left by workers killed after recording their job
        store.clear_stale_claim(key)
    summary = SweepSummary(total=len(unique), already_done=len(unique) - len(todo))
    summary.corrupt = len(store.corrupt)
    _say(
        progress,
        f"sweep: {summary.total} jobs, {summary.already_done} already done, "
        f"{len(todo)} to run"
        + (f"; {summary.corrupt} unreadable results will be re-run" if summary.corrupt else ""),
    )
    kinds = {job.kind: get_kind(job.kind).fn for job in todo}
    root = str(store.root.resolve())  # absolute: workers may run in another directory (Ray)
    where = {key: str(Path(path).resolve()) for key, path in (folders or {}).items()}
    run = partial(execute, root=root, kinds=kinds, folders=where)
    outcomes = executor.map(run, todo)
    seen, busy = 0, []
    try:
        for job, outcome in _tracked(outcomes, progress, len(todo)):
            seen += 1
            if outcome == "busy":
                busy.append(job)  # claimed by another live process: waited for below
            else:
                _count(summary, store, job, outcome)
    except KeyboardInterrupt:
        summary.interrupted = True
        _say(progress, "sweep interrupted: finished jobs are kept; run it again to resume")
    summary.lost += len(todo) - seen
    if busy and not summary.interrupted:
        _share(busy, summary, store, executor, run, progress)
    summary.seconds = time.perf_counter() - start
    if summary.failed:
        _say(progress, f"[red]{len(summary.failed)} jobs failed[/] (run again to retry)")
    return summary


def _share(
    busy: list[Job],
    summary: SweepSummary,
    store: ResultStore,
    executor: Executor,
    run: Callable[[Job], Outcome],
    progress: bool,
) -> None:
    """Wait for the jobs another live process claimed: each one it finishes counts as done
    here; one whose claim is dropped unfinished (that process failed or died) runs here.
    Ctrl-C stops the wait like the sweep (``interrupted``)."""
    holders = [held for job in busy if (held := store.holder(job.key())) is not None]
    owners = sorted({f"{host}:{pid}" for host, pid in holders})
    _say(
        progress,
        f"sweep: waiting for {len(busy)} jobs run by another process ({', '.join(owners)})",
    )
    pause, pending = POLL_SECONDS, busy
    try:
        while pending:
            free = [job for job in pending if store.holder(job.key()) is None]
            waiting = [job for job in pending if job not in free]
            for job, outcome in executor.map(run, free) if free else ():
                if outcome == "busy":
                    waiting.append(job)  # claimed again meanwhile
                else:
                    _count(summary, store, job, outcome)
            pending = waiting
            if pending:
                time.sleep(pause)
                pause = min(pause * 2, MAX_POLL_SECONDS)
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.busy = len(pending)
        _say(progress, "sweep interrupted while waiting: run it again to resume")


def _count(summary: SweepSummary, store: ResultStore, job: Job, outcome: object) -> None:
    if outcome == "ok":
        summary.succeeded += 1
    elif outcome == "done":
        summary.already_done += 1
    elif outcome == "busy":
        summary.busy += 1
    elif outcome == "failed":
        record = store.get(job.key())
        summary.failed[job.key()] = record["error"] if record else "failed (no record)"
    else:  # the executor's exception: the worker died before recording anything
        summary.lost += 1


def _tracked(
    outcomes: Iterator[tuple[Job, object]], progress: bool, total: int
) -> Iterator[tuple[Job, object]]:
    return track(outcomes, "sweep", total=total) if progress else outcomes


def _say(progress: bool, message: str) -> None:
    if progress:
        console.print(message)
