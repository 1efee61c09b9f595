"""Figures of the ensemble report: the cascade with intervals, LOO vs residual alignment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vaxis.ensemble.report import EnsembleReport


def _title(text: str, synthetic: bool) -> str:
    return f"{text} (SYNTHETIC cohort)" if synthetic else text


def write_plots(report: EnsembleReport, out: Path) -> list[Path]:
    """``cascade.{png,svg}`` (when a cascade was run) and ``loo_alignment.{png,svg}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vaxis.plotting import save_figure

    paths: list[Path] = []
    n = len(report.test_subjects)
    if report.cascade:
        fig, ax = plt.subplots(figsize=(7, 4))
        stats = np.array([arm.interval() for arm in report.cascade])
        means, errors = stats[:, 0], np.abs(stats[:, 1:].T - stats[:, 0])
        names = [arm.name for arm in report.cascade]
        ax.bar(names, means, yerr=np.nan_to_num(errors), capsize=4, color="#4c72b0")
        ax.set_ylabel("balanced accuracy (mean over test subjects)")
        ax.set_title(
            _title(f"Cascade, {report.protocol}, n = {n} test subjects, 95% CI", report.synthetic)
        )
        fig.autofmt_xdate(rotation=20)
        fig.tight_layout()
        paths += save_figure(fig, out / "cascade")
        plt.close(fig)
    members = report.members
    x = [m["residual_alignment"] for m in members]
    y = [m["loo_contribution"] for m in members]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    points = [(a, b) for a, b in zip(x, y, strict=True) if a is not None]
    if points:
        ax.scatter(*zip(*points, strict=True), color="#dd8452")
    corr = report.loo_vs_alignment
    r = corr.get("r")
    label = (
        "r not computable"
        if r is None
        else (
            f"r = {r:.2f} [{corr['ci_low']:.2f}, {corr['ci_high']:.2f}], p = {corr['p_value']:.3g}"
        )
    )
    ax.set_xlabel("residual alignment (val -> test)")
    ax.set_ylabel("leave-one-out contribution (test BA)")
    title = (
        f"{label}\nn = {len(points)} members, {report.protocol}; the study: r = 0.74 (published)"
    )
    ax.set_title(_title(title, report.synthetic), fontsize=9)
    fig.tight_layout()
    paths += save_figure(fig, out / "loo_alignment")
    plt.close(fig)
    return paths
