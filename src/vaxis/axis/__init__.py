"""The V-axis: hidden states of language models and the valence direction found in them.

Two stages: :mod:`.stage` builds one model's axis from the nine stories and validates it
zero-shot on rated texts (``AxisStageConfig``, ``plan``, ``run`` -> ``AxisReport``; the study's
``axis`` stage, `vaxis axis build` + `vaxis axis validate`), and :mod:`.compare_stage` builds
one axis per model and tests their agreement (``CompareConfig`` -> ``CompareReport``, through
``vaxis.axis.compare_stage.run``; the study's ``models`` stage, `vaxis axis compare`). The
parts: :mod:`.lm` (hidden states), :mod:`.methods` (direction methods, a registry),
:mod:`.build` / :mod:`.validate` (the low-level calls), :mod:`.positions` (stimulus positions
from an axis). Imported on first use (no torch on import).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.axis.compare_stage import CompareConfig, CompareReport
    from vaxis.axis.stage import AxisReport, AxisStageConfig, plan, run

_STAGE = ("AxisReport", "AxisStageConfig", "plan", "run")
__all__ = ["AxisReport", "AxisStageConfig", "CompareConfig", "CompareReport", "plan", "run"]
__getattr__ = lazy_exports(
    __name__,
    {name: "stage" for name in _STAGE}
    | {"CompareConfig": "compare_stage", "CompareReport": "compare_stage"},
)
