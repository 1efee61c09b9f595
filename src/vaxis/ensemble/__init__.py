"""The study's residual-diversity ensemble: recipe, combination, diversity, selection, report.

Light to import (no torch): :func:`run_ensemble` lives in :mod:`vaxis.ensemble.run`.
"""

from vaxis.ensemble.combine import average_probs, balanced_accuracy, softmax
from vaxis.ensemble.diversity import linear_cka, pairwise_diversity, principal_angles
from vaxis.ensemble.loo import correlate, loo_contributions
from vaxis.ensemble.recipe import EnsembleConfig
from vaxis.ensemble.selection import (
    Selection,
    best_single,
    diverse_selection,
    diversity_weights,
    seed_ensemble,
)

__all__ = [
    "EnsembleConfig",
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
    "principal_angles",
    "seed_ensemble",
    "softmax",
]
