"""Difference of means: positive class centroids minus negative ones."""

from __future__ import annotations

import numpy as np

from vaxis.axis.methods.base import class_centroids, register, split_by_valence


@register("mean_difference")
def mean_difference(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, None]:
    """``mean(C[valence > 0]) - mean(C[valence < 0])`` over class centroids ``C``.

    Each class weighs the same whatever its number of texts; neutral classes (valence 0) are
    left out. Reference: the difference-of-means probe of Marks & Tegmark, "The Geometry of
    Truth" (2023), and the mean aggregator of steering-vectors / repeng.

    Adequate as the default: it uses only the valence labels, so content that does not differ
    between positive and negative stories cancels out (docs/REFERENCE.md sec. 5.3: AUROC
    0.74-0.86 on small models where centroid PCA-1 falls below chance). It ignores the noise
    covariance, so a few huge dimensions can dominate it; ``lda`` or ``logistic`` correct for that.
    """
    positive, negative = split_by_valence(class_valence)
    centroids = class_centroids(states, class_index, len(class_valence))
    return centroids[positive].mean(axis=0) - centroids[negative].mean(axis=0), None
