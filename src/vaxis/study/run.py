"""``run_study``: run the stages in order, each skipped when done, then write the results.

Python equivalent of ``vaxis study``. A stage is done when its marker records the same config
key and inputs (:mod:`vaxis.study.cache`); a requested stage's prerequisites run first (or are
reused when done). ``results.json`` and ``report.html`` cover every stage that is done in the
out folder for the current config, not only those of this call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import vaxis.study.stages  # noqa: F401  (registers the stages)
from vaxis.folder_lock import hold_folder
from vaxis.study import cache
from vaxis.study.config import StudyConfig
from vaxis.study.registry import STAGES, StudyContext, plan
from vaxis.study.report_html import write_report
from vaxis.study.results import assemble, write_results

RAN, SKIPPED = "ran", "skipped (done)"


@dataclass(frozen=True)
class StudyResult:
    """What a study run did and where it wrote."""

    out: Path
    results: Path
    report: Path
    status: dict[str, str]  # stage -> ran | skipped (done)
    synthetic: bool
    seconds: float


def _say_nothing(message: str) -> None:
    """The default reporter of :func:`run_study`: silent (the CLI prints instead)."""


def _inputs(name: str, config: StudyConfig, records: dict[str, cache.StageRecord]) -> str:
    stage = STAGES[name]
    extra = stage.fingerprint(config) if stage.fingerprint else ""
    return cache.inputs_key([records[r] for r in stage.requires], extra)


def _earlier(
    config: StudyConfig, context: StudyContext, records: dict[str, cache.StageRecord]
) -> None:
    """Add to ``records`` the stages outside this run that are done for this config."""
    for name in STAGES:
        stage = STAGES[name]
        missing = any(r not in records for r in stage.requires)
        if name in records or missing or not stage.is_enabled(config):
            continue
        found = cache.done(
            context.folder(name), cache.stage_key(stage, config), _inputs(name, config, records)
        )
        if found is not None:
            records[name] = found


def finished_stages(config: StudyConfig) -> dict[str, cache.StageRecord]:
    """The stages that are done in ``config.out`` for ``config`` (what a run would skip)."""
    records: dict[str, cache.StageRecord] = {}
    _earlier(config, StudyContext(out=Path(config.out), progress=False), records)
    return records


def run_study(
    config: StudyConfig,
    stages: list[str] | None = None,
    *,
    progress: bool = True,
    say: Callable[[str], None] = _say_nothing,
) -> StudyResult:
    """Run ``stages`` (default: all registered) of the study in ``config.out``.

    ``say`` receives one line per stage ("running", "skipped (done)", "done in N s"). A
    second study on the same out folder is refused at once
    (:class:`vaxis.folder_lock.FolderInUseError`, naming the process that holds it).
    """
    start = time.perf_counter()
    out = Path(config.out)
    with hold_folder(out, "vaxis study"):
        return _run_stages(config, stages, out, progress, say, start)


def _run_stages(
    config: StudyConfig,
    stages: list[str] | None,
    out: Path,
    progress: bool,
    say: Callable[[str], None],
    start: float,
) -> StudyResult:
    """The body of :func:`run_study`, run while the out folder is held."""
    context = StudyContext(out=out, progress=progress)
    names = plan(stages, config)
    records: dict[str, cache.StageRecord] = {}
    status: dict[str, str] = {}
    for index, name in enumerate(names, 1):
        stage, folder = STAGES[name], context.folder(name)
        key, inputs = cache.stage_key(stage, config), _inputs(name, config, records)
        label = f"[{index}/{len(names)}] {name}"
        found = cache.done(folder, key, inputs)
        if found is not None:
            records[name], status[name] = found, SKIPPED
            say(f"{label}: {SKIPPED}")
            continue
        say(f"{label}: running ({stage.title})")
        began = time.perf_counter()
        result = stage.fn(config, context)
        seconds = time.perf_counter() - began
        record = cache.StageRecord(
            stage=name,
            key=key,
            inputs=inputs,
            seconds=round(seconds, 1),
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            result=result,
        )
        cache.write_marker(folder, record)
        records[name], status[name] = record, RAN
        say(f"{label}: done in {seconds:.0f} s")
    _earlier(config, context, records)
    ordered = {name: records[name] for name in STAGES if name in records}
    assembled = assemble(config, ordered, status, out)
    results = write_results(assembled, out)
    report = write_report(assembled, out)
    return StudyResult(
        out=out,
        results=results,
        report=report,
        status=status,
        synthetic=bool(assembled["synthetic"]),
        seconds=time.perf_counter() - start,
    )
