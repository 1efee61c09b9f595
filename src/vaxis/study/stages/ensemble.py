"""Stage ``ensemble``: the study's residual-diversity ensemble and its cascade, CPU-sized.

Members (axial transformers) are sweep jobs run on the ``[compute]`` executor; selections use
the validation subjects only; arms are compared over the test subjects (vaxis.ensemble.stage).
The study's published figures stand beside ours, labelled "published, not run here".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

if TYPE_CHECKING:
    from vaxis.ensemble.recipe import EnsembleConfig


def ensemble_config(config: StudyConfig, context: StudyContext) -> EnsembleConfig:
    """The library config of the study's ``[stages.ensemble]`` (the stage and its plan use it)."""
    from vaxis.ensemble.recipe import EnsembleConfig

    settings = config.stages.ensemble
    hyper: dict[str, Any] = {"heads": settings.heads}
    if settings.channel_tokens is not None:
        hyper["channel_tokens"] = settings.channel_tokens
    return EnsembleConfig(
        cohort=cohort_path(config, context),
        positions=str(axis_dir(context)),
        **settings.model_dump(exclude={"enabled", "heads", "channel_tokens"}),
        hyper=hyper,
        out=context.folder("ensemble"),
    )


@stage(
    "ensemble",
    "Residual-diversity ensemble and cascade",
    requires=("data", "axis"),
    uses=("stages.ensemble",),
    enabled=lambda config: config.stages.ensemble.enabled,
)
def ensemble(config: StudyConfig, context: StudyContext) -> StageResult:
    """Train the pool and the cascade (resumable), select on validation, compare on test."""
    from vaxis.ensemble.stage import run

    stage_config = ensemble_config(config, context)
    report = run(stage_config, compute=config.compute, progress=context.progress)
    return StageResult.of(report, context)
