"""`vaxis probe` and the zoo's rediscovery as one library call: read the runs, resolve the
stimulus positions, probe every checkpoint (:func:`~vaxis.probe.report.probe_runs`), write
``probe.json`` and its plots, and return a :class:`ProbeStageReport` (a stage report: what
`vaxis probe` prints and the zoo's report carries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaxis.core.reported import Figure, Plot, Table, cell, figure_of
from vaxis.core.stage import parts_json
from vaxis.probe.nulls import MEASURES, ProbeConfig
from vaxis.probe.report import PROBE_FILE, ProbeReport, dataset_of, probe_runs, write_report

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob

#: the probe's plots: file stem in the output folder -> title
PROBE_PLOTS = (
    ("alignment_per_checkpoint", "rediscovery: alignment per checkpoint"),
    ("alignment_vs_accuracy", "rediscovery: alignment against balanced accuracy"),
)


class ProbeStageConfig(ProbeConfig):
    """Everything `vaxis probe` needs: how the probe is computed (:class:`ProbeConfig`) plus
    the runs, the positions and the output folder."""

    #: a folder of finished runs (every ``metrics.json`` under it), e.g. `vaxis train`'s output
    runs: Path
    #: stimulus positions: an axis folder, a CSV/JSON, ``classes`` or ``truth``
    #: (:func:`vaxis.axis.positions.resolve_positions`)
    positions: str
    out: Path
    #: the cohort the runs were trained on (a synthetic one's truth lies beside it); None: the
    #: runs folder
    cohort: Path | None = None
    #: a folder of decoders trained on shuffled labels (a null)
    null_runs: Path | None = None
    #: exactly these run folders under ``runs`` (a caller with a plan reads the runs it asked
    #: for, never others kept there); None: every run under ``runs``
    only: tuple[Path, ...] | None = None

    def measures(self) -> ProbeConfig:
        """The :class:`ProbeConfig` part (what ``probe.json`` records as the config)."""
        return ProbeConfig.model_validate(self.model_dump(include=set(ProbeConfig.model_fields)))


@dataclass
class ProbeStageReport:
    """The probe of every checkpoint and where it was written (a StageReport)."""

    probe: ProbeReport
    out: Path
    synthetic: bool
    #: a run's folder as the probe names it -> the label the tables show (default: the folder)
    names: dict[str, str] = field(default_factory=dict)

    def figures(self) -> dict[str, Figure]:
        """The across-checkpoint correlations, then each checkpoint's measures."""
        return self._rediscovery()[0]

    def tables(self) -> list[Table]:
        return [self._rediscovery()[1]]

    def plots(self) -> list[Plot]:
        out = self.out.resolve()
        return [
            Plot(title=title, png=str(png), svg=str(svg) if svg.exists() else None)
            for stem, title in PROBE_PLOTS
            if (png := out / f"{stem}.png").exists() and (svg := png.with_suffix(".svg"))
        ]

    def notes(self) -> list[str]:
        return list(self.probe.notes)

    def to_json(self) -> dict[str, Any]:
        """The report's parts and ``probe.json``'s path."""
        return {**parts_json(self), "probe": str(self.out / PROBE_FILE)}

    def _rediscovery(self) -> tuple[dict[str, Figure], Table]:
        report = self.probe
        figures = {
            f"probe {s.name}": f
            for s in report.across.values()
            if (f := figure_of(s, report.synthetic)) is not None
        }
        rows = []
        for probe in report.checkpoints:
            label = self.names.get(probe.name, probe.name)
            row = [label, f"{probe.balanced_accuracy:.3f}"]
            for key, (measure, _) in MEASURES.items():
                stat = probe.stats.get(key)
                p = [t.p_value for t in probe.nulls.get(key, [])]
                row.append(
                    "-" if stat is None else cell(stat.value) + (f" (p {p[0]:.3g})" if p else "")
                )
                if stat is not None and (f := figure_of(stat, report.synthetic)) is not None:
                    figures[f"probe {measure} {label}"] = f
            rows.append(row)
        columns = ["checkpoint", "balanced accuracy", *(label for label, _ in MEASURES.values())]
        note = (
            f"p: against the first null of each measure (all nulls: {self.out / PROBE_FILE}). The "
            "study's figures (published, not run here): class-PC1 alignment 0.60-0.77 over 36 "
            "checkpoints; r(balanced accuracy, class-PC1) 0.885, r(.., residual) 0.738."
        )
        table = Table(
            title="rediscovery: the V-axis inside trained decoders",
            columns=columns,
            rows=rows,
            note=note,
        )
        return figures, table


def plan(config: ProbeStageConfig) -> list[PlannedJob]:
    """No training jobs: the probe reads finished runs."""
    return []


def run(config: ProbeStageConfig, compute: Compute | None = None) -> ProbeStageReport:
    """Probe the runs against the positions, write ``probe.json`` and its plots into
    ``config.out``. ``compute`` is not used: this stage trains nothing (one signature for
    every stage)."""
    from vaxis.axis.positions import resolve_positions

    dataset = dataset_of(config.only[0] if config.only else config.runs)
    positions = resolve_positions(config.positions, config.cohort or config.runs, dataset)
    probe = probe_runs(config.runs, positions, config.measures(), config.null_runs, config.only)
    write_report(probe, config.out)
    return ProbeStageReport(probe=probe, out=config.out, synthetic=probe.synthetic)
