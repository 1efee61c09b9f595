"""The study's recipe: the first principal component of the class centroids."""

from __future__ import annotations

import numpy as np

from vaxis.axis.methods.base import class_centroids, register


@register("centroid_pca")
def centroid_pca(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, float]:
    """PC1 of the mean-centred (k, d) matrix of class centroids.

    Formula: ``M = C - mean(C)`` with ``C[c] = mean(states[class == c])``; the direction is the
    first right singular vector of ``M`` and ``explained_variance = s_1**2 / sum(s**2)``, PC1's
    share of the centroid variance. ``class_valence`` only orients the sign.

    Reference: the V-axis recipe of "A Shared Valence Axis Across Modern LLMs and Human EEG"
    (arXiv:2606.00129), nine story centroids at the penultimate layer.

    Adequate when valence is the largest difference between the class centroids, which the study
    found for models of a few billion parameters. It is unsupervised, so on small models it
    follows whatever separates the stories most, often their content
    (docs/REFERENCE.md sec. 5.3: Pang & Lee AUROC 0.38-0.44 for SmolLM2-135M and
    Gemma-3-270M); check the diagnosis.
    """
    centroids = class_centroids(states, class_index, len(class_valence))
    centred = centroids - centroids.mean(axis=0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(singular**2))
    explained = float(singular[0] ** 2 / total) if total > 0 else float("nan")
    return singular[0] * rows[0], explained  # zero (degenerate) when the centroids coincide
