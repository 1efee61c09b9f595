"""Synthetic states with a planted valence direction (test helper, no tests here).

Nine classes with known valence scores. Each text's state is ``signal * s(c) * u`` plus a
class offset plus isotropic noise. Offsets (and an optional big "content" direction ``w``) are
orthogonal to ``u`` in state space and, across classes, orthogonal to the valence scores and to
the positive-minus-negative contrast: they carry no valence, so a method that finds valence
must return ``u``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Distinct per-class valence scores in FACED order (anger ... tenderness); neutral is 0.
VALENCE = np.array([-0.9, -0.5, -0.7, -0.3, 0.0, 0.4, 0.6, 1.0, 0.8])
NAMES = [
    "anger", "disgust", "fear", "sadness", "neutral",
    "amusement", "inspiration", "joy", "tenderness",
]  # fmt: skip


@dataclass(frozen=True)
class Planted:
    states: np.ndarray  # (n, d) or (n, L, d)
    class_index: np.ndarray  # (n,)
    groups: np.ndarray  # (n,) within-class rank, like a paraphrase index
    u: np.ndarray  # (d,) or (L, d) planted unit valence direction(s)
    w: np.ndarray  # (d,) unit content direction


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _valence_free(rng: np.random.Generator, m: int) -> np.ndarray:
    """(k, m) random class values with zero mean and no correlation with the valence scores or
    with the positive-minus-negative contrast."""
    k = len(VALENCE)
    contrast = (VALENCE > 0) / (VALENCE > 0).sum() - (VALENCE < 0) / (VALENCE < 0).sum()
    basis, _ = np.linalg.qr(np.column_stack([np.ones(k), VALENCE, contrast]))
    values = rng.normal(size=(k, m))
    return values - basis @ (basis.T @ values)


def _orthogonal_to(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``vectors`` with their components along the (orthonormal) ``rows`` removed."""
    return vectors - (vectors @ rows.T) @ rows


def planted(
    seed: int = 0,
    *,
    d: int = 64,
    per_class: int = 30,
    signal: float = 3.0,
    offset: float = 1.0,
    content: float = 0.0,
    noise: float = 0.1,
    valence_free: bool = True,
) -> Planted:
    """(n, d) states with valence along a random unit ``u``; ``content`` scales class offsets
    along one unit direction ``w`` orthogonal to ``u`` (0 means no content direction).

    ``valence_free=False`` draws offsets and content freely instead (independent of valence,
    but with the chance correlations nine real stories have): with ``signal=0`` that is a
    layer where nothing was planted. The exact constraints of the default make leave-one-class-
    out positions anti-correlated with valence, so held-out tests of "nothing" use free draws."""
    rng = np.random.default_rng(seed)
    u = unit(rng.normal(size=d))
    w = unit(_orthogonal_to(rng.normal(size=d), u[None]))
    class_index = np.repeat(np.arange(len(VALENCE)), per_class)
    draw = _valence_free if valence_free else lambda r, m: r.normal(size=(len(VALENCE), m))
    offsets = _orthogonal_to(draw(rng, d), np.stack([u, w]))
    offsets *= offset / np.sqrt(np.mean(np.sum(offsets**2, axis=1)))  # rms offset norm
    along_w = draw(rng, 1)[:, 0]
    along_w *= content / np.abs(along_w).max()
    centroids = signal * VALENCE[:, None] * u + offsets + along_w[:, None] * w
    states = centroids[class_index] + noise * rng.normal(size=(len(class_index), d))
    groups = np.tile(np.arange(per_class), len(VALENCE))
    return Planted(states, class_index, groups, u, w)


def planted_layers(
    seed: int = 0, *, n_layers: int = 6, valence_layers: tuple[int, ...] = (3, 4), **kwargs: float
) -> Planted:
    """(n, L, d) states: a different planted ``u`` at each layer of ``valence_layers``; the other
    layers carry freely drawn class offsets and content of their own but no valence signal."""
    layers = [
        planted(seed * 100 + layer, **kwargs)
        if layer in valence_layers
        else planted(seed * 100 + layer, **{**kwargs, "signal": 0.0}, valence_free=False)
        for layer in range(n_layers)
    ]
    first = layers[0]
    return Planted(
        states=np.stack([p.states for p in layers], axis=1),
        class_index=first.class_index,
        groups=first.groups,
        u=np.stack([p.u for p in layers]),
        w=first.w,
    )
