"""Cross-model consistency: do different language models place the emotion classes alike?

For each model (built one at a time with :func:`vaxis.axis.build.build_axis`, its weights freed
before the next is loaded) take the class-centroid positions on its own axis at its own chosen
layer; agreement between two models is the correlation of those positions across the classes
(the study: Pearson, within Qwen3 r = 0.995, Qwen3 vs others 0.585 +- 0.289). Each model is also
correlated with a reference (default: the stories' a-priori class valence) and put in a tier as
in the study: top r > 0.85, middle 0.6-0.85, out < 0.4; the gap 0.4-0.6 is "between tiers".

Positions are ``held_out`` by default: each class placed by a direction fitted without it. A
supervised method's in-sample positions put positive stories above negative ones by
construction, which inflates both agreement and reference correlation. The study used in-sample
centroid-PCA positions: ``positions="in_sample"`` with ``recipe="study"`` matches it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.stats import rankdata

from vaxis.axis import plots
from vaxis.axis.agreement import agreement_stats
from vaxis.axis.axis import VAxis
from vaxis.axis.build import AxisBuildConfig, build_axis, read_build, write_json
from vaxis.core.reported import Stat
from vaxis.errors import DataFormatError

CONSISTENCY_FILE, HEATMAP_PLOT = "consistency.json", "agreement.png"
Positions = Literal["held_out", "in_sample"]
TIERS_TEXT = (
    "top r > 0.85; middle 0.6-0.85; between tiers 0.4-0.6; out < 0.4 (Pearson with the "
    "reference, as in the study)"
)


def tier(r: float) -> str:
    """The study's tier of a reference correlation (NaN: "undefined")."""
    if not np.isfinite(r):
        return "undefined"
    if r > 0.85:
        return "top"
    if r >= 0.6:
        return "middle"
    return "between tiers" if r >= 0.4 else "out"


def correlations(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Pearson, Spearman) matrices between the rows of (models, classes) ``positions``."""
    positions = np.asarray(positions, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = np.corrcoef(positions)
        spearman = np.corrcoef(rankdata(positions, axis=1))
    return np.atleast_2d(pearson), np.atleast_2d(spearman)


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean of the entries above the diagonal (NaN with fewer than two rows)."""
    upper = matrix[np.triu_indices(len(matrix), k=1)]
    return float(np.mean(upper)) if upper.size else float("nan")


def load_reference(path: str | Path, class_names: Sequence[str]) -> np.ndarray:
    """(k,) reference valence per class from a CSV with columns ``class, valence``."""
    path = Path(path)
    fix = "give a CSV with a header 'class,valence' and one row per class"
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise DataFormatError(path, "no such reference file", fix) from None
    if not rows or not {"class", "valence"} <= set(rows[0]):
        raise DataFormatError(path, "needs the columns 'class' and 'valence'", fix)
    values: dict[str, float] = {}
    for line, row in enumerate(rows, start=2):
        try:
            values[row["class"].strip().lower()] = float(row["valence"])
        except ValueError:
            raise DataFormatError(path, f"line {line}: valence {row['valence']!r}", fix) from None
    missing = [name for name in class_names if name.lower() not in values]
    if missing:
        raise DataFormatError(path, f"no valence for class(es) {missing}", fix)
    return np.array([values[name.lower()] for name in class_names])


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(correlations(np.stack([a, b]))[0][0, 1])


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return float(correlations(np.stack([a, b]))[1][0, 1])


@dataclass(frozen=True)
class ModelEntry:
    """One model's axis: its class positions and how they match the reference."""

    label: str
    model: dict[str, Any]
    model_note: str
    axis_dir: str
    method: str
    layer: int
    diagnosis_ok: bool
    class_positions: list[float]
    reference_pearson: float
    reference_spearman: float
    tier: str


