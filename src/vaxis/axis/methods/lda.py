"""Fisher discriminant: the valence contrast whitened by the shrunk within-class covariance."""

from __future__ import annotations

import numpy as np

from vaxis.axis.methods.base import (
    class_centroids,
    register,
    split_by_valence,
    within_class_residuals,
)


@register("lda")
def lda(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, None]:
    """``w = S^-1 (mean(C[valence > 0]) - mean(C[valence < 0]))`` over class centroids ``C``.

    ``S`` is the covariance of the within-class residuals (each text minus its class centroid),
    shrunk towards a scaled identity with the Ledoit-Wolf intensity (scikit-learn
    ``ledoit_wolf``). References: Fisher (1936); Ledoit & Wolf (2004), "A well-conditioned
    estimator for large-dimensional covariance matrices".

    Unlike a two-group LDA of positive versus negative texts, the noise covariance is pooled
    within each class, so graded valence inside the positive (or negative) group and the
    differences between stories are not counted as noise: a two-group LDA would steer away from
    the valence direction precisely because valence varies within each group.

    Adequate when paraphrase noise is anisotropic (a few huge, noisy dimensions) and there are
    enough texts per class to estimate it; with a few texts it tends to ``mean_difference``.
    """
    positive, negative = split_by_valence(class_valence)
    centroids = class_centroids(states, class_index, len(class_valence))
    contrast = centroids[positive].mean(axis=0) - centroids[negative].mean(axis=0)
    residuals = within_class_residuals(states, class_index, len(class_valence))
    if not np.any(residuals):  # one text per class, or identical paraphrases: nothing to whiten
        return contrast, None
    from sklearn.covariance import ledoit_wolf  # lazily: the CLI lists methods without sklearn

    covariance, _ = ledoit_wolf(residuals, assume_centered=True)
    return np.linalg.solve(covariance, contrast), None
