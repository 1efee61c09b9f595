"""Stage ``models``: do other language models place the emotion classes as the study's does?

With ``[model] compare`` listing more models, each gets its own V-axis (the ``[stages.axis]``
build, :func:`vaxis.axis.compare.compare_models`); agreement is the Pearson r of two models'
held-out class positions, and each model is correlated with the stories' a-priori class
valence and put in the study's tier. The library gives no p-value for these, so the stage
computes permutation p-values over class labels: exact (all k! relabelings) for one r, Monte
Carlo (``[stages.axis] n_null`` draws, ``seed``) for the mean over pairs. With one model the
stage reports a note and no figure.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vaxis.core.reported import cell
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, StudyError, Table, stage
from vaxis.study.stages.axis import build_config
from vaxis.study.stages.data import dataset_of

if TYPE_CHECKING:
    from vaxis.axis.compare import ConsistencyReport

ONE_MODEL = "one model: list more under [model] compare to see agreement across models"
#: the largest class count whose k! relabelings are enumerated (9! = 362880)
EXACT_CLASSES = 9


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


def _models(config: StudyConfig) -> list[str]:
    """The study's model and the compared ones; a ``gguf_file`` is joined to its folder."""
    name, gguf = config.model.name, config.model.gguf_file
    if gguf is not None:
        if not Path(name).is_dir():
            raise StudyError(
                f"[model] gguf_file = {gguf!r} needs name to be a folder to compare models; "
                "give name as the .gguf file's path instead"
            )
        name = str(Path(name) / gguf)
    return [name, *config.model.compare]


def _p_words(k: int, n_draws: int, seed: int) -> str:
    """How :func:`permutation_p` got its p for ``k`` classes."""
    if k <= EXACT_CLASSES:
        return "p: one-sided exact permutation test over class labels (all k! relabelings)"
    return f"p: one-sided permutation test over class labels ({n_draws} draws, seed {seed})"


def _figure(value: float, protocol: str, n: int, p: float, note: str = "") -> Figure:
    return Figure(value=value, protocol=protocol, n=n, p=p, synthetic=False, note=note)


def _figures(report: ConsistencyReport, n_draws: int, seed: int) -> dict[str, Figure]:
    """Pairwise agreement, its mean over pairs and each model against the reference."""
    rows = np.array([e.class_positions for e in report.models])
    labels = [e.label for e in report.models]
    k = len(report.class_names)
    where = "held-out class positions (each class placed by an axis fitted without it) on each"
    where += " model's own V-axis at its own chosen layer"
    p_words = _p_words(k, n_draws, seed)
    figures: dict[str, Figure] = {}
    for i, j in itertools.combinations(range(len(labels)), 2):
        r = float(report.pearson[i, j])
        if math.isfinite(r):
            p = permutation_p(rows[i], rows[j], n_draws, seed)
            protocol = f"Pearson r of {where}; n = classes; {p_words}"
            figures[f"agreement r {labels[i]} vs {labels[j]}"] = _figure(r, protocol, k, p)
    upper = report.pearson[np.triu_indices(len(labels), k=1)]
    if np.all(np.isfinite(upper)):
        protocol = (
            f"mean over the {upper.size} model pairs of the Pearson r of {where}; n = classes; "
            f"p: one-sided Monte Carlo permutation test, each model's class labels relabeled "
            f"independently ({n_draws} draws, seed {seed})"
        )
        p = mean_agreement_p(rows, n_draws, seed)
        figures["mean agreement r"] = _figure(float(upper.mean()), protocol, k, p)
    reference = np.array(report.reference)
    for entry, row in zip(report.models, rows, strict=True):
        if math.isfinite(entry.reference_pearson):
            protocol = (
                f"Pearson r of {where} with the {report.reference_source}; n = classes; "
                f"{p_words}; tier as in the study"
            )
            p = permutation_p(reference, row, n_draws, seed)
            note = f"tier: {entry.tier}"
            figures[f"reference r {entry.label}"] = _figure(
                entry.reference_pearson, protocol, k, p, note
            )
    return figures


def _tables(report: ConsistencyReport, figures: dict[str, Figure]) -> list[Table]:
    from vaxis.axis.compare import TIERS_TEXT

    labels = [e.label for e in report.models]
    matrix = Table(
        title="agreement: Pearson r of held-out class positions between models",
        columns=["model", *labels],
        rows=[
            [label, *(cell(v, ".3f") for v in row)]
            for label, row in zip(labels, report.pearson, strict=True)
        ],
        note="p-values of each pair are in results.json",
    )
    rows = []
    for e in report.models:
        figure = figures.get(f"reference r {e.label}")
        rows.append(
            [
                e.label,
                f"{e.method}, layer {e.layer}",
                "ok" if e.diagnosis_ok else "failed",
                cell(e.reference_pearson, ".3f"),
                "-" if figure is None or figure.p is None else f"{figure.p:.3g}",
                e.tier,
                e.model_note,
            ]
        )
    tiers = Table(
        title=f"each model against the {report.reference_source}",
        columns=["model", "axis", "diagnosis", "r", "p", "tier", "model note"],
        rows=rows,
        note=TIERS_TEXT,
    )
    return [matrix, tiers]


@stage(
    "models",
    "V-axis across models",
    requires=("axis",),
    uses=("model", "stages.axis"),
    fingerprint=dataset_of,  # the class set of the stories follows the EEG dataset
)
def models(config: StudyConfig, context: StudyContext) -> StageResult:
    """Compare the V-axes of ``[model] name`` and ``[model] compare`` (note if only one)."""
    if not config.model.compare:
        return StageResult(notes=[ONE_MODEL])
    from vaxis.axis.compare import HEATMAP_PLOT, compare_models

    folder = context.folder("models")
    settings = config.stages.axis
    base = build_config(config).model_copy(update={"gguf_file": None})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = compare_models(
            _models(config), base, folder, progress=context.progress, overwrite=True
        )
    figures = _figures(report, settings.n_null, settings.seed)
    notes = [str(w.message) for w in caught]
    m = len(report.models)
    dropped = m * (m - 1) // 2 + 1 + m - len(figures)
    if dropped:
        notes.append(f"{dropped} undefined figure(s) (flat class positions) not reported")
    return StageResult(
        figures=figures,
        tables=_tables(report, figures),
        plots=[context.plot("agreement of class positions between models", folder / HEATMAP_PLOT)],
        notes=notes,
    )
