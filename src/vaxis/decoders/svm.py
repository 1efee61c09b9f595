"""The FACED paper's baseline: a linear SVM on DE features, as a scikit-learn pipeline.

``FlattenSeconds -> StandardScaler -> LinearSVC``: the seconds of a unit are averaged, the
channel x band features flattened and standardised (statistics from the training samples only,
inside the pipeline), and a one-vs-rest linear SVM (``C`` = 1 unless tuned) is fitted. It is not a
torch :class:`~vaxis.decoders.base.Decoder`; the experiment runner fits it with ``fit(x, y)``
and scores its ``predict(x)`` with the same metrics. Its "logits" are the SVM decision values
and its "features" the standardised inputs.

Registered in :data:`SKLEARN_DECODERS` (name -> pipeline factory), separately from the torch
registry, so ``vaxis train --decoder svm`` and the completeness test find it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

SklearnFactory = Callable[..., Pipeline]
SKLEARN_DECODERS: dict[str, SklearnFactory] = {}


def register_sklearn(name: str) -> Callable[[SklearnFactory], SklearnFactory]:
    """Function decorator adding a pipeline factory to :data:`SKLEARN_DECODERS`."""

    def add(factory: SklearnFactory) -> SklearnFactory:
        if name in SKLEARN_DECODERS:
            raise ValueError(f"scikit-learn decoder '{name}' is registered twice")
        SKLEARN_DECODERS[name] = factory
        return factory

    return add


class FlattenSeconds(TransformerMixin, BaseEstimator):
    """(n, seconds, channels, bands) -> (n, channels x bands) by averaging the seconds."""

    def fit(self, x: np.ndarray, y: np.ndarray | None = None) -> FlattenSeconds:
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        pooled = x.mean(axis=1) if x.ndim == 4 else x
        return pooled.reshape(pooled.shape[0], -1)


@register_sklearn("svm")
def linear_svm(C: float = 1.0, max_iter: int = 5000, seed: int = 0) -> Pipeline:
    """The FACED paper's DE + LinearSVC baseline (squared hinge, one-vs-rest)."""
    return Pipeline(
        [
            ("flatten", FlattenSeconds()),
            ("scale", StandardScaler()),
            ("svm", LinearSVC(C=C, max_iter=max_iter, random_state=seed)),
        ]
    )


def features_of(pipeline: Pipeline, x: np.ndarray) -> np.ndarray:
    """What the final estimator sees: every pipeline step but the last applied to ``x``."""
    return np.asarray(pipeline[:-1].transform(x))
