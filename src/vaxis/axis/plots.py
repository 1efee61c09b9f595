"""Figures for axis building, zero-shot validation and cross-model agreement.

Every function draws one PNG with matplotlib's object API (no pyplot state, no display needed)
and prints ``note`` (e.g. that 4-bit weights were dequantized to float32) under the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from vaxis.axis.axis import VAxis
from vaxis.axis.diagnostics import MIN_SPEARMAN

NEGATIVE, NEUTRAL, POSITIVE = "#b03a2e", "#7f8c8d", "#1f618d"
DPI = 120


def _save(fig: Figure, path: Path, note: str) -> Path:
    """Write ``fig`` with ``note`` under everything already drawn (tick labels included)."""
    if note:
        drawn = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())  # inches
        x, y = drawn.x0 / fig.get_figwidth(), drawn.y0 / fig.get_figheight()
        fig.text(x, y - 0.01, note, fontsize=7, color="#555555", ha="left", va="top", wrap=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _valence_colours(valence: np.ndarray) -> list[str]:
    return [POSITIVE if v > 0 else NEGATIVE if v < 0 else NEUTRAL for v in valence]


def class_positions(axis: VAxis, path: Path, note: str = "") -> Path:
    """Dot plot of the class centroids on the axis at its layer, coloured by valence sign.

    Filled dots: in-sample positions; rings: held-out positions (each class placed by a
    direction fitted without it). Both are centred on the mean class position.
    """
    layer = axis.layer_
    inside = axis.class_positions_[layer] - np.nanmean(axis.class_positions_[layer])
    held = axis.layer_scores_.held_out_positions[layer]
    held = held - np.nanmean(held)
    order = np.argsort(inside)
    colours = [_valence_colours(axis.class_valence_)[i] for i in order]
    names = [axis.class_names_[i] for i in order]
    fig = Figure(figsize=(6.5, 0.35 * len(names) + 1.6))
    ax = fig.subplots()
    rows = np.arange(len(names))
    ax.scatter(inside[order], rows, c=colours, s=60, zorder=3)
    ax.scatter(held[order], rows, facecolors="none", edgecolors=colours, s=90)
    legend = [
        Line2D([], [], ls="", marker="o", color=NEUTRAL, label="in-sample"),
        Line2D([], [], ls="", marker="o", mfc="none", color=NEUTRAL, label="held-out class"),
    ]
    ax.axvline(0, color="#bbbbbb", lw=0.8)
    ax.set_yticks(rows, names)
    ax.set_xlabel("position on the axis (centred on the mean class position)")
    verdict = "ok" if axis.diagnosis_.ok else "NOT a valence ordering (see diagnosis)"
    ax.set_title(
        f"{axis.method_}, layer {layer}: held-out Spearman {axis.diagnosis_.spearman:.2f} "
        f"({verdict})",
        fontsize=10,
    )
    ax.legend(handles=legend, loc="lower right", fontsize=8)
    return _save(fig, path, note)


def layer_scores(axis: VAxis, path: Path, note: str = "") -> Path:
    """Per-layer class-ordering scores from the stories; the chosen layer is marked."""
    scores = axis.layer_scores_
    layers = np.arange(scores.n_layers)
    fig = Figure(figsize=(7, 3.8))
    ax = fig.subplots()
    ax.plot(layers, scores.held_out, "o-", ms=3, label="held-out class ordering (chooses layer)")
    passing = scores.passing_layers
    ax.plot(passing, scores.held_out[passing], "o", ms=6, mfc="none", color="#2a8a2a",
            label=f"passes the diagnosis ({len(passing)} of {scores.n_layers})")  # fmt: skip
    ax.axhline(MIN_SPEARMAN, color="#2a8a2a", lw=0.8, ls=":")
    ax.plot(layers, scores.ordering, "--", color="#888888", label="in-sample class ordering")
    ax.plot(layers, axis.explained_variance_, ":", color="#aa7700", label="centroid variance share")
    ax.axvline(axis.layer_, color="black", lw=1, label=f"axis layer {axis.layer_}")
    ax.axhline(0, color="#cccccc", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("Spearman with class valence / share")
    ax.set_title(f"{axis.method_}: layer scores from the stories only", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path, note)


@dataclass(frozen=True)
class CurvePanel:
    """One metric over layers on one corpus, with its random-direction null band."""

    title: str
    metric: str  # "auroc" or "spearman"
    layers: np.ndarray
    values: np.ndarray
    null_p1: np.ndarray
    null_p5: np.ndarray
    null_p95: np.ndarray
    null_p99: np.ndarray
    chosen: int  # the axis's own layer (chosen from stories)
    ceiling: float | None = None  # supervised probe at the chosen layer
    lexicon: float | None = None  # lexicon baseline (layer-free)


def layer_curves(panels: Sequence[CurvePanel], path: Path, note: str = "") -> Path:
    """Metric per layer with the null band; only the marked layer is the axis's result."""
    fig = Figure(figsize=(7, 3.2 * len(panels) + 0.4))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, p in zip(axes, panels, strict=True):
        chance = 0.5 if p.metric == "auroc" else 0.0
        ax.fill_between(p.layers, p.null_p1, p.null_p99, color="#dddddd", label="null 1-99%")
        ax.fill_between(p.layers, p.null_p5, p.null_p95, color="#bbbbbb", label="null 5-95%")
        ax.plot(p.layers, p.values, "o-", ms=3, color=POSITIVE, label="axis, per layer")
        at = int(np.flatnonzero(p.layers == p.chosen)[0])
        ax.plot(p.chosen, p.values[at], "*", ms=14, color="black", label="axis layer (stories)")
        if p.ceiling is not None:
            ax.plot(p.chosen, p.ceiling, "D", color="#aa7700", label="supervised probe (CV)")
        if p.lexicon is not None:
            ax.axhline(p.lexicon, ls="--", color="#117a65", lw=1, label="lexicon baseline")
        ax.axhline(chance, color="#999999", lw=0.8)
        ax.set_ylabel(p.metric.upper() if p.metric == "auroc" else "Spearman")
        ax.set_title(p.title, fontsize=10)
        ax.legend(fontsize=7, loc="best", ncol=2)
        ax.text(
            0.99, 0.02, "other layers: for inspection, not selection", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=7, color="#555555",
        )  # fmt: skip
    axes[-1].set_xlabel("layer (0 = embeddings)")
    return _save(fig, path, note)


def agreement_heatmap(
    matrix: np.ndarray, labels: Sequence[str], path: Path, title: str, note: str = ""
) -> Path:
    """Annotated correlation matrix between models (colour scale -1..1)."""
    m = len(labels)
    fig = Figure(figsize=(1.0 * m + 3, 0.8 * m + 2))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(m), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(m), labels, fontsize=8)
    for i in range(m):
        for j in range(m):
            if np.isfinite(matrix[i, j]):
                colour = "white" if abs(matrix[i, j]) > 0.6 else "black"
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color=colour)  # fmt: skip
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return _save(fig, path, note)
