"""Stage ``zoo``: train a decoder zoo (sweep ``train`` jobs), then probe it for the V-axis
(the science and its figures: vaxis.zoo)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.sweep import Job
    from vaxis.zoo.config import ZooConfig


def zoo_config(config: StudyConfig, context: StudyContext, cohort: Path) -> ZooConfig:
    """The library config of the study's ``[stages.zoo]`` (the stage and its plan use it)."""
    from vaxis.zoo.config import ZooConfig

    return ZooConfig(
        **config.stages.zoo.model_dump(),
        cohort=cohort,
        positions=str(axis_dir(context)),
        out=context.folder("zoo"),
    )


def plan_jobs(config: StudyConfig, cohort: Path, task: str) -> dict[str, Job]:
    """Label (decoder/regime[/variant]/seed) -> the sweep job the stage runs on ``cohort``."""
    from vaxis.zoo.jobs import plan_jobs as zoo_jobs

    context = StudyContext(out=Path(config.out), progress=False)
    settings = zoo_config(config, context, cohort).model_copy(update={"task": task})
    return {run.name: run.job for run in zoo_jobs(settings)}


@stage(
    "zoo",
    "Decoder zoo and rediscovery (probing)",
    requires=("data", "axis"),
    uses=("stages.zoo",),
)
def zoo(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the zoo through a resumable sweep, then probe every checkpoint."""
    from vaxis.zoo.stage import run

    stage_config = zoo_config(config, context, cohort_path(config, context))
    report = run(stage_config, compute=config.compute, progress=context.progress)
    return StageResult.of(report, context)
