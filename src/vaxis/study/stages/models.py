"""Stage ``models``: do other language models place the emotion classes as the study's does?

With ``[model] compare`` listing more models, each gets its own V-axis (the ``[stages.axis]``
build, :func:`vaxis.axis.compare.compare_models`); agreement is the Pearson r of two models'
held-out class positions, and each model is correlated with the stories' a-priori class
valence and put in the study's tier, each with its permutation p over class labels
(:mod:`vaxis.axis.agreement`; ``[stages.axis] n_null`` draws and ``seed`` where not exact).
With one model the stage reports a note and no figure.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from vaxis.core.reported import cell, figure_of
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, StudyError, Table, stage
from vaxis.study.stages.axis import build_config
from vaxis.study.stages.data import dataset_of

if TYPE_CHECKING:
    from vaxis.axis.compare import ConsistencyReport

ONE_MODEL = "one model: list more under [model] compare to see agreement across models"


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
            _models(config), base, folder, progress=context.progress, overwrite=True,
            n_null=settings.n_null, seed=settings.seed,
        )  # fmt: skip
    figures = {s.name: f for s in report.stats if (f := figure_of(s, synthetic=False)) is not None}
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
