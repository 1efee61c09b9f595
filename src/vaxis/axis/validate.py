"""Zero-shot validation: does a built axis order human-rated texts by valence?

Each text's score is its position on the axis (the dot product of its pooled state with the unit
direction); nothing is fitted on the evaluation texts. Per corpus and layer the report gives
AUROC for binary labels (ratings are binarised at the middle of their scale, rows exactly there
dropped) and Spearman for continuous ratings, each with a 95% bootstrap interval and a
random-direction null (:mod:`vaxis.axis.nulls`: signed, because the axis's sign was fixed on the
stories). Beside it: a lexicon baseline and a supervised probe on the same states, the ceiling,
and an ablation (:mod:`vaxis.axis.baselines`).

The axis's layer was chosen from the stories alone. Other layers are scored only to draw a curve
"for inspection, not selection": picking the best of them would fit the layer on test data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vaxis.assets import AssetMissingError
from vaxis.axis import baselines, plots
from vaxis.axis.axis import VAxis
from vaxis.axis.baselines import AblationResult, Baseline
from vaxis.axis.build import ModelStates, model_note, read_build, story_texts, write_json
from vaxis.axis.cache import StateCache
from vaxis.axis.corpora import RatedTexts, load_corpus
from vaxis.axis.models import resolve_model
from vaxis.axis.nulls import Metric, NullSummary, bootstrap_ci, direction_null, random_directions
from vaxis.axis.nulls import score as metric_score
from vaxis.axis.stories import TextTable
from vaxis.errors import DataFormatError

VALIDATION_FILE, CURVES_PLOT = "validation.json", "validation_layers.png"
LayerChoice = Literal["chosen", "all"]


def protocol(n_null: int, n_boot: int) -> dict[str, str]:
    """What every number in the report means (saved with it)."""
    return {
        "score": "position = pooled state at a layer . that layer's unit axis direction; "
        "higher = more positive; nothing is fitted on the evaluation texts",
        "auroc": "binary labels, or ratings binarised at the middle of their scale (rows exactly "
        "at it dropped); Mann-Whitney AUROC with mid-ranks",
        "spearman": "rank correlation of positions with continuous human ratings",
        "ci95": f"percentile bootstrap over texts ({n_boot} resamples; stratified by label for "
        "AUROC); the probe's interval resamples texts only (folds not re-fitted)",
        "null": f"{n_null} random unit directions (uniform on the sphere) at the same layer, same "
        "texts, signed (the axis's sign was fixed on the stories, so no max(AUROC, 1 - AUROC)); "
        "p = (1 + #{null >= observed}) / (1 + N), one-sided",
        "layers": "the axis layer was chosen from the stories before any evaluation text was "
        "seen; other layers are shown for inspection, not selection",
        "lexicon": baselines.LEXICON_PROTOCOL,
        "probe": f"supervised ceiling: {baselines.PROBE_FOLDS}-fold CV on the same states at the "
        f"axis layer; standardised L2 logistic regression (C={baselines.PROBE_C}) for labels, "
        "ridge (GCV alpha) for ratings",
        "ablation": baselines.ABLATION_PROTOCOL,
    }


@dataclass(frozen=True)
class ZeroShotResult:
    """The axis's score on one corpus at one layer, with its interval and null."""

    corpus: str
    metric: Metric
    layer: int
    axis_layer: bool  # True only for the layer chosen from the stories
    value: float
    ci95: tuple[float, float]
    n: int
    n_positive: int | None
    null: NullSummary

    @property
    def p_value(self) -> float:
        return self.null.p_value

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "null": self.null.to_dict(), "p_value": self.p_value}


@dataclass
class CorpusReport:
    """Everything measured on one corpus."""

    name: str
    source: str
    description: str
    n_texts: int
    results: list[ZeroShotResult] = field(default_factory=list)
    baselines: list[Baseline] = field(default_factory=list)
    ablation: AblationResult | None = None
    notes: list[str] = field(default_factory=list)

    def at_axis_layer(self, metric: Metric) -> ZeroShotResult:
        """The result that counts: the axis's own layer."""
        return next(r for r in self.results if r.axis_layer and r.metric == metric)

    def baseline(self, metric: str, word: str) -> float | None:
        """The value of the first baseline for ``metric`` whose name contains ``word``."""
        found = [b.value for b in self.baselines if b.metric == metric and word in b.name]
        return found[0] if found else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "description": self.description,
            "n_texts": self.n_texts,
            "axis_layer": [r.to_dict() for r in self.results if r.axis_layer],
            "baselines": [asdict(b) for b in self.baselines],
            "ablation": None if self.ablation is None else self.ablation.to_dict(),
            "other_layers_for_inspection_not_selection": [
                r.to_dict() for r in self.results if not r.axis_layer
            ],
            "notes": self.notes,
        }


