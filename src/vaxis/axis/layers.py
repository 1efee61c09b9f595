"""Which layer carries the valence axis? Decided from the training stories only.

Layer convention (the one of ``transformers``' hidden-states tuple and of
:class:`vaxis.axis.lm.HiddenStates`): states index 0 is the embedding output and index ``i`` the
output of transformer layer ``i`` (1-based, as the study counts), so the last index is the final
layer ``L_max`` and the study's penultimate layer ``L_max - 1`` is index ``n_layers - 2``.

Each layer gets two scores. ``ordering`` is the Spearman correlation between the class-centroid
positions on that layer's direction and the class valence, in-sample. ``held_out`` is the same
correlation for held-out positions: the texts of each group are projected on a direction fitted
without that group, relative to the training part's centre, and averaged per class over all
groups (pooling, rather than averaging one Spearman per group, works for any grouping, including
groups that hold a single class). ``held_out`` is the layer's score: in-sample positions flatter
supervised methods, which put positive training stories above negative ones even in pure noise.
``passes`` says whether a layer's held-out positions pass the axis diagnosis
(:func:`vaxis.axis.diagnostics.orders_by_valence`); the ``"auto"`` rule only picks among those.

Without ``groups`` each class is its own group (leave-one-story-out when each class has one
story): the only grouping that asks whether the axis places a story it has never seen. Grouping
by paraphrase index leaves every story's other paraphrases, and so its content, in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.stats import spearmanr

from vaxis.axis.diagnostics import orders_by_valence
from vaxis.axis.methods import DegenerateDirectionError, class_centroids, get_method

LayerRule = Literal["auto", "penultimate"] | int


@dataclass(frozen=True)
class LayerScores:
    """Per-layer evidence that a direction is a valence axis (see the module docstring)."""

    ordering: np.ndarray  # (L,) in-sample Spearman(class positions, class valence)
    held_out: np.ndarray  # (L,) Spearman(held-out class positions, class valence): the score
    held_out_positions: np.ndarray  # (L, k) held-out class positions
    passes: np.ndarray  # (L,) bool: the held-out positions pass the axis diagnosis
    n_folds: int
    grouping: str  # "class" or "groups"

    @property
    def n_layers(self) -> int:
        return len(self.ordering)

    @property
    def passing_layers(self) -> list[int]:
        """Indices of the layers whose held-out class positions pass the diagnosis."""
        return np.flatnonzero(self.passes).tolist()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes None)."""
        return {
            "ordering": nan_to_none(self.ordering),
            "held_out": nan_to_none(self.held_out),
            "held_out_positions": nan_to_none(self.held_out_positions),
            "passes": self.passes.tolist(),
            "n_folds": self.n_folds,
            "grouping": self.grouping,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerScores:
        """Inverse of :meth:`to_dict`."""

        def array(key: str) -> np.ndarray:
            return np.array(data[key], dtype=float)  # None -> nan

        return cls(
            ordering=array("ordering"),
            held_out=array("held_out"),
            held_out_positions=array("held_out_positions"),
            passes=np.array(data["passes"], dtype=bool),
            n_folds=int(data["n_folds"]),
            grouping=str(data["grouping"]),
        )


def nan_to_none(values: np.ndarray) -> Any:
    """Nested lists of an array with NaN as None, for strict JSON."""
    out = values.astype(object)
    out[np.isnan(values)] = None
    return out.tolist()


def spearman(positions: np.ndarray, valence: np.ndarray) -> float:
    """Spearman correlation, NaN where either side is constant or has a NaN."""
    if not np.isfinite(positions).all() or np.ptp(positions) == 0 or np.ptp(valence) == 0:
        return float("nan")
    return float(spearmanr(positions, valence)[0])


def fit_directions(
    states: np.ndarray,
    class_index: np.ndarray,
    class_valence: np.ndarray,
    method: str,
    sign_reference: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(L, d) unit directions and (L,) method-reported explained variance, one per layer.

    A layer whose states define no direction (e.g. last-token embeddings that are identical for
    every text) gets a zero vector and NaN.
    """
    fit = get_method(method)
    n_layers, width = states.shape[1:]
    directions = np.zeros((n_layers, width))
    explained = np.full(n_layers, np.nan)
    for layer in range(n_layers):
        try:
            found = fit(states[:, layer], class_index, class_valence, sign_reference=sign_reference)
        except DegenerateDirectionError:
            continue
        directions[layer] = found.vector
        if found.explained_variance is not None:
            explained[layer] = found.explained_variance
    return directions, explained


def _folds(class_index: np.ndarray, groups: np.ndarray | None, max_folds: int) -> np.ndarray:
    """(n,) fold of each text: its class without ``groups``; else its group, with groups dealt
    round-robin into at most ``max_folds`` folds (a group never straddles two folds)."""
    if groups is None:
        return class_index
    groups = np.asarray(groups)
    if groups.shape != class_index.shape:
        raise ValueError(f"groups must have one entry per text; got {groups.shape}")
    _, rank = np.unique(groups, return_inverse=True)
    return rank % max_folds


def score_layers(
    states: np.ndarray,
    class_index: np.ndarray,
    class_valence: np.ndarray,
    groups: np.ndarray | None = None,
    method: str = "mean_difference",
    sign_reference: int | None = None,
    max_folds: int = 10,
) -> LayerScores:
    """Score every layer of (n, L, d) ``states`` by in-sample and held-out class ordering."""
    states = np.asarray(states, dtype=np.float64)
    class_index = np.asarray(class_index)
    valence = np.asarray(class_valence, dtype=np.float64)
    k = len(valence)
    if states.ndim != 3 or len(class_index) != len(states):
        raise ValueError(f"states must be (n_texts, n_layers, width); got {states.shape}")
    folds = _folds(class_index, groups, max_folds)
    n_folds = len(np.unique(folds))
    if n_folds < 2:
        raise ValueError("layer scoring needs at least two groups to hold out")

    directions, _ = fit_directions(states, class_index, valence, method, sign_reference)
    centroids = class_centroids(states, class_index, k)  # (k, L, d)
    ordering = np.array(
        [spearman(centroids[:, i] @ directions[i], valence) for i in range(len(directions))]
    )

    sums = np.zeros((states.shape[1], k))
    for fold in np.unique(folds):
        test = folds == fold
        present, train_index = np.unique(class_index[~test], return_inverse=True)
        reference = None
        if sign_reference is not None and sign_reference in present:
            reference = int(np.searchsorted(present, sign_reference))
        try:
            fold_dirs, _ = fit_directions(
                states[~test], train_index, valence[present], method, reference
            )
        except ValueError as err:
            raise ValueError(
                f"scoring layers without fold {fold}: {err} (with the default grouping each "
                "class is held out in turn, so every valence sign needs two classes; or pass "
                "groups that keep every class in training)"
            ) from err
        centre = class_centroids(states[~test], train_index, len(present)).mean(axis=0)  # (L, d)
        projected = np.einsum("nld,ld->nl", states[test] - centre, fold_dirs)  # (n_test, L)
        np.add.at(sums.T, class_index[test], projected)
    counts = np.bincount(class_index, minlength=k)
    positions = sums / counts
    held_out = np.array([spearman(row, valence) for row in positions])
    passes = np.array([orders_by_valence(row, valence) for row in positions], dtype=bool)
    grouping = "class" if groups is None else "groups"
    return LayerScores(ordering, held_out, positions, passes, n_folds, grouping)


def choose_layer(scores: LayerScores, rule: LayerRule = "auto") -> int:
    """The layer index that ``rule`` picks.

    ``"auto"``: among the layers whose held-out positions pass the diagnosis, the highest
    held-out score (ties broken by in-sample ordering, then the lower index); when no layer
    passes, the same over all layers, and the axis's diagnosis then says that no layer passes
    (:attr:`LayerScores.passing_layers` is empty). ``"penultimate"``: index ``n_layers - 2``,
    the study's layer ``L_max - 1``. An int: that index (negative counts from the end).
    """
    n = scores.n_layers
    if rule == "auto":
        held_out = np.nan_to_num(scores.held_out, nan=-np.inf)
        if np.isneginf(held_out).all():
            raise ValueError("no layer has a finite held-out score; cannot choose a layer")
        if scores.passes.any():
            held_out = np.where(scores.passes, held_out, -np.inf)
        ordering = np.nan_to_num(scores.ordering, nan=-np.inf)
        return int(np.lexsort((np.arange(n), -ordering, -held_out))[0])
    if rule == "penultimate":
        if n < 2:
            raise ValueError("'penultimate' needs states of at least two layers")
        return n - 2
    if isinstance(rule, int | np.integer) and not isinstance(rule, bool) and -n <= rule < n:
        return int(rule) % n
    raise ValueError(
        f"layer must be 'auto', 'penultimate' or an index in [-{n}, {n}); got {rule!r}"
    )
