"""The study's residual-diversity ensemble: recipe, combination, diversity, selection, report.

``run(EnsembleConfig(cohort=...))`` (:mod:`.stage`; ``plan`` lists its jobs) trains the
members (resumable sweep), selects on validation subjects, compares on test subjects and
returns an :class:`EnsembleReport` (what `vaxis ensemble` prints and the study's ``ensemble``
stage keeps); ``[stages.ensemble]`` of a study config is :class:`EnsembleSettings`. Light to
import (no torch): ``plan``, ``run`` and ``EnsembleReport`` load on first use.
"""

from typing import TYPE_CHECKING

from vaxis.ensemble.combine import average_probs, balanced_accuracy, softmax
from vaxis.ensemble.diversity import linear_cka, pairwise_diversity, principal_angles
from vaxis.ensemble.loo import correlate, loo_contributions
from vaxis.ensemble.recipe import EnsembleConfig, EnsembleSettings
from vaxis.ensemble.selection import (
    Selection,
    best_single,
    diverse_selection,
    diversity_weights,
    seed_ensemble,
)
from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.ensemble.report import EnsembleReport
    from vaxis.ensemble.stage import plan, run

__all__ = [
    "EnsembleConfig",
    "EnsembleReport",
    "EnsembleSettings",
    "Selection",
    "average_probs",
    "balanced_accuracy",
    "best_single",
    "correlate",
    "diverse_selection",
    "diversity_weights",
    "linear_cka",
    "loo_contributions",
    "pairwise_diversity",
    "plan",
    "principal_angles",
    "run",
    "seed_ensemble",
    "softmax",
]

__getattr__ = lazy_exports(__name__, {"EnsembleReport": "report", "plan": "stage", "run": "stage"})
