"""Stage ``brain``: the EEG read-out of the V-axis (held-out figures beside in-sample)."""

from __future__ import annotations

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path


@stage("brain", "EEG read-out of the V-axis", requires=("data", "axis"), uses=("stages.brain",))
def brain(config: StudyConfig, context: StudyContext) -> StageResult:
    """Fit the read-out from channel x band features to each stimulus's V-axis position."""
    from vaxis.brain.stage import BrainConfig, run

    stage_config = BrainConfig(
        **config.stages.brain.model_dump(),
        cohort=cohort_path(config, context),
        positions=str(axis_dir(context)),
        out=context.folder("brain"),
    )
    return StageResult.of(run(stage_config), context)
