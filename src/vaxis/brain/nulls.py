"""Null distributions and confidence intervals for the read-out figures.

- Permutation null: positions shuffled, then the *same* cross-validated pipeline
  (standardisation, inner choice of alpha, folds) is rerun on every shuffle;
  p = (1 + #{null >= observed}) / (1 + n). ``"stimuli"`` shuffles positions across stimuli (the
  textbook test: exact when stimuli are exchangeable). Stimuli are not exchangeable when they
  come in categories that shape the EEG as a whole (arousal, say) and the positions follow the
  categories too: 28 clips are then 9 units for the class-level part, and a stimulus shuffle
  gives a null that is too narrow. Measured on 200 synthetic cohorts with no valence but
  random class-level EEG structure (the set-up of ``_class_structured_null`` in
  ``tests/brain/test_mapping.py``, 100 permutations each), the share of leave-one-stimulus-out
  p < 0.05 was 16.5% (class positions) and 19.5% (per-stimulus positions) with the stimulus
  shuffle, and 4% and 6% with the default ``"hierarchical"`` shuffle, which permutes class
  means across classes and each stimulus's deviation from its class mean within its class
  (class positions have no deviations: it permutes classes).
- Random-direction null: the study projected clips on random directions of the language
  model's space. vaxis has no per-clip hidden states here, so it draws Gaussian positions with
  the observed positions' structure: a class part (sd of the observed class means) plus a
  within-class part (sd of the observed deviations; none for class positions). This is what a
  random direction gives if the clips' states vary isotropically at each level; it is not a
  projection of real states. The pipeline is rerun on each draw.
- Bootstrap over subjects: subjects resampled with replacement, the cohort mean recomputed
  from the resampled subjects, the leave-one-stimulus-out r recomputed (percentile interval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from vaxis.brain.linear import Model
from vaxis.brain.protocols import leave_groups_out

PermutationScheme = Literal["hierarchical", "stimuli"]


@dataclass(frozen=True, eq=False)
class Draws:
    """Null positions, one column per draw, and how they were drawn (for the report)."""

    values: np.ndarray  # (stimuli, n)
    kind: str


def class_constant(y: np.ndarray, categories: np.ndarray) -> bool:
    """True when every category's stimuli share one position (a class fallback)."""
    return all(np.ptp(y[categories == c]) == 0 for c in np.unique(categories))


def permuted_positions(
    y: np.ndarray,
    categories: np.ndarray,
    n: int,
    rng: np.random.Generator,
    scheme: PermutationScheme = "hierarchical",
) -> Draws:
    """``n`` shuffles of ``y``: across stimuli, or hierarchically (see the module docstring)."""
    y = np.asarray(y, dtype=float)
    if scheme == "stimuli":
        order = rng.permuted(np.tile(np.arange(y.size), (n, 1)), axis=1)
        return Draws(y[order].T, "permutation of positions across stimuli")
    labels, codes = np.unique(categories, return_inverse=True)
    means = np.array([y[codes == k].mean() for k in range(labels.size)])
    order = rng.permuted(np.tile(np.arange(labels.size), (n, 1)), axis=1)
    draws = means[order][:, codes]  # (n, stimuli): class means shuffled across classes
    if class_constant(y, categories):
        return Draws(draws.T, "permutation of class positions across classes")
    deviations = y - means[codes]
    for k in range(labels.size):
        members = np.flatnonzero(codes == k)
        draws[:, members] += deviations[rng.permuted(np.tile(members, (n, 1)), axis=1)]
    return Draws(draws.T, "hierarchical permutation: class means across classes, deviations within")


def random_positions(
    y: np.ndarray, categories: np.ndarray, n: int, rng: np.random.Generator
) -> Draws:
    """Gaussian positions with the observed split of variance between and within classes."""
    y = np.asarray(y, dtype=float)
    labels, codes = np.unique(categories, return_inverse=True)
    means = np.array([y[codes == k].mean() for k in range(labels.size)])
    between, within = float(np.std(means)), float(np.std(y - means[codes]))
    draws = between * rng.standard_normal((labels.size, n))[codes]
    if within == 0:
        return Draws(draws, "random directions: Gaussian position per class")
    draws += within * rng.standard_normal((y.size, n))
    return Draws(
        draws,
        f"random directions: Gaussian class means (sd {between:.3g}) + deviations "
        f"(sd {within:.3g}), as observed",
    )


def bootstrap_loso(
    per_subject: np.ndarray,
    y: np.ndarray,
    model: Model,
    alphas: tuple[float, ...],
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n,) leave-one-stimulus-out r on cohort means of subjects resampled with replacement.

    ``per_subject`` (subjects, stimuli, features); missing cells (NaN) are skipped in means.
    """
    n_subjects, n_stimuli = per_subject.shape[:2]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    valid = ~np.isnan(per_subject)
    values = np.where(valid, per_subject, 0.0).reshape(n_subjects, -1)
    counts = rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=n)
    totals = counts @ values
    present = counts @ valid.reshape(n_subjects, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (totals / present).reshape(n, n_stimuli, -1)
    stimuli = np.arange(n_stimuli)
    for b in range(n):
        if np.isnan(means[b]).any():
            continue  # a resample without any subject for some stimulus: skipped
        protocol = leave_groups_out(means[b], stimuli, "loso", "")
        out[b] = protocol.score(y, model, alphas)[0]
    return out


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite values (NaN, NaN if none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)
