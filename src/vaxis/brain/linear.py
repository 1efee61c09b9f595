r"""Closed-form linear read-outs (ridge, PLS-1) for many folds and many targets at once.

The honest figures refit the read-out thousands of times (28 leave-one-stimulus-out folds x
1000 permutations, and more for the subject protocols). With n <= ~50 training stimuli and
p = 160-310 channel-band features the dual (kernel) form needs one eigendecomposition of an
n x n kernel per fold. It does not depend on the targets, so it is computed once per fold
(:func:`fold_basis`) and reused for every permutation (:func:`fit_predict`).

Per fold: features are standardised with the training rows' mean and standard deviation
(ddof 0, as scikit-learn's ``StandardScaler``; constant features keep scale 1), the target is
centred and the intercept is not penalised. With ``A`` the standardised training features,
``K = A A^T = U diag(s) U^T`` and ``y_c`` the centred target, a test row ``b`` is predicted as
``ybar + b A^T c`` with the dual coefficients ``c``:

- ``ridge``: ``c = (K + alpha I)^-1 y_c`` (the dual of ``(A^T A + alpha I)^-1 A^T y_c``). ``alpha``
  is chosen per fold and per target from a grid by the exact leave-one-out error on the training
  rows, ``e_i / (1 - h_ii)`` with ``H = 11^T / n + K (K + alpha I)^-1`` -- what scikit-learn's
  ``RidgeCV`` computes on standardised data. Test rows never enter this choice.
- ``pls``: one PLS component for one target (Wold's NIPALS, scikit-learn's ``PLSRegression(1)``):
  weights ``w ~ A^T y_c``, scores ``t = A w``, ``y_hat = t (t^T y_c) / (t^T t)``, i.e.
  ``c = y_c (y_c^T K y_c) / (y_c^T K^2 y_c)``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController

Model = Literal["ridge", "pls"]
MODELS: tuple[str, ...] = ("ridge", "pls")
#: Default ridge grid: standardised features make K's eigenvalues scale with p (~10^2..10^4).
DEFAULT_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(-2, 6, 17))
_TINY = 1e-12


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


def single_threaded_blas() -> AbstractContextManager[Any]:
    """Run BLAS on one thread inside the ``with`` block.

    Every matrix here is tiny (n <= ~50); threaded BLAS on thousands of tiny batched products
    only adds waiting, and on shared cores it was measured 20-100x slower than one thread.
    """
    return _threadpools().limit(limits=1, user_api="blas")


@dataclass(frozen=True, eq=False)
class FoldBasis:
    """Target-independent part of F folds: kernel eigenpairs and test-by-train kernels."""

    eigvals: np.ndarray  # (F, n) eigenvalues of the training kernel, clipped at 0
    eigvecs: np.ndarray  # (F, n, n) eigenvectors (columns)
    cross: np.ndarray  # (F, m, n) test rows x training rows, standardised units


def standardise(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale over rows (axis -2) as StandardScaler; scale 1 for constant features."""
    mean = x_train.mean(axis=-2, keepdims=True)
    scale = x_train.std(axis=-2, keepdims=True)
    scale[scale < 10 * np.finfo(float).eps] = 1.0
    return mean, scale


def fold_basis(x_train: np.ndarray, x_test: np.ndarray) -> FoldBasis:
    """Eigenpairs of each fold's training kernel; ``x_train`` (F, n, p), ``x_test`` (F, m, p)."""
    x_train = np.asarray(x_train, dtype=np.float64)
    mean, scale = standardise(x_train)
    a = (x_train - mean) / scale
    b = (np.asarray(x_test, dtype=np.float64) - mean) / scale
    with single_threaded_blas():
        eigvals, eigvecs = np.linalg.eigh(a @ a.transpose(0, 2, 1))
        cross = b @ a.transpose(0, 2, 1)
    return FoldBasis(np.clip(eigvals, 0.0, None), eigvecs, cross)


