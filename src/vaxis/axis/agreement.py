"""Is the agreement between models' V-axes more than chance? Permutation p-values over class
labels for the Pearson r of two models' class positions (exact: all k! relabelings for
k <= 9), for its mean over model pairs (Monte Carlo, each model relabeled independently), and
for each model against the reference valence; as :class:`~vaxis.core.reported.Stat` records
that `vaxis axis compare` prints and `vaxis study` reports.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from vaxis.core.reported import Stat

if TYPE_CHECKING:
    from vaxis.axis.compare import ConsistencyReport

#: the largest class count whose k! relabelings are enumerated (9! = 362880)
EXACT_CLASSES = 9
WHERE = (
    "held-out class positions (each class placed by an axis fitted without it) on each model's "
    "own V-axis at its own chosen layer"
)


def _standardize(rows: np.ndarray) -> np.ndarray:
    """Rows centred and scaled so that a mean of products is their Pearson r (NaN if flat)."""
    centred = rows - rows.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return centred / centred.std(axis=-1, keepdims=True)


@functools.cache
def _all_orders(k: int) -> np.ndarray:
    """(k!, k) every relabeling of k classes."""
    return np.array(list(itertools.permutations(range(k))))


def permutation_p(a: np.ndarray, b: np.ndarray, n_draws: int, seed: int) -> float:
    """One-sided p of Pearson r(a, b) against ``b``'s class labels relabeled: exact over all
    k! relabelings for k <= 9, else ``n_draws`` random ones (the observed one counted)."""
    k = len(a)
    if k <= EXACT_CLASSES:
        orders = _all_orders(k)
    else:
        random = np.argsort(np.random.default_rng(seed).random((n_draws, k)), axis=1)
        orders = np.vstack([np.arange(k), random])
    za, zb = _standardize(np.asarray(a, float)), _standardize(np.asarray(b, float))
    r = float(np.mean(za * zb))
    null = zb[orders] @ za / k
    return float(np.mean(null >= r - 1e-12))


def mean_agreement_p(positions: np.ndarray, n_draws: int, seed: int) -> float:
    """One-sided Monte Carlo p of the mean off-diagonal Pearson r of (models, classes)
    ``positions``, every model's class labels relabeled independently (observed counted)."""
    m, k = positions.shape
    z = _standardize(np.asarray(positions, float))
    upper = np.triu_indices(m, k=1)
    rng = np.random.default_rng(seed)
    orders = np.argsort(rng.random((n_draws, m, k)), axis=2)
    drawn = np.concatenate([z[None], np.take_along_axis(z[None], orders, axis=2)])
    r = np.einsum("nik,njk->nij", drawn, drawn) / k
    means = r[:, upper[0], upper[1]].mean(axis=1)
    return float(np.mean(means >= means[0] - 1e-12))


def _p_words(k: int, n_draws: int, seed: int) -> str:
    """How :func:`permutation_p` got its p for ``k`` classes."""
    if k <= EXACT_CLASSES:
        return "p: one-sided exact permutation test over class labels (all k! relabelings)"
    return f"p: one-sided permutation test over class labels ({n_draws} draws, seed {seed})"


def agreement_stats(report: ConsistencyReport, n_draws: int, seed: int) -> list[Stat]:
    """Pairwise agreement, its mean over pairs and each model against the reference, each
    with its permutation p (undefined correlations, from flat positions, are left out)."""
    rows = np.array([e.class_positions for e in report.models])
    labels = [e.label for e in report.models]
    k = len(report.class_names)
    where = WHERE if report.positions == "held_out" else WHERE.replace("held-out", "in-sample")
    p_words = _p_words(k, n_draws, seed)
    stats: list[Stat] = []
    for i, j in itertools.combinations(range(len(labels)), 2):
        r = float(report.pearson[i, j])
        if math.isfinite(r):
            p = permutation_p(rows[i], rows[j], n_draws, seed)
            protocol = f"Pearson r of {where}; n = classes; {p_words}"
            stats.append(Stat(f"agreement r {labels[i]} vs {labels[j]}", r, protocol, k, p_value=p))
    upper = report.pearson[np.triu_indices(len(labels), k=1)]
    if upper.size and np.all(np.isfinite(upper)):
        protocol = (
            f"mean over the {upper.size} model pairs of the Pearson r of {where}; n = classes; "
            f"p: one-sided Monte Carlo permutation test, each model's class labels relabeled "
            f"independently ({n_draws} draws, seed {seed})"
        )
        p = mean_agreement_p(rows, n_draws, seed)
        stats.append(Stat("mean agreement r", float(upper.mean()), protocol, k, p_value=p))
    reference = np.array(report.reference)
    for entry, row in zip(report.models, rows, strict=True):
        if math.isfinite(entry.reference_pearson):
            protocol = (
                f"Pearson r of {where} with the {report.reference_source}; n = classes; "
                f"{p_words}; tier as in the study"
            )
            p = permutation_p(reference, row, n_draws, seed)
            stats.append(
                Stat(
                    f"reference r {entry.label}",
                    entry.reference_pearson,
                    protocol,
                    k,
                    p_value=p,
                    note=f"tier: {entry.tier}",
                )
            )
    return stats
