"""Where on the scalp the V-axis signal sits: per-cell correlations, regions, topomaps.

- :func:`cell_correlations`: Pearson r across stimuli between each channel-band cell of the
  cohort tensor and the stimulus positions, two-sided p (t distribution with n - 2 df, or a
  permutation null, which `vaxis brain map` uses), and Benjamini-Hochberg adjusted p-values
  over all cells (the study's peak, PO3/gamma r = 0.48 at n = 28, does not survive this).
- :func:`region_summary`: mean |r| (and mean r) per scalp region. Regions are assigned by
  channel-name prefix, longest prefix first (:data:`REGION_PREFIXES`), case-insensitively, so
  FACED (``Fp1``, ``PO3``) and SEED-V (``FP1``, ``PO3``, ``CB1``) names both work:
  frontal = Fp, AF, F; central = FC, C; parietal = CP, P; occipital = PO, O, CB (cerebellar,
  below O1/O2), I; temporal = FT, T, TP (its own region: the study's four are occipital,
  parietal, central, frontal); reference channels (A1/A2, M1/M2) belong to none.
- :func:`plot_topomaps` (one scalp map per band, :func:`mne.viz.plot_topomap`, standard 10-20
  positions) and :func:`plot_scatter` (predicted vs true position per stimulus). Figures are
  built without pyplot (no global state, no display needed) and saved as PNG and SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mne
import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from vaxis.brain import nulls
from vaxis.brain.linear import single_threaded_blas
from vaxis.brain.protocols import pearson

REGIONS: tuple[str, ...] = ("occipital", "parietal", "central", "frontal", "temporal")
REGION_PREFIXES: tuple[tuple[str, str], ...] = (
    ("FP", "frontal"), ("AF", "frontal"), ("FT", "temporal"), ("FC", "central"),
    ("TP", "temporal"), ("CP", "parietal"), ("PO", "occipital"), ("CB", "occipital"),
    ("F", "frontal"), ("C", "central"), ("P", "parietal"), ("O", "occipital"),
    ("T", "temporal"), ("I", "occipital"),
)  # fmt: skip
#: Reference electrodes (ear lobes / mastoids): not scalp sites, never in a region or topomap.
REFERENCE_CHANNELS: frozenset[str] = frozenset({"A1", "A2", "M1", "M2"})
#: Standard 10-20 positions (MNE >= 1.13 renamed ``standard_1020`` to ``colin27_1020``).
MONTAGE = (
    "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() else "standard_1020"
)


@dataclass(frozen=True, eq=False)
class CellCorrelations:
    """r, p and BH-adjusted p (q) per channel x band cell, across n stimuli."""

    r: np.ndarray  # (C, B)
    p: np.ndarray  # (C, B) two-sided, uncorrected
    q: np.ndarray  # (C, B) Benjamini-Hochberg adjusted over all cells
    n: int
    channel_names: tuple[str, ...]
    band_names: tuple[str, ...]
    #: how p was computed: the t-test, or a permutation null (then its kind)
    p_method: str = "two-sided t-test (stimuli taken as independent)"

    def peak(self) -> dict[str, Any]:
        """The cell with the largest |r|."""
        c, b = np.unravel_index(np.nanargmax(np.abs(self.r)), self.r.shape)
        return {
            "channel": self.channel_names[c],
            "band": self.band_names[b],
            "r": float(self.r[c, b]),
            "p": float(self.p[c, b]),
            "q_bh": float(self.q[c, b]),
            "n": self.n,
        }

    def to_dict(self, level: float = 0.05) -> dict[str, Any]:
        significant = np.argwhere(self.q < level)
        return {
            "protocol": f"Pearson r across {self.n} stimuli per cell (cohort mean, in-sample); "
            f"p: {self.p_method}; Benjamini-Hochberg over {self.r.size} cells",
            "channels": list(self.channel_names),
            "bands": list(self.band_names),
            "r": self.r.tolist(),
            "p": self.p.tolist(),
            "q_bh": self.q.tolist(),
            "peak": self.peak(),
            "significant_at": level,
            "significant_cells": [
                [self.channel_names[c], self.band_names[b]] for c, b in significant
            ],
            "regions": region_summary(self.r, self.channel_names),
        }


def cell_correlations(
    tensor: np.ndarray,
    positions: np.ndarray,
    channel_names: tuple[str, ...],
    band_names: tuple[str, ...],
    null: nulls.Draws | None = None,
) -> CellCorrelations:
    """Per-cell r of ``tensor`` (stimuli, C, B) with ``positions`` (stimuli,).

    p is the t-test's unless ``null`` (shuffled positions, e.g. the read-out's hierarchical
    permutation) is given: then p = (1 + #{|r_null| >= |r|}) / (1 + n) per cell, which stays
    valid when stimuli come in categories (see :mod:`vaxis.brain.nulls`).
    """
    n = tensor.shape[0]
    if n < 3:
        raise ValueError(f"per-cell correlations need at least 3 stimuli, got {n}")
    r = pearson(tensor, np.asarray(positions, dtype=float)[:, None, None], axis=0)
    names = (tuple(channel_names), tuple(band_names))
    if null is not None:
        cells = tensor.reshape(n, -1)[:, :, None]  # (stimuli, cells, 1)
        r_null = np.abs(pearson(cells, null.values[:, None, :], axis=0))  # (cells, draws)
        exceed = (r_null >= np.abs(r).reshape(-1, 1) - 1e-12).sum(axis=1)
        p = ((1 + exceed) / (1 + r_null.shape[1])).reshape(r.shape)
        method = f"two-sided, {r_null.shape[1]} draws of {null.kind}"
        return CellCorrelations(r, p, bh_adjust(p), n, *names, p_method=method)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2) / np.clip(1 - r**2, 0, None))
    p = 2 * stats.t.sf(np.abs(t), df=n - 2)
    return CellCorrelations(r, p, bh_adjust(p), n, *names)


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values over all finite entries (NaN stays NaN)."""
    q = np.full(np.shape(p), np.nan)
    finite = np.isfinite(p)
    q[finite] = stats.false_discovery_control(np.asarray(p)[finite], method="bh")
    return q


def channel_region(name: str) -> str | None:
    """Region of a channel name (see the module docstring); None for reference channels."""
    upper = name.upper()
    if upper in REFERENCE_CHANNELS:
        return None
    return next((region for prefix, region in REGION_PREFIXES if upper.startswith(prefix)), None)


def region_summary(values: np.ndarray, channel_names: tuple[str, ...]) -> dict[str, Any]:
    """Per region: mean |value|, mean value and channels, over all bands; plus the ranking."""
    regions = np.array([channel_region(c) or "" for c in channel_names])
    out: dict[str, Any] = {}
    for region in REGIONS:
        rows = values[regions == region]
        if rows.size:
            out[region] = {
                "mean_abs": float(np.nanmean(np.abs(rows))),
                "mean": float(np.nanmean(rows)),
                "channels": [c for c, g in zip(channel_names, regions, strict=True) if g == region],
            }
    out["ranking_by_mean_abs"] = sorted(
        (r for r in REGIONS if r in out), key=lambda r: -out[r]["mean_abs"]
    )
    return out


# ------------------------------------------------------------------------------ figures
def scalp_info(channel_names: tuple[str, ...]) -> tuple[mne.Info, np.ndarray, list[str]]:
    """MNE info with 10-20 positions for the channels that have one.

    Returns the info, the indices of the kept channels and a note per dropped channel.
    """
    montage = mne.channels.make_standard_montage(MONTAGE)
    known = {name.lower(): name for name in montage.ch_names}
    keep, names, dropped = [], [], []
    for i, name in enumerate(channel_names):
        if name.upper() in REFERENCE_CHANNELS:
            dropped.append(f"{name} (reference electrode, not a scalp site)")
        elif name.lower() not in known:
            dropped.append(f"{name} (no position in the {MONTAGE} montage)")
        else:
            keep.append(i)
            names.append(known[name.lower()])
    info = mne.create_info(names, sfreq=1.0, ch_types="eeg")
    info.set_montage(montage)
    return info, np.array(keep, dtype=int), dropped


def plot_topomaps(
    values: np.ndarray,
    channel_names: tuple[str, ...],
    band_names: tuple[str, ...],
    title: str,
    label: str = "",
) -> tuple[Figure, list[str]]:
    """One scalp map per band of ``values`` (C, B), common symmetric colour scale.

    Returns the figure and the dropped channels (each with the reason; also in the caption).
    """
    info, keep, dropped = scalp_info(channel_names)
    shown = values[keep]
    limit = float(np.nanmax(np.abs(shown))) or 1.0
    fig = Figure(figsize=(2.4 * len(band_names) + 0.8, 3.0), layout="constrained")
    axes = fig.subplots(1, len(band_names), squeeze=False)[0]
    image = None
    with single_threaded_blas():  # small interpolation solves
        for band, ax in enumerate(axes):
            image, _ = mne.viz.plot_topomap(
                shown[:, band], info, axes=ax, show=False, cmap="RdBu_r", vlim=(-limit, limit),
                sensors=True, contours=0,
            )  # fmt: skip
            ax.set_title(band_names[band])
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label=label)
    fig.suptitle(title)
    if dropped:
        fig.supxlabel("not shown: " + "; ".join(dropped), fontsize=7)
    return fig, dropped


def plot_scatter(
    predicted: np.ndarray,
    true: np.ndarray,
    categories: np.ndarray,
    category_names: tuple[str, ...],
    title: str,
) -> Figure:
    """Predicted vs true position per stimulus, coloured by category, r in the title."""
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for code in np.unique(categories):
        mask = categories == code
        ax.scatter(true[mask], predicted[mask], label=category_names[code], s=30)
    r = float(pearson(np.asarray(predicted, float), np.asarray(true, float)))
    ax.set_xlabel("V-axis position")
    ax.set_ylabel("predicted position")
    ax.set_title(f"{title}\nr = {r:+.2f}, n = {true.size}", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return fig
