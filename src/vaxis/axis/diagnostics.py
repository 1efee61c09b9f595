"""Is a fitted direction a valence axis? Checks computed from the training stories alone.

The classes' valence is known before any model is run (anger is negative, joy positive), so an
axis can be judged by how it orders the class centroids. docs/REFERENCE.md sec. 5.3 found that the
study's centroid PCA-1 at the penultimate layer of small models orders the nine stories by
content, not valence; :func:`diagnose` says so instead of letting the number pass silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import kendalltau, spearmanr

#: An axis is ``ok`` when Spearman(class positions, class valence) reaches this value ...
MIN_SPEARMAN = 0.7
# ... and every positive class projects above every negative class. With FACED's nine classes
# and valence groups (-1 x4, 0, +1 x4) a perfect ordering has Spearman 0.91, and swapping one
# positive with one negative class already breaks the second condition.


#: Methods to suggest when no layer passes: both fit the texts, and on SmolLM2-135M they pass on
#: many layers where centroid-level methods pass on none (docs/DESIGN.md, Decisions).
STURDY_METHODS = ("ridge_score", "lda")


class AxisWarning(UserWarning):
    """A fitted direction does not behave like a valence axis on its own training stories."""


@dataclass(frozen=True)
class AxisDiagnosis:
    """How a direction orders the class centroids, and whether that is a valence axis."""

    method: str
    layer: int
    spearman: float
    kendall: float
    positives_above_negatives: bool | None  # None when there is no positive or no negative class
    variance_share: float  # share of the centroid variance along the direction
    held_out: bool  # positions from directions fitted without each class's group (layers.py)
    ok: bool
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN becomes None)."""
        out = asdict(self)
        for key in ("spearman", "kendall", "variance_share"):
            out[key] = None if np.isnan(out[key]) else out[key]
        out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AxisDiagnosis:
        """Inverse of :meth:`to_dict`."""
        nan = float("nan")
        return cls(
            method=str(data["method"]),
            layer=int(data["layer"]),
            spearman=nan if data["spearman"] is None else float(data["spearman"]),
            kendall=nan if data["kendall"] is None else float(data["kendall"]),
            positives_above_negatives=data["positives_above_negatives"],
            variance_share=nan if data["variance_share"] is None else float(data["variance_share"]),
            held_out=bool(data["held_out"]),
            ok=bool(data["ok"]),
            warnings=tuple(str(w) for w in data["warnings"]),
        )


def centroid_variance_share(centroids: np.ndarray, vector: np.ndarray) -> float:
    """Variance of the centroids' projections on unit ``vector`` / their total variance.

    For centroid PCA-1 this is PC1's explained variance; for any other method it says how much
    of what separates the stories lies along the axis (NaN when the centroids coincide).
    """
    centred = centroids - centroids.mean(axis=0)
    total = float(np.sum(centred**2))
    return float(np.sum((centred @ vector) ** 2) / total) if total > 0 else float("nan")


def _rank_correlations(positions: np.ndarray, valence: np.ndarray) -> tuple[float, float]:
    if not np.isfinite(positions).all() or np.ptp(positions) == 0 or np.ptp(valence) == 0:
        return float("nan"), float("nan")
    return float(spearmanr(positions, valence)[0]), float(kendalltau(positions, valence)[0])


def _separated(positions: np.ndarray, valence: np.ndarray) -> bool | None:
    """Every positive class above every negative one (None without both signs)."""
    positive, negative = valence > 0, valence < 0
    if not (positive.any() and negative.any()):
        return None
    return bool(positions[positive].min() > positions[negative].max())


def orders_by_valence(class_positions: np.ndarray, class_valence: np.ndarray) -> bool:
    """The diagnosis' verdict alone (:func:`diagnose`'s ``ok``): Spearman >= :data:`MIN_SPEARMAN`
    and no negative class at or above a positive one. The layer rule asks it of every layer."""
    positions = np.asarray(class_positions, dtype=float)
    valence = np.asarray(class_valence, dtype=float)
    spearman, _ = _rank_correlations(positions, valence)
    return bool(spearman >= MIN_SPEARMAN) and _separated(positions, valence) is not False


def diagnose(
    class_positions: np.ndarray,
    class_valence: np.ndarray,
    explained_variance: float,
    class_names: Sequence[str],
    layer: int,
    method: str,
    held_out: bool = False,
    passing_layers: Sequence[int] | None = None,
) -> AxisDiagnosis:
    """Judge an axis by its (k,) class-centroid positions against the (k,) known class valence.

    ``explained_variance`` is the share of centroid variance along the axis
    (:func:`centroid_variance_share`). ``ok`` needs Spearman >= :data:`MIN_SPEARMAN` and every
    positive class above every negative one; otherwise ``warnings`` say what is wrong and what
    to try. ``held_out`` records that the positions come from directions fitted without each
    class's group: in-sample positions flatter supervised methods, which place the positive
    training stories above the negative ones by construction even in pure noise.
    ``passing_layers`` (the layers whose held-out positions pass, when known) lets a failing
    diagnosis say whether another layer would pass or none does.
    """
    positions = np.asarray(class_positions, dtype=float)
    valence = np.asarray(class_valence, dtype=float)
    if positions.shape != valence.shape or len(class_names) != len(valence):
        raise ValueError(
            f"class_positions {positions.shape}, class_valence {valence.shape} and "
            f"{len(class_names)} class names must all have one entry per class"
        )
    spearman, kendall = _rank_correlations(positions, valence)
    positive, negative = valence > 0, valence < 0
    separated = _separated(positions, valence)

    where = f"{method} at layer {layer}"
    kind = "held-out " if held_out else ""
    problems = []
    if not spearman >= MIN_SPEARMAN:
        hint = (
            "it likely follows story content; try method='ridge_score' (the default)"
            if method == "centroid_pca"
            else "try layer='auto', another method, or more varied stories"
        )
        if spearman <= -MIN_SPEARMAN:
            hint = "the axis is reversed; check sign_reference"
        problems.append(
            f"{where} does not order the {len(valence)} classes by valence "
            f"({kind}Spearman {spearman:.2f}, needs >= {MIN_SPEARMAN}): {hint}"
        )
    if separated is False:
        lowest = int(np.flatnonzero(positive)[np.argmin(positions[positive])])
        too_high = np.flatnonzero(negative & (positions >= positions[lowest]))
        above = [class_names[int(i)] for i in too_high]
        problems.append(
            f"{where}: negative classes {', '.join(above)} project at or above "
            f"the positive class {class_names[lowest]}"
        )
    if problems and passing_layers is not None:
        others = " or ".join(f"method='{m}'" for m in STURDY_METHODS if m != method)
        problems.append(
            f"layers {', '.join(map(str, passing_layers))} pass with {method}: try layer='auto'"
            if passing_layers
            else f"no layer passes this diagnosis with {method}: the stories do not give this "
            f"model a valence axis by this method; try {others}, a larger model, or more "
            "varied stories"
        )
    return AxisDiagnosis(
        method=method,
        layer=int(layer),
        spearman=spearman,
        kendall=kendall,
        positives_above_negatives=separated,
        variance_share=float(explained_variance),
        held_out=held_out,
        ok=not problems,
        warnings=tuple(problems),
    )
