"""Which stimuli carry a read-out's correlation.

Pearson r is the mean of products of z-scores, ``r = (1/n) sum_i z(pred)_i z(y)_i`` (z with
ddof 0), so each stimulus contributes one additive term; a category's contribution is the sum
over its stimuli. The study's subset analysis (r within {anger, amusement, tenderness} vs
within the other stimuli) is :func:`subset_r`. A subset chosen after looking at the
contributions is descriptive only: its r is not a test.
"""

from __future__ import annotations

import numpy as np

from vaxis.brain.protocols import pearson


def stimulus_contributions(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n,) additive terms of r(pred, y); they sum to r."""
    z_pred = (pred - pred.mean()) / pred.std()
    z_y = (y - y.mean()) / y.std()
    return z_pred * z_y / y.size


def category_contributions(
    pred: np.ndarray, y: np.ndarray, categories: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    """Category name -> sum of its stimuli's contributions to r(pred, y)."""
    terms = stimulus_contributions(pred, y)
    return {names[c]: float(terms[categories == c].sum()) for c in np.unique(categories)}


def subset_r(pred: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """r over the stimuli in ``mask`` only; ``pred`` and ``y`` (n,) or (n, P)."""
    return pearson(np.asarray(pred)[mask], np.asarray(y)[mask], axis=0)


def subset_mask(
    categories: np.ndarray, names: tuple[str, ...], subset: tuple[str, ...]
) -> np.ndarray:
    """Stimuli whose category name is in ``subset``; ValueError naming unknown categories."""
    unknown = sorted(set(subset) - set(names))
    if unknown:
        raise ValueError(f"unknown categories {unknown}; this dataset has {list(names)}")
    wanted = [names.index(name) for name in subset]
    return np.isin(categories, wanted)