@dataclass
class ValidationReport:
    """All corpora, with the axis and model they describe and the protocol."""

    axis_dir: str
    axis: dict[str, Any]
    model: dict[str, Any]
    model_note: str
    settings: dict[str, Any]
    corpora: list[CorpusReport]
    timing_s: float = 0.0

    def corpus(self, name: str) -> CorpusReport:
        return next(c for c in self.corpora if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "vaxis-validation",
            "axis_dir": self.axis_dir,
            "axis": self.axis,
            "model": self.model,
            "model_note": self.model_note,
            "settings": self.settings,
            "protocol": protocol(self.settings["n_null"], self.settings["n_boot"]),
            "corpora": [c.to_dict() for c in self.corpora],
            "timing_s": round(self.timing_s, 2),
        }


#: Metric -> (row index into the corpus, target values).
Views = dict[Metric, tuple[np.ndarray, np.ndarray]]


def targets(rated: RatedTexts, threshold: float | None) -> Views:
    """Spearman on scores; AUROC on labels, or on scores binarised at ``threshold`` (default:
    the middle of the rating scale, if known; rows exactly at it are dropped)."""
    out: Views = {}
    everything = np.arange(len(rated))
    if rated.scores is not None:
        out["spearman"] = (everything, rated.scores)
    if rated.labels is not None:
        out["auroc"] = (everything, rated.labels)
    elif rated.scores is not None:
        if threshold is None and rated.scale is not None:
            threshold = sum(rated.scale) / 2
        if threshold is not None:
            keep = np.flatnonzero(rated.scores != threshold)
            out["auroc"] = (keep, (rated.scores[keep] > threshold).astype(np.int64))
    return out


@dataclass(frozen=True)
class _Settings:
    """What every layer of every corpus is scored with."""

    layers: list[int]
    nulls: np.ndarray  # (width, n_null) random unit directions
    n_boot: int
    seed: int


def _layer_result(
    name: str,
    metric: Metric,
    x: np.ndarray,
    target: np.ndarray,
    axis: VAxis,
    layer: int,
    settings: _Settings,
) -> ZeroShotResult:
    """The axis at ``layer`` scored on (n, d) states ``x``, with CI and null."""
    positions = x @ axis.directions_[layer]
    value = float(metric_score(positions, target, metric))
    return ZeroShotResult(
        corpus=name,
        metric=metric,
        layer=layer,
        axis_layer=layer == axis.layer_,
        value=value,
        ci95=bootstrap_ci(positions, target, metric, settings.n_boot, settings.seed),
        n=len(target),
        n_positive=int(target.sum()) if metric == "auroc" else None,
        null=direction_null(x, target, metric, value, settings.nulls),
    )


def _baselines(
    report: CorpusReport,
    rated: RatedTexts,
    views: Views,
    states: np.ndarray,
    n_boot: int,
    seed: int,
) -> dict[Metric, float]:
    """Append lexicon and probe baselines; returns the probe value per metric."""
    try:
        lexicon, lexicon_name = baselines.lexicon_scores(rated.texts)
    except AssetMissingError as err:
        lexicon, lexicon_name = None, ""
        report.notes.append(f"lexicon baseline skipped: {err}")
    probes: dict[Metric, float] = {}
    for metric, (index, target) in views.items():
        oof = baselines.probe_scores(states[index], target, metric, seed)
        probes[metric] = float(metric_score(oof, target, metric))
        ci = bootstrap_ci(oof, target, metric, n_boot, seed)
        report.baselines.append(
            Baseline("supervised probe (CV)", metric, probes[metric], ci, len(index))
        )
        if lexicon is not None:
            value = float(metric_score(lexicon[index], target, metric))
            ci = bootstrap_ci(lexicon[index], target, metric, n_boot, seed)
            report.baselines.append(Baseline(lexicon_name, metric, value, ci, len(index)))
    return probes


def _check_model(axis: VAxis, fingerprint: str, axis_dir: Path) -> None:
    built = axis.model_identity_.get("fingerprint")
    if built != fingerprint:
        raise DataFormatError(
            axis_dir / "axis.json",
            f"the axis was built from model {built}, but the model found now is {fingerprint}",
            "validate with the model the axis was built from, or build the axis again",
        )


