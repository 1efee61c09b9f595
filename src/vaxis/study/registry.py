"""The stage registry: one function per stage, and what a stage hands back.

A stage is ``fn(config, context) -> StageResult``, registered with :func:`stage`, which names
the stages it needs (run first, or reused when done) and the config sections its cache key
covers. Adding a stage is one decorated function (and, when it has settings, one section in
:class:`~vaxis.study.config.StageSettings`)::

    @stage("saturation", requires=("zoo",), uses=("stages.saturation",))
    def saturation(config: StudyConfig, context: StudyContext) -> StageResult: ...

Stages run in registration order. A stage may be switched off by its config (``enabled``): a
full run leaves it out, asking for it by name is an error. The report shows the stages that
ran, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from vaxis.core.reported import Figure, Plot, Table
from vaxis.core.stage import StageReport
from vaxis.errors import VaxisError
from vaxis.study.config import StudyConfig


class StudyError(VaxisError):
    """A stage cannot run as configured (the message says why and what to do)."""


class StageResult(BaseModel):
    """What a stage reports: figures for results.json, tables and plots for the report."""

    figures: dict[str, Figure] = Field(default_factory=dict)
    tables: list[Table] = Field(default_factory=list)
    plots: list[Plot] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    #: model identity, data provenance and the like, copied into results.json
    provenance: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(
        cls,
        report: StageReport,
        context: StudyContext,
        provenance: dict[str, Any] | None = None,
    ) -> StageResult:
        """The parts of a stage's report, as the study keeps them (plots relative to OUT)."""
        return cls(
            figures=report.figures(),
            tables=report.tables(),
            plots=[context.relative(plot) for plot in report.plots()],
            notes=report.notes(),
            provenance=provenance or {},
        )


@dataclass
class StudyContext:
    """Where a study writes, and the folders of stages already done."""

    out: Path
    progress: bool = True

    def folder(self, name: str) -> Path:
        """The folder of stage ``name`` (its outputs and its cache marker)."""
        return self.out / "stages" / name

    def relative(self, plot: Plot) -> Plot:
        """``plot`` with its files' paths relative to the out folder (the report's links)."""
        return self.plot(plot.title, Path(plot.png), None if plot.svg is None else Path(plot.svg))

    def plot(self, title: str, png: Path, svg: Path | None = None) -> Plot:
        """A :class:`Plot` with paths relative to the out folder."""
        svg = svg if svg is not None else png.with_suffix(".svg")
        return Plot(
            title=title,
            png=self._under_out(png),
            svg=self._under_out(svg) if svg.exists() else None,
        )

    def _under_out(self, path: Path) -> str:
        return path.resolve().relative_to(self.out.resolve()).as_posix()


StageFn = Callable[[StudyConfig, StudyContext], StageResult]


@dataclass(frozen=True)
class Stage:
    """A registered stage."""

    name: str
    fn: StageFn
    title: str
    requires: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    #: a fingerprint of outside inputs (e.g. the data files), part of the cache check
    fingerprint: Callable[[StudyConfig], str] | None = None
    #: whether the config switches the stage on (None: always)
    enabled: Callable[[StudyConfig], bool] | None = None

    def is_enabled(self, config: StudyConfig) -> bool:
        return self.enabled is None or self.enabled(config)


#: stage name -> stage, in run order
STAGES: dict[str, Stage] = {}


def stage(
    name: str,
    title: str,
    requires: tuple[str, ...] = (),
    uses: tuple[str, ...] = (),
    fingerprint: Callable[[StudyConfig], str] | None = None,
    enabled: Callable[[StudyConfig], bool] | None = None,
) -> Callable[[StageFn], StageFn]:
    """Register ``fn`` as stage ``name`` (``title`` heads its report section); ``requires``
    must be registered before it; ``uses`` are the config sections its cache key covers;
    ``enabled`` says whether a config switches it on."""

    def register(fn: StageFn) -> StageFn:
        unknown = [r for r in requires if r not in STAGES]
        if unknown:
            raise ValueError(f"stage {name!r} requires unregistered stage(s) {unknown}")
        STAGES[name] = Stage(name, fn, title, requires, uses, fingerprint, enabled)
        return fn

    return register


def plan(names: list[str] | None, config: StudyConfig | None = None) -> list[str]:
    """The stages to run for ``names`` (default all that ``config`` enables): with every
    prerequisite, in order. A disabled stage asked for (or needed) by name is an error."""
    if names is not None and not names:
        raise StudyError(f"no stage asked for (allowed: {', '.join(STAGES)}, or None for all)")
    wanted = names or [n for n, s in STAGES.items() if config is None or s.is_enabled(config)]
    unknown = [n for n in wanted if n not in STAGES]
    if unknown:
        raise StudyError(f"unknown stage(s) {unknown} (allowed: {', '.join(STAGES)})")
    needed: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(STAGES[name].requires)
    off = [n for n in STAGES if n in needed and config and not STAGES[n].is_enabled(config)]
    if off:
        keys = ", ".join(f"[stages.{n}] enabled" for n in off)
        raise StudyError(f"stage(s) {off} are switched off in the config; set {keys} = true")
    return [n for n in STAGES if n in needed]
