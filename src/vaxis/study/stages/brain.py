"""Stage ``brain``: the EEG read-out of the V-axis (held-out figures beside in-sample)."""

from __future__ import annotations

from pathlib import Path

from vaxis.core.reported import figure_of, stats_table
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StageResult, StudyContext, stage
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

PLOTS = (
    ("topomap_pattern", "EEG read-out: activation pattern per band (topomaps)"),
    ("topomap_cell_r", "EEG read-out: per-cell correlation with V-axis position (topomaps)"),
    ("scatter_loso", "EEG read-out: leave-one-stimulus-out predictions"),
)


@stage("brain", "EEG read-out of the V-axis", requires=("data", "axis"), uses=("stages.brain",))
def brain(config: StudyConfig, context: StudyContext) -> StageResult:
    """Fit the read-out from channel x band features to each stimulus's V-axis position."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.brain.mapping import ReadoutConfig, evaluate_readout
    from vaxis.brain.outputs import SYNTHETIC_WARNING, brain_cells, write_outputs
    from vaxis.data.cohort import Cohort

    settings = config.stages.brain
    path = cohort_path(config, context)
    cohort = Cohort.load(path)
    positions = resolve_positions(str(axis_dir(context)), path, cohort.meta.dataset)
    readout = ReadoutConfig(
        model=settings.model,
        n_permutations=settings.permutations,
        n_random_directions=settings.random_directions,
        n_bootstrap=settings.bootstrap,
        subject_folds=settings.subject_folds,
        seed=settings.seed,
    )
    report = evaluate_readout(cohort, positions, readout)
    folder: Path = context.folder("brain")
    cells = brain_cells(cohort, report)
    write_outputs(cohort, report, cells, folder)
    figures = {
        f"eeg read-out {s.name}": f
        for s in report.stats
        if (f := figure_of(s, report.synthetic)) is not None
    }
    peak = cells.peak()
    notes = [f"positions: {positions.source}. {positions.note}".strip(), *report.notes]
    notes.append(
        f"per-cell peak {peak['channel']}/{peak['band']} r = {peak['r']:+.2f} "
        f"(p = {peak['p']:.2g}, BH q = {peak['q_bh']:.2g})"
    )
    if report.synthetic:
        notes.insert(0, SYNTHETIC_WARNING)
    return StageResult(
        figures=figures,
        tables=[stats_table(f"{report.dataset}: read-out of V-axis positions", report.stats)],
        plots=[context.plot(title, folder / f"{stem}.png") for stem, title in PLOTS],
        notes=notes,
    )