def _validate_corpus(
    rated: RatedTexts,
    views: Views,
    axis: VAxis,
    source: ModelStates,
    table: TextTable,
    settings: _Settings,
) -> CorpusReport:
    """Score one corpus at every requested layer, then baselines and ablation at the axis's."""
    report = CorpusReport(rated.name, rated.source, rated.description, len(rated))
    if "auroc" not in views:
        report.notes.append("AUROC skipped: scores on an unknown scale; pass threshold")
    states = source.hidden(rated.texts).states
    for layer in settings.layers:
        x = np.asarray(states[:, layer], dtype=np.float64)
        for metric, (index, target) in views.items():
            result = _layer_result(rated.name, metric, x[index], target, axis, layer, settings)
            report.results.append(result)
    x = np.asarray(states[:, axis.layer_], dtype=np.float64)
    probes = _baselines(report, rated, views, x, settings.n_boot, settings.seed)
    if "auroc" in views:
        index, labels = views["auroc"]
        stories = np.asarray(source.hidden(table.texts).states[:, axis.layer_], dtype=np.float64)
        report.ablation = baselines.ablation(
            axis, x[index], labels, stories, table.class_index, probes["auroc"], settings.seed
        )
    return report


def validate_axis(
    axis_dir: str | Path,
    corpora: Sequence[str],
    *,
    max_items: int | None = 1000,
    layers: LayerChoice = "all",
    n_null: int = 1000,
    n_boot: int = 1000,
    seed: int = 0,
    threshold: float | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
    text_column: str = "text",
    label_column: str | None = None,
    score_column: str | None = None,
) -> ValidationReport:
    """Validate the axis in ``axis_dir`` (made by :func:`vaxis.axis.build.build_axis`) on each
    corpus: names from :data:`vaxis.axis.corpora.CORPORA`, or the user's files read with the
    ``*_column`` options. ``max_items`` draws a seeded stratified subsample. Writes
    ``validation.json`` and, with ``layers="all"``, the per-layer curve PNG into ``out_dir``
    (default: ``axis_dir``).
    """
    start = time.perf_counter()
    folder = Path(axis_dir)
    config, _ = read_build(folder)
    axis = VAxis.load(folder)
    cache = StateCache(config.cache_dir)
    spec = resolve_model(config.model, gguf_file=config.gguf_file, cache=cache)
    _check_model(axis, spec.fingerprint, folder)
    defined = [i for i in range(axis.n_layers_) if np.any(axis.directions_[i])]
    settings = _Settings(
        layers=[axis.layer_] if layers == "chosen" else defined,
        nulls=random_directions(axis.n_features_in_, n_null, seed),
        n_boot=n_boot,
        seed=seed,
    )
    source = ModelStates.for_config(config, spec, progress)
    reports = []
    try:
        story_set, table = story_texts(config)
        for name in corpora:
            rated = load_corpus(
                name,
                max_items=max_items,
                seed=seed,
                text_column=text_column,
                label_column=label_column,
                score_column=score_column,
            )
            views = targets(rated, threshold)
            reports.append(_validate_corpus(rated, views, axis, source, table, settings))
    finally:
        source.close()
    result = ValidationReport(
        axis_dir=str(folder),
        axis={
            "method": axis.method_,
            "layer": axis.layer_,
            "recipe": axis.recipe,
            "pooling": axis.pooling_,
            "diagnosis_ok": axis.diagnosis_.ok,
            "diagnosis_warnings": list(axis.diagnosis_.warnings),
            "stories": story_set.source,
        },
        model=spec.model_dump(mode="json"),
        model_note=model_note(spec),
        settings={
            "corpora": list(corpora),
            "max_items": max_items,
            "layers": layers,
            "n_null": n_null,
            "n_boot": n_boot,
            "seed": seed,
            "threshold": threshold,
        },
        corpora=reports,
        timing_s=time.perf_counter() - start,
    )
    out = Path(out_dir) if out_dir is not None else folder
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / VALIDATION_FILE, result.to_dict())
    if layers == "all":
        plots.layer_curves(curve_panels(result), out / CURVES_PLOT, result.model_note)
    return result


def _quantiles(rows: list[ZeroShotResult], name: str) -> np.ndarray:
    return np.array([r.null.quantiles[name] for r in rows])


def curve_panels(report: ValidationReport) -> list[plots.CurvePanel]:
    """One plot panel per corpus and metric, from a report scored on every layer."""
    panels = []
    for corpus in report.corpora:
        for metric in ("auroc", "spearman"):
            rows = sorted((r for r in corpus.results if r.metric == metric), key=lambda r: r.layer)
            if not rows:
                continue
            panel = plots.CurvePanel(
                title=f"{corpus.name} (n = {rows[0].n}): {metric}",
                metric=metric,
                layers=np.array([r.layer for r in rows]),
                values=np.array([r.value for r in rows]),
                null_p1=_quantiles(rows, "p1"),
                null_p5=_quantiles(rows, "p5"),
                null_p95=_quantiles(rows, "p95"),
                null_p99=_quantiles(rows, "p99"),
                chosen=report.axis["layer"],
                ceiling=corpus.baseline(metric, "probe"),
                lexicon=corpus.baseline(metric, "VADER"),
            )
            panels.append(panel)
    return panels