@dataclass(frozen=True)
class ConsistencyReport:
    """Pairwise agreement of class positions between models, and each against the reference."""

    class_names: list[str]
    positions: Positions
    reference: list[float]
    reference_source: str
    models: list[ModelEntry]
    pearson: np.ndarray
    spearman: np.ndarray
    config: dict[str, Any]
    #: agreement, its mean and each model against the reference, with permutation p-values
    #: (vaxis.axis.agreement)
    stats: list[Stat] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready apart from NaN (undefined correlations), which ``write_json`` nulls."""
        return {
            "format": "vaxis-consistency",
            "class_names": self.class_names,
            "positions": self.positions,
            "reference": {"values": self.reference, "source": self.reference_source},
            "tiers": TIERS_TEXT,
            "models": [asdict(m) for m in self.models],
            "pearson": self.pearson.tolist(),
            "spearman": self.spearman.tolist(),
            "mean_off_diagonal": {
                "pearson": mean_off_diagonal(self.pearson),
                "spearman": mean_off_diagonal(self.spearman),
            },
            "config": self.config,
            "stats": [stat.to_dict() for stat in self.stats],
        }


def _label(name: str, taken: set[str]) -> str:
    """A short unique label: a path's last part, else the name."""
    label = Path(name).name if Path(name).exists() else name
    base, n = label, 2
    while label in taken:
        label, n = f"{base}#{n}", n + 1
    return label


def class_positions(axis: VAxis, positions: Positions) -> np.ndarray:
    """(k,) class positions at the axis's layer: held-out (layers.py) or in-sample."""
    if positions == "held_out":
        return np.asarray(axis.layer_scores_.held_out_positions[axis.layer_], dtype=float)
    return np.asarray(axis.class_positions_[axis.layer_], dtype=float)


def compare_models(
    models: Sequence[str],
    config: AxisBuildConfig,
    out_dir: str | Path,
    *,
    reference: str | Path | None = None,
    positions: Positions = "held_out",
    progress: bool = True,
    overwrite: bool = False,
    n_null: int = 1000,
    seed: int = 0,
) -> ConsistencyReport:
    """Build an axis per model (``config`` with its ``model`` replaced) into
    ``out_dir/axes/<n>-<label>/`` and write ``consistency.json`` and ``agreement.png``; the
    agreement figures carry permutation p-values (``n_null`` draws where not exact)."""
    if len(models) < 2:
        raise ValueError("compare needs at least two models")
    if config.gguf_file is not None:
        raise ValueError("gguf_file applies to one model: pass each model as a .gguf path")
    out = Path(out_dir)
    entries: list[ModelEntry] = []
    rows: list[np.ndarray] = []
    names: list[str] = []
    ref = np.empty(0)
    for i, name in enumerate(models):
        label = _label(name, {e.label for e in entries})
        folder = out / "axes" / f"{i:02d}-{re.sub(r'[^A-Za-z0-9._-]+', '-', label)}"
        axis = build_axis(config.model_copy(update={"model": name}), folder, progress, overwrite)
        _, record = read_build(folder)
        if i == 0:
            names = axis.class_names_
            ref = axis.class_valence_ if reference is None else load_reference(reference, names)
        elif axis.class_names_ != names:
            raise ValueError(f"{name}: classes {axis.class_names_} differ from {names}")
        row = class_positions(axis, positions)
        rows.append(row)
        r = _pearson(row, ref)
        entries.append(
            ModelEntry(
                label=label,
                model=record["model"],
                model_note=record["model_note"],
                axis_dir=str(folder),
                method=axis.method_,
                layer=axis.layer_,
                diagnosis_ok=axis.diagnosis_.ok,
                class_positions=row.tolist(),
                reference_pearson=r,
                reference_spearman=_spearman(row, ref),
                tier=tier(r),
            )
        )
    pearson, spearman = correlations(np.stack(rows))
    report = ConsistencyReport(
        class_names=list(names),
        positions=positions,
        reference=[float(v) for v in ref],
        reference_source="stories' a-priori class valence" if reference is None else str(reference),
        models=entries,
        pearson=pearson,
        spearman=spearman,
        config=config.model_dump(mode="json"),
    )
    report = replace(report, stats=agreement_stats(report, n_null, seed))
    write_json(out / CONSISTENCY_FILE, report.to_dict())
    labels = [f"{e.label} ({e.tier})" for e in entries]
    by_note: dict[str, list[str]] = {}
    for e in entries:
        by_note.setdefault(e.model_note, []).append(e.label)
    notes = [f"{', '.join(labels)}: {note}" for note, labels in by_note.items()]
    title = (
        f"Pearson r of {positions.replace('_', '-')} class positions "
        f"(mean off-diagonal {mean_off_diagonal(pearson):.2f})"
    )
    plots.agreement_heatmap(pearson, labels, out / HEATMAP_PLOT, title, "; ".join(notes))
    return report
