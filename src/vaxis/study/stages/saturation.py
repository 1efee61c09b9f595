"""Stage ``saturation``: the saturation regularity read from the align stage's runs.

Basin strength rho per epoch (the align runs record per-epoch probes while this stage is
enabled) and each run's saturation epoch, the threshold of baseline accuracy above which
V-axis supervision stops helping, the gradient shares and the directional ablation; the
science and its figures: vaxis.saturation.
"""

from __future__ import annotations

from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage


@stage(
    "saturation",
    "Saturation of the valence basin",
    requires=("align",),
    uses=("stages.saturation",),
    enabled=lambda config: config.stages.saturation.enabled,
)
def saturation(config: StudyConfig, context: StudyContext) -> StageResult:
    """Read the align stage's runs; report the saturation measures and their plots."""
    from vaxis.saturation.config import SaturationConfig
    from vaxis.saturation.stage import run

    settings = config.stages.saturation.model_dump()
    report = run(
        SaturationConfig(
            **settings, align_out=context.folder("align"), out=context.folder("saturation")
        )
    )
    return StageResult.of(report, context)
