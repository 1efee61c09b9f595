"""What every direction method shares: the result type, input checks, orientation, the registry.

A method file defines one function that returns a raw direction (any norm, any sign) and
decorates it with :func:`register`. The decorator checks the inputs once for every method, then
turns the raw vector into a unit :class:`Direction` with one sign convention: higher-valence
classes project higher (the correlation of class-centroid projections with ``class_valence`` is
non-negative) or, when ``sign_reference`` names a class, that class's centroid projects above the
mean of the class centroids (the study's "Joy projects positive").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Direction:
    """A unit direction in state space, oriented so that higher valence projects higher."""

    vector: np.ndarray
    explained_variance: float | None
    method: str


class MethodFn(Protocol):
    """``(states (n, d), class_index (n,), class_valence (k,)) -> Direction``."""

    def __call__(
        self,
        states: np.ndarray,
        class_index: np.ndarray,
        class_valence: np.ndarray,
        *,
        sign_reference: int | None = None,
    ) -> Direction: ...


#: A method's own computation: the checked inputs -> (raw vector, explained variance or None).
RawFn = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, float | None]]

METHODS: dict[str, MethodFn] = {}


class DegenerateDirectionError(ValueError):
    """The states carry no direction at all (e.g. identical class centroids)."""


def class_centroids(states: np.ndarray, class_index: np.ndarray, n_classes: int) -> np.ndarray:
    """(k, ...) mean state of each class; works for (n, d) and (n, L, d) states alike."""
    onehot = np.zeros((n_classes, len(class_index)))
    onehot[class_index, np.arange(len(class_index))] = 1.0
    counts = onehot.sum(axis=1)
    flat = states.reshape(len(states), -1)
    return (onehot @ flat / counts[:, None]).reshape((n_classes, *states.shape[1:]))


def within_class_residuals(
    states: np.ndarray, class_index: np.ndarray, n_classes: int
) -> np.ndarray:
    """Each text's state minus its class centroid: the variation between paraphrases of one
    story, which supervised methods treat as noise (differences between stories are not)."""
    return states - class_centroids(states, class_index, n_classes)[class_index]


def within_class_scale(states: np.ndarray, class_index: np.ndarray, n_classes: int) -> np.ndarray:
    """(d,) pooled within-class standard deviation; dimensions that never vary get 1."""
    scale = within_class_residuals(states, class_index, n_classes).std(axis=0)
    return np.where(scale > 0, scale, 1.0)


def check_inputs(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays as float / int, with a clear error for every way they can disagree."""
    states = np.asarray(states, dtype=np.float64)
    class_index = np.asarray(class_index)
    class_valence = np.asarray(class_valence, dtype=np.float64)
    if states.ndim != 2:
        raise ValueError(f"states must be (n_texts, width); got shape {states.shape}")
    if class_valence.ndim != 1 or len(class_valence) < 2:
        raise ValueError(f"class_valence must be (n_classes >= 2,); got {class_valence.shape}")
    if class_index.shape != (len(states),) or not np.issubdtype(class_index.dtype, np.integer):
        raise ValueError(
            f"class_index must be {len(states)} integers (one per text); "
            f"got {class_index.dtype} {class_index.shape}"
        )
    k = len(class_valence)
    if class_index.min() < 0 or class_index.max() >= k:
        raise ValueError(f"class_index must lie in 0..{k - 1} (one per class_valence entry)")
    missing = np.setdiff1d(np.arange(k), class_index)
    if missing.size:
        raise ValueError(f"classes {missing.tolist()} have no texts; every class needs one")
    if not (np.isfinite(states).all() and np.isfinite(class_valence).all()):
        raise ValueError("states and class_valence must be finite (no NaN or inf)")
    return states, class_index, class_valence


def split_by_valence(class_valence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of positive (> 0) and negative (< 0) classes; both must be non-empty."""
    positive, negative = class_valence > 0, class_valence < 0
    if not (positive.any() and negative.any()):
        raise ValueError("this method needs at least one class with valence > 0 and one with < 0")
    return positive, negative


def binary_samples(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Texts of positive and negative classes with labels 1 / 0 (neutral texts dropped)."""
    split_by_valence(class_valence)
    sample_valence = class_valence[class_index]
    keep = sample_valence != 0
    return states[keep], (sample_valence[keep] > 0).astype(int)


def orient(
    vector: np.ndarray,
    centroids: np.ndarray,
    class_valence: np.ndarray,
    sign_reference: int | None,
) -> np.ndarray:
    """``vector`` signed so that higher valence (or the reference class) projects higher."""
    positions = centroids @ vector
    if sign_reference is not None:
        evidence = positions[sign_reference] - positions.mean()
    else:
        evidence = np.dot(positions - positions.mean(), class_valence - class_valence.mean())
    return -vector if evidence < 0 else vector


def register(name: str) -> Callable[[RawFn], MethodFn]:
    """Add a raw method to :data:`METHODS` under ``name``, wrapped into a :data:`MethodFn`."""

    def decorate(raw: RawFn) -> MethodFn:
        if name in METHODS:
            raise ValueError(f"direction method {name!r} is registered twice")

        @functools.wraps(raw)
        def method(
            states: np.ndarray,
            class_index: np.ndarray,
            class_valence: np.ndarray,
            *,
            sign_reference: int | None = None,
        ) -> Direction:
            states, class_index, class_valence = check_inputs(states, class_index, class_valence)
            if sign_reference is not None and not 0 <= sign_reference < len(class_valence):
                raise ValueError(f"sign_reference {sign_reference} is not a class index")
            vector, explained = raw(states, class_index, class_valence)
            norm = float(np.linalg.norm(vector))
            scale = float(np.abs(states).max(initial=0.0))
            if not np.isfinite(norm) or norm <= 1e-12 * max(scale, 1e-300):
                raise DegenerateDirectionError(f"{name}: the states define no direction")
            centroids = class_centroids(states, class_index, len(class_valence))
            unit = orient(vector / norm, centroids, class_valence, sign_reference)
            return Direction(vector=unit, explained_variance=explained, method=name)

        METHODS[name] = method
        return method

    return decorate


def get_method(name: str) -> MethodFn:
    """The registered method ``name``; an unknown name lists the choices."""
    try:
        return METHODS[name]
    except KeyError:
        choices = ", ".join(sorted(METHODS))
        raise ValueError(f"unknown direction method {name!r}; choose one of: {choices}") from None
