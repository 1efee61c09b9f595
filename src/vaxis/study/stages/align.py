"""Stage ``align``: V-axis interventions against a plain baseline, with paired statistics
(the science and its figures: vaxis.align)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.align.config import AlignConfig


def _epoch_probe(config: StudyConfig) -> str:
    """Part of align's cache check: per-epoch probes are recorded while saturation is on (and
    nothing changes while it is off)."""
    return "epoch_probe" if config.stages.saturation.enabled else ""


def align_config(config: StudyConfig, context: StudyContext) -> AlignConfig:
    """The library config of the study's ``[stages.align]`` (the stage and its plan use it)."""
    from vaxis.align.config import AlignConfig

    return AlignConfig(
        **config.stages.align.model_dump(),
        cohort=cohort_path(config, context),
        positions=str(axis_dir(context)),
        epoch_probe=config.stages.saturation.enabled,
        out=context.folder("align"),
    )


@stage(
    "align",
    "Alignment interventions",
    requires=("data", "axis"),
    uses=("stages.align",),
    fingerprint=_epoch_probe,
)
def align(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the baseline and each intervention over the seeds; compare per subject and seed."""
    from vaxis.align.stage import run

    stage_config = align_config(config, context)
    report = run(stage_config, compute=config.compute, progress=context.progress)
    return StageResult.of(report, context)
