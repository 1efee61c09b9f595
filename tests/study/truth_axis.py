"""The study's stages with the axis stage stood in for (test helper, no tests here).

The real axis stage needs a language model; this stand-in writes the synthetic cohort's
planted stimulus valence (its ground truth) as a positions file, as a perfect axis would,
and points the stages that read positions at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vaxis.core.positions import from_truth
from vaxis.data.synthetic import load_truth
from vaxis.study import registry
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext
from vaxis.study.stages import align, ensemble, zoo
from vaxis.study.stages.data import cohort_path

POSITIONS = "stimulus_positions.csv"


def _truth_axis(config: StudyConfig, context: StudyContext) -> StageResult:
    folder = context.folder("axis")
    folder.mkdir(parents=True, exist_ok=True)
    from_truth(load_truth(cohort_path(config, context))).save(folder / POSITIONS)
    return StageResult(notes=["positions: the synthetic cohort's planted valence"])


def _positions(context: StudyContext) -> Path:
    return context.folder("axis") / POSITIONS


@contextmanager
def truth_axis() -> Iterator[None]:
    """Within: the axis stage writes planted positions and zoo/align/ensemble read them."""
    saved = registry.STAGES["axis"]
    registry.STAGES["axis"] = registry.Stage(
        "axis", _truth_axis, "V-axis (stand-in: planted positions)", ("data",), ("data",)
    )
    with pytest.MonkeyPatch.context() as patch:
        for module in (align, ensemble, zoo):
            patch.setattr(module, "axis_dir", _positions)
        try:
            yield
        finally:
            registry.STAGES["axis"] = saved
