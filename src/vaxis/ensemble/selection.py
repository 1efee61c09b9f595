"""Which members to average, chosen on validation subjects only.

Every function here takes *validation* arrays only; the test subjects' predictions never reach
them (the caller scores the chosen members on test afterwards).

- :func:`best_single`: the member with the highest validation balanced accuracy (the study's
  "best single", selected on validation).
- :func:`seed_ensemble`: the first ``k`` members in recipe order (seed-major within the first
  epoch setting): a same-size ensemble chosen without looking at any data.
- :func:`diverse_selection`: greedy forward selection by residual diversity. It starts from
  the best single member and adds, at each step, the member whose within-class residuals are
  most different from those already chosen (largest mean pairwise diversity, ties to the
  higher validation score). Members that encode the same within-class residual make the same
  errors, so averaging them cancels less noise than averaging members that encode different
  residual directions.
- :func:`diversity_weights`: weights proportional to each chosen member's mean diversity to
  the other chosen members (a member redundant with the rest counts less).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vaxis.ensemble.combine import balanced_accuracy
from vaxis.ensemble.diversity import Method, class_residuals, pairwise_diversity


@dataclass(frozen=True)
class Selection:
    """Chosen members (indices into the pool, in order of choice) and their weights."""

    name: str
    members: tuple[int, ...]
    weights: tuple[float, ...]
    rule: str

    def to_dict(self, names: list[str]) -> dict[str, object]:
        return {
            "name": self.name,
            "rule": self.rule,
            "members": [names[i] for i in self.members],
            "weights": list(self.weights),
        }


def _uniform(k: int) -> tuple[float, ...]:
    return (1.0 / k,) * k


def best_single(val_scores: np.ndarray) -> Selection:
    """The member with the highest validation score (first one on ties)."""
    index = int(np.argmax(val_scores))
    return Selection("best single", (index,), (1.0,), "highest validation balanced accuracy")


def seed_ensemble(order: list[int], k: int) -> Selection:
    """The first ``k`` of ``order`` (recipe order), uniformly weighted."""
    if not 1 <= k <= len(order):
        raise ValueError(f"k must be between 1 and {len(order)}, got {k}")
    rule = f"first {k} members in recipe order (no data looked at)"
    return Selection(f"seed ensemble ({k})", tuple(order[:k]), _uniform(k), rule)


def diverse_selection(diversity: np.ndarray, val_scores: np.ndarray, k: int) -> Selection:
    """Greedy selection of ``k`` members by residual diversity (see the module docstring)."""
    d, scores = np.asarray(diversity, float), np.asarray(val_scores, float)
    m = scores.size
    if d.shape != (m, m):
        raise ValueError(f"diversity must be ({m}, {m}) for {m} members, got {d.shape}")
    if not 1 <= k <= m:
        raise ValueError(f"k must be between 1 and {m}, got {k}")
    chosen = [int(np.argmax(scores))]
    while len(chosen) < k:
        rest = [i for i in range(m) if i not in chosen]
        gain = d[np.ix_(rest, chosen)].mean(axis=1)
        best = np.flatnonzero(np.isclose(gain, gain.max(), rtol=0, atol=1e-12))
        chosen.append(rest[int(best[np.argmax(scores[[rest[b] for b in best]])])])
    rule = "greedy: best validation member, then the most residual-diverse member each step"
    return Selection(f"residual-diverse ({k})", tuple(chosen), _uniform(k), rule)


def diversity_weights(selection: Selection, diversity: np.ndarray) -> Selection:
    """``selection`` re-weighted by each member's mean diversity to the other chosen members."""
    members = list(selection.members)
    if len(members) == 1:
        return selection
    sub = np.asarray(diversity, float)[np.ix_(members, members)]
    mean = sub.sum(axis=1) / (len(members) - 1)
    weights = mean / mean.sum() if mean.sum() > 0 else np.full(len(members), 1 / len(members))
    rule = selection.rule + "; weights proportional to mean residual diversity to the others"
    name = selection.name.replace("residual-diverse", "residual-diverse weighted")
    return Selection(name, selection.members, tuple(float(w) for w in weights), rule)


def select_members(
    val_probs: np.ndarray,
    val_features: list[np.ndarray],
    val_y: np.ndarray,
    k: int,
    method: Method = "cka",
    rank: int = 8,
) -> tuple[dict[str, Selection], np.ndarray, np.ndarray]:
    """Every selection of the report from *validation* predictions only.

    ``val_probs`` (M, n, K) and ``val_features`` (M arrays (n, D_m)) on the validation
    subjects' samples, ``val_y`` their targets. Returns the selections by role ("best single",
    "seed", "diverse", "weighted"), the (M, M) diversity matrix and the validation scores.
    """
    scores = np.array([balanced_accuracy(val_y, p.argmax(axis=1)) for p in val_probs])
    diversity = pairwise_diversity([class_residuals(f, val_y) for f in val_features], method, rank)
    diverse = diverse_selection(diversity, scores, k)
    chosen = {
        "best single": best_single(scores),
        "seed": seed_ensemble(list(range(scores.size)), k),
        "diverse": diverse,
        "weighted": diversity_weights(diverse, diversity),
    }
    return chosen, diversity, scores
