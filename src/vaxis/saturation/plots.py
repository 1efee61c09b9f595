"""The four figures of `vaxis saturation` (PNG and SVG via :func:`vaxis.plotting.save_figure`).

Every title carries the protocol and n, and says SYNTHETIC for a synthetic cohort; the study's
figures are drawn as "published, not run here". Built without pyplot (no global state).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from vaxis.saturation.records import SaturationReport

NO_CURVES = "no epochs.npz in these runs: train them with the epoch probe (EpochProbe)"


def _title(report: SaturationReport, text: str) -> str:
    prefix = "SYNTHETIC DATA - " if report.synthetic else ""
    return f"{prefix}{text}\nprotocol: {report.protocol}"


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def _arm_colours(arms: list[str]) -> dict[str, Any]:
    cmap = colormaps["tab10"]
    return {arm: cmap(i % 10) for i, arm in enumerate(arms)}


def plot_basin_curves(report: SaturationReport) -> Figure:
    """rho vs epoch: one thin line per seed, the seed mean bold, per arm."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    colours = _arm_colours(list(report.curves))
    n = sum(len(by_seed) for by_seed in report.curves.values())
    for arm, by_seed in report.curves.items():
        for curve in by_seed.values():
            ax.plot(curve.epoch, curve.rho, color=colours[arm], alpha=0.3, lw=0.8)
        first = next(iter(by_seed.values()))
        if all(np.array_equal(c.epoch, first.epoch) for c in by_seed.values()):
            mean = np.mean([c.rho for c in by_seed.values()], axis=0)
            label = f"{arm} (mean of {len(by_seed)} seeds)"
            ax.plot(first.epoch, mean, color=colours[arm], lw=2, label=label)
    if not report.curves:
        _empty(ax, NO_CURVES)
    else:
        ax.set(xlabel="epoch", ylabel="rho = |<PC1(class means), v>| (validation subjects)")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    ax.set_title(_title(report, f"Basin strength per epoch (n = {n} runs)"), fontsize=9)
    return fig


def plot_threshold(report: SaturationReport) -> Figure:
    """delta BA vs baseline BA per (intervention, seed), the fit, its crossing and the band."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    pairs = report.threshold.pairs
    arms = sorted({p.arm for p in pairs})
    colours = _arm_colours(arms)
    for arm in arms:
        x = [p.x for p in pairs if p.arm == arm]
        y = [p.delta for p in pairs if p.arm == arm]
        ax.scatter(x, y, color=colours[arm], s=18, label=arm)
    ax.axhline(0, color="black", lw=0.6)
    ax.axvspan(0.62, 0.66, color="grey", alpha=0.2, label="published, not run here: 0.62-0.66")
    estimate = report.threshold.estimate
    text = "no estimate: " + str(report.threshold.reason or "")
    if estimate is not None:
        low_x, high_x = estimate.x_range
        xs = np.linspace(float(low_x), float(high_x), 50)
        ax.plot(xs, estimate.intercept + estimate.slope * xs, color="black", lw=1.2)
        low, high = estimate.crossing_ci
        if estimate.transition:
            ax.axvline(estimate.crossing, color="red", lw=1.2, label="crossing (this run)")
            ax.axvspan(low, high, color="red", alpha=0.1)
            text = f"transition at {estimate.crossing:.3f} [{low:.3f}, {high:.3f}]"
        else:
            slope_low, slope_high = estimate.slope_ci
            text = f"no transition: slope CI [{slope_low:.3f}, {slope_high:.3f}]"
    ax.set(xlabel=report.threshold.x, ylabel="delta balanced accuracy (test)")
    ax.legend(fontsize=7)
    title = f"Threshold (n = {len(pairs)} pairs; {text})"
    ax.set_title(_title(report, title), fontsize=9)
    return fig


def plot_gradient_shares(report: SaturationReport) -> Figure:
    """Share of the CE (dashed) and auxiliary (solid) feature gradient per epoch, seed mean."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colours = _arm_colours(list(report.curves))
    for ax, space in zip(axes, ("basin", "v"), strict=True):
        if not report.curves:
            _empty(ax, NO_CURVES)
            continue
        for arm, by_seed in report.curves.items():
            first = next(iter(by_seed.values()))
            for loss, style in (("ce", "--"), ("aux", "-")):
                values = np.array([c.shares[f"share_{space}_{loss}"] for c in by_seed.values()])
                if values.size and np.isfinite(values).any():
                    mean = np.nanmean(values, axis=0)
                    ax.plot(first.epoch, mean, style, color=colours[arm], label=f"{arm} {loss}")
            chance = first.chance_share_basin if space == "basin" else first.chance_share_v
            ax.axhline(chance, color="grey", lw=0.8, ls=":")
        name = "span of the class means" if space == "basin" else "V direction"
        ax.set(xlabel="epoch", ylabel="share of ||grad||^2 (probe batch)", title=name)
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=6)
    n = sum(len(by_seed) for by_seed in report.curves.values())
    fig.suptitle(_title(report, f"Gradient shares (n = {n} runs; dotted: chance)"), fontsize=9)
    return fig


def plot_ablation(report: SaturationReport) -> Figure:
    """z of the residual-direction ablation vs its null directions, per checkpoint."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    rows = [(r, found) for r in report.runs if (found := r.ablated()) is not None]
    if not rows:
        _empty(ax, "no ablation (skipped, or positions without within-class variation)")
    else:
        labels = [f"{r.arm} s{r.seed}" for r, _ in rows]
        z = [found.z for _, found in rows]
        ax.scatter(range(len(z)), z, color="tab:blue")
        ax.axhline(0, color="black", lw=0.6)
        ax.axhline(1.96, color="grey", lw=0.8, ls="--", label="z = 1.96")
        ax.axhline(7.7, color="grey", lw=0.8, ls=":", label="published mean z 7.7, not run here")
        ax.set_xticks(range(len(z)), labels, rotation=60, ha="right", fontsize=6)
        ax.set(ylabel="z (drop vs null directions)")
        ax.legend(fontsize=7)
    ax.set_title(_title(report, f"Directional ablation (n = {len(rows)} checkpoints)"), fontsize=9)
    return fig


def write_plots(report: SaturationReport, out: Path) -> list[Path]:
    """Every figure, as ``out/<name>.png`` and ``.svg``; returns the paths."""
    from vaxis.plotting import save_figure

    paths: list[Path] = []
    for name, plot in (
        ("basin_per_epoch", plot_basin_curves),
        ("threshold", plot_threshold),
        ("gradient_shares", plot_gradient_shares),
        ("ablation", plot_ablation),
    ):  # the stems of vaxis.saturation.records.PLOTS
        paths += save_figure(plot(report), out / name)
    return paths
