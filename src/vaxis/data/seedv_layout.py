"""The 310 DE columns of a SEED-V feature file: the two possible layouts, and a check on the data.

Each row of an official file holds 62 channels x 5 bands. **channel-major** (column =
``channel * 5 + band``, ``reshape(62, 5)``) is what torcheeg and most public loaders assume;
**band-major** (column = ``band * 62 + channel``, ``reshape(5, 62).T``) is what a SEED-V
co-author recalls (csliuwei/CrossCultureCode issue #3). The files do not say which, and a wrong
choice silently mislabels every channel x band figure, so the layout is an explicit option and
:func:`check_layout` tests the data against it.

The check rests on one fact of DE computed from EEG: its roughly 1/f spectrum gives every band
its own offset, shared by all channels and larger than the differences between channels of a
band. For a layout ``H`` the *band share* ``f(H)`` is the fraction of the within-channel
variance of the column means (each channel's five values minus their mean) that one band
profile, shared by every channel, explains -- channels and bands as ``H`` assigns them (a
two-way analysis of variance of the 62 x 5 means: band sum of squares over band + interaction).
The two readings fail differently:

- a band-major file read channel-major puts five neighbouring channels of one band into each
  "channel", and its "bands" mix all true bands evenly (62 = 2 mod 5), so
  ``f(channel-major)`` is near the noise level (about 4 / 248) whatever the data;
- a channel-major file read band-major takes contiguous blocks of ~12 channels as "bands", so
  ``f(band-major)`` can be high wherever DE drifts across the scalp.

Only ``f(channel-major)`` is therefore decisive both ways: at least :data:`CLEAR` says
channel-major; below :data:`NOISE` with ``f(band-major)`` at least :data:`CLEAR` says
band-major; anything else is inconclusive and never warns (e.g. files normalised per column,
which have no band offsets left). The ordering of the bands is not assumed (band widths and the
alpha peak make it non-monotone).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from vaxis.data.datasets import SEEDV_BANDS, SEEDV_CHANNELS

SeedvLayout = Literal["channel-major", "band-major"]
LAYOUTS: tuple[SeedvLayout, ...] = get_args(SeedvLayout)
N_CHANNELS, N_BANDS = len(SEEDV_CHANNELS), len(SEEDV_BANDS)
WIDTH = N_CHANNELS * N_BANDS
#: how each layout maps a file column to its channel and band (recorded in provenance)
COLUMN_FORMULA: dict[str, str] = {
    "channel-major": "column = channel * 5 + band",
    "band-major": "column = band * 62 + channel",
}
#: band share at or above which a layout's band profile is clear
CLEAR = 0.25
#: channel-major band share below which the file cannot be channel-major
NOISE = 0.1


class LayoutWarning(UserWarning):
    """The columns of a SEED-V feature file contradict the layout they are read with."""


def check_layout_name(layout: str) -> SeedvLayout:
    """``layout`` when it is one of :data:`LAYOUTS`; otherwise a ValueError naming them."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown SEED-V column layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    return layout


def columns_to_grid(rows: np.ndarray, layout: SeedvLayout) -> np.ndarray:
    """(n, 310) file rows -> (n, 62 channels, 5 bands)."""
    if check_layout_name(layout) == "channel-major":
        return rows.reshape(-1, N_CHANNELS, N_BANDS)
    return rows.reshape(-1, N_BANDS, N_CHANNELS).transpose(0, 2, 1)


def grid_to_columns(grid: np.ndarray, layout: SeedvLayout) -> np.ndarray:
    """(n, 62, 5) -> (n, 310) file rows; the inverse of :func:`columns_to_grid`."""
    if check_layout_name(layout) == "band-major":
        grid = grid.transpose(0, 2, 1)
    return np.ascontiguousarray(grid).reshape(len(grid), WIDTH)


def band_share(column_means: np.ndarray, layout: SeedvLayout) -> float:
    """``f(layout)``: the share of within-channel variance that one shared band profile explains."""
    grid = columns_to_grid(np.asarray(column_means, dtype=np.float64), layout)[0]
    within = grid - grid.mean(axis=1, keepdims=True)
    total = float((within**2).sum())
    if total <= 1e-12 * max(1.0, float((grid**2).sum())):
        return 0.0  # no variation across bands at all: nothing to tell the layouts apart
    return float(N_CHANNELS * (within.mean(axis=0) ** 2).sum() / total)


@dataclass(frozen=True)
class LayoutCheck:
    """What the columns say about their layout, beside the layout they were read with."""

    layout: SeedvLayout
    band_share: dict[str, float]
    #: the layout the data show, or None when they cannot tell
    detected: SeedvLayout | None

    @property
    def contradicts(self) -> bool:
        return self.detected is not None and self.detected != self.layout

    def to_dict(self) -> dict[str, Any]:
        verdict = (
            "inconclusive"
            if self.detected is None
            else "contradicts"
            if self.contradicts
            else "consistent"
        )
        shares = {k: round(v, 4) for k, v in self.band_share.items()}
        return {"band_share": shares, "detected": self.detected, "verdict": verdict}


def check_layout(grid: np.ndarray, layout: SeedvLayout) -> LayoutCheck:
    """Test DE read as ``grid`` (n, 62, 5) with ``layout`` against its own column structure."""
    means = grid_to_columns(np.asarray(grid, dtype=np.float64).mean(axis=0)[None], layout)[0]
    shares: dict[str, float] = {name: band_share(means, name) for name in LAYOUTS}
    detected: SeedvLayout | None = None
    if shares["channel-major"] >= CLEAR:
        detected = "channel-major"
    elif shares["channel-major"] < NOISE and shares["band-major"] >= CLEAR:
        detected = "band-major"
    return LayoutCheck(layout=layout, band_share=shares, detected=detected)


def warn_if_contradicted(check: LayoutCheck, source: object) -> None:
    """A :class:`LayoutWarning` naming both layouts and the evidence, when they disagree."""
    if not check.contradicts:
        return
    shares = ", ".join(f"{k} {v:.2f}" for k, v in check.band_share.items())
    warnings.warn(
        f"{source}: the 310 DE columns look {check.detected}, but they were read "
        f"{check.layout} (share of within-channel variance explained by a band profile shared "
        f"by all channels: {shares}); every channel x band label may be wrong. If the files "
        f"are {check.detected}, load them with layout='{check.detected}' "
        f"(--seedv-layout {check.detected})",
        LayoutWarning,
        stacklevel=3,
    )