def dual_coefficients(
    basis: FoldBasis, y_train: np.ndarray, model: Model, alphas: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dual coefficients (F, n, P), target means (F, 1, P) and chosen alpha index (F, P).

    ``y_train`` (F, n, P): P targets per fold (e.g. the observed positions and permutations).
    The alpha index is -1 for PLS (no alpha).
    """
    y = np.asarray(y_train, dtype=np.float64)
    ybar = y.mean(axis=1, keepdims=True)
    yc = y - ybar
    s, u = basis.eigvals, basis.eigvecs
    uy = u.transpose(0, 2, 1) @ yc  # (F, n, P) target in the eigenbasis
    if model == "pls":
        q1 = np.einsum("fn,fnp->fp", s, uy**2)
        q2 = np.einsum("fn,fnp->fp", s**2, uy**2)
        gain = np.divide(q1, q2, out=np.zeros_like(q1), where=q2 > _TINY)
        return yc * gain[:, None, :], ybar, np.full(gain.shape, -1)
    if model != "ridge":
        raise ValueError(f"unknown read-out model {model!r}; choose one of {MODELS}")
    if not alphas:
        raise ValueError("ridge needs at least one alpha")
    n = y.shape[1]
    u2 = u**2
    best_err = np.full(y.shape[::2], np.inf)
    best_index = np.zeros(best_err.shape, dtype=int)
    for index, alpha in enumerate(alphas):
        shrink = 1.0 / (s + alpha)  # (F, n)
        # residual y_c - K c = U diag(alpha / (s + alpha)) U^T y_c (U is a complete basis)
        residual = u @ ((alpha * shrink)[:, :, None] * uy)
        leverage = 1.0 / n + np.einsum("fij,fj->fi", u2, s * shrink)
        free = np.clip(1.0 - leverage, 0.0, None)[:, :, None]
        loo = np.divide(residual, free, out=np.full_like(residual, np.inf), where=free > _TINY)
        err = np.mean(loo**2, axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_index[better] = index
    chosen = np.asarray(alphas, dtype=np.float64)[best_index]  # (F, P)
    coef = u @ (uy / (s[:, :, None] + chosen[:, None, :]))
    return coef, ybar, best_index


def fit_predict(
    basis: FoldBasis, y_train: np.ndarray, model: Model, alphas: tuple[float, ...]
) -> np.ndarray:
    """Predictions (F, m, P) for every fold's test rows and every target column."""
    with single_threaded_blas():
        coef, ybar, _ = dual_coefficients(basis, y_train, model, alphas)
        return ybar + basis.cross @ coef


class LinearReadout(RegressorMixin, BaseEstimator):
    """Ridge (alpha by training-only leave-one-out) or PLS-1 on standardised features.

    Parameters
    ----------
    model : ``"ridge"`` or ``"pls"`` (one PLS component).
    alphas : ridge penalties to choose from (leave-one-out error on the training rows).

    Attributes
    ----------
    coef_ (p,) weights on the raw features; intercept_; weights_ (p,) weights on the
    standardised features (comparable across features: what the topomaps show);
    alpha_ (ridge) or None; mean_, scale_ (p,) the standardisation; n_features_in_.
    """

    def __init__(self, model: Model = "ridge", alphas: tuple[float, ...] = DEFAULT_ALPHAS):
        self.model = model
        self.alphas = alphas

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearReadout:
        x = _two_d(X)
        target = np.asarray(y, dtype=np.float64).reshape(-1)
        if target.size != x.shape[0]:
            raise ValueError(f"X has {x.shape[0]} rows but y has {target.size} values")
        mean, scale = standardise(x)
        a = (x - mean) / scale
        basis = fold_basis(x[None], x[None])
        coef, ybar, index = dual_coefficients(
            basis, target[None, :, None], self.model, tuple(self.alphas)
        )
        self.weights_ = a.T @ coef[0, :, 0]
        self.mean_, self.scale_ = mean[0], scale[0]
        self.coef_ = self.weights_ / self.scale_
        self.intercept_ = float(ybar[0, 0, 0] - self.mean_ @ self.coef_)
        self.alpha_ = float(self.alphas[index[0, 0]]) if self.model == "ridge" else None
        self.n_features_in_ = x.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "coef_")
        x = _two_d(X)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features; fitted on {self.n_features_in_}")
        return x @ self.coef_ + self.intercept_


def _two_d(X: np.ndarray) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"X must be 2-D (samples, features); got shape {x.shape}")
    return x
