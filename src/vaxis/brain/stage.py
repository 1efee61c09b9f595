"""`vaxis brain map` as a library call: load the cohort and positions, fit and evaluate the
read-out, write its outputs and return the stage report (what the command prints and the
study's ``brain`` stage keeps)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxis.brain.mapping import ReadoutConfig, ReadoutReport, evaluate_readout
from vaxis.brain.outputs import SYNTHETIC_WARNING, brain_cells, write_outputs
from vaxis.brain.topography import CellCorrelations
from vaxis.core.reported import Figure, Plot, Table, figure_of, stats_table
from vaxis.core.stage import parts_json
from vaxis.data.validation import NanPolicy

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob

#: the plots of the report: file stem in ``out`` -> title
PLOTS = (
    ("topomap_pattern", "EEG read-out: activation pattern per band (topomaps)"),
    ("topomap_cell_r", "EEG read-out: per-cell correlation with V-axis position (topomaps)"),
    ("scatter_loso", "EEG read-out: leave-one-stimulus-out predictions"),
)


class BrainConfig(ReadoutConfig):
    """The read-out's settings plus where its data come from and where it writes."""

    #: a DE feature cohort (``*.cohort.h5`` or an official feature folder)
    cohort: Path
    #: stimulus positions: an axis folder, a CSV/JSON, ``classes`` or ``truth``
    positions: str
    out: Path
    #: NaN/Inf in the cohort: raise, drop the samples or interpolate
    nan_policy: NanPolicy = "raise"

    def readout(self) -> ReadoutConfig:
        """The read-out's own settings (what ``readout.json`` records)."""
        return ReadoutConfig.model_validate(
            self.model_dump(include=set(ReadoutConfig.model_fields))
        )


@dataclass
class BrainReport:
    """The read-out, its per-cell correlations and the files written (a StageReport)."""

    readout: ReadoutReport
    cells: CellCorrelations
    out: Path
    #: ``readout.json``
    path: Path
    synthetic: bool

    def figures(self) -> dict[str, Figure]:
        """Every stat with a CI or p, as ``eeg read-out <stat name>``."""
        return {
            f"eeg read-out {s.name}": f
            for s in self.readout.stats
            if (f := figure_of(s, self.synthetic)) is not None
        }

    def tables(self) -> list[Table]:
        title = f"{self.readout.dataset}: read-out of V-axis positions"
        return [stats_table(title, self.readout.stats)]

    def plots(self) -> list[Plot]:
        out = self.out.resolve()
        return [
            Plot(title=title, png=str(out / f"{stem}.png"), svg=_existing(out / f"{stem}.svg"))
            for stem, title in PLOTS
        ]

    def notes(self) -> list[str]:
        """The positions' provenance, the read-out's notes, the per-cell peak; the synthetic
        warning first."""
        positions = self.readout.positions
        notes = [f"positions: {positions.source}. {positions.note}".strip(), *self.readout.notes]
        peak = self.cells.peak()
        notes.append(
            f"per-cell peak {peak['channel']}/{peak['band']} r = {peak['r']:+.2f} "
            f"(p = {peak['p']:.2g}, BH q = {peak['q_bh']:.2g})"
        )
        return [SYNTHETIC_WARNING, *notes] if self.synthetic else notes

    def to_json(self) -> dict[str, Any]:
        """The report's parts and ``readout.json``'s path."""
        return {**parts_json(self), "readout": str(self.path)}


def _existing(path: Path) -> str | None:
    return str(path) if path.exists() else None


def plan(config: BrainConfig) -> list[PlannedJob]:
    """No training jobs: the read-out is a closed-form ridge fit, in one process."""
    return []


def run(config: BrainConfig, compute: Compute | None = None) -> BrainReport:
    """Load, fit and evaluate the read-out, write ``readout.json``, positions and plots.
    ``compute`` is not used: this stage trains nothing (one signature for every stage)."""
    from vaxis.axis.positions import resolve_positions
    from vaxis.data import sources

    cohort = sources.open_any(config.cohort, nan_policy=config.nan_policy)
    positions = resolve_positions(config.positions, config.cohort, cohort.meta.dataset)
    readout = evaluate_readout(cohort, positions, config.readout())
    cells = brain_cells(cohort, readout)
    path = write_outputs(cohort, readout, cells, config.out)
    return BrainReport(
        readout=readout, cells=cells, out=config.out, path=path, synthetic=readout.synthetic
    )
