"""Stage ``axis``: build the V-axis of the language model and validate it zero-shot (the
science and its figures: vaxis.axis.stage)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.data import dataset_of

if TYPE_CHECKING:
    from vaxis.axis.stage import AxisStageConfig

#: the config the axis depends on (not ``model.compare``: listing models rebuilds nothing)
AXIS_USES = ("model.name", "model.gguf_file", "model.cache_dir", "stages.axis")


def axis_dir(context: StudyContext) -> Path:
    """The axis folder the stage writes (other stages read positions from it)."""
    from vaxis.axis.stage import AXIS_DIR

    return context.folder("axis") / AXIS_DIR


def axis_config(config: StudyConfig, context: StudyContext) -> AxisStageConfig:
    """The library config of the study's ``[model]`` and ``[stages.axis]``."""
    from vaxis.axis.stage import AxisStageConfig

    return AxisStageConfig.model_validate(
        {
            **config.stages.axis.model_dump(),
            "model": config.model.name,
            "gguf_file": config.model.gguf_file,
            "cache_dir": config.model.cache_dir,
            "dataset": dataset_of(config),
            "out": context.folder("axis"),
        }
    )


@stage(
    "axis",
    "V-axis and zero-shot validation",
    uses=AXIS_USES,
    fingerprint=dataset_of,  # the class set of the stories follows the EEG dataset
)
def axis(config: StudyConfig, context: StudyContext) -> StageResult:
    """Build the V-axis (per layer) and validate it on human-rated text against a null."""
    from vaxis.axis.stage import run

    report = run(axis_config(config, context), progress=context.progress)
    return StageResult.of(report, context, report.provenance())
