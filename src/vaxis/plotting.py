"""Figure output shared by every stage: PNG for reading, SVG for papers."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

PNG_DPI = 150


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg``; returns both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        fig.savefig(path, dpi=PNG_DPI if path.suffix == ".png" else None)
    return paths
