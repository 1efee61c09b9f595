"""What `vaxis saturation` found, typed: per-epoch curves, the threshold, the movement of the
basin against the residual, the ablation summary, and the report that holds them
(:class:`SaturationReport`, a stage report). ``to_dict`` of each gives the saturation.json
record as it has always been written."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaxis.core.reported import Figure, Plot, Table, json_ready
from vaxis.core.stage import parts_json
from vaxis.core.stats import TestResult
from vaxis.probe.report import SYNTHETIC_WARNING
from vaxis.saturation.config import SaturationConfig
from vaxis.saturation.threshold import Correlation, ThresholdEstimate

if TYPE_CHECKING:
    from vaxis.saturation.ablation import AblationResult

PUBLISHED = {
    "threshold_balanced_accuracy": [0.62, 0.66],
    "basin_rise_under_supervision": [0.01, 0.36],
    "ablation_mean_z": 7.7,
    "dataset": "FACED 9-class, test subjects 100-122",
    "status": "published, not run here",
}
#: the plots (file stem, title) saturation writes, PNG and SVG each
PLOTS = (
    ("basin_per_epoch", "saturation: basin strength rho per epoch (validation subjects)"),
    ("threshold", "saturation: gain of V-axis supervision against baseline accuracy"),
    ("gradient_shares", "saturation: gradient shares of the basin and the V direction"),
    ("ablation", "saturation: directional ablation against matched null directions"),
)


@dataclass(frozen=True)
class RunRow:
    """One align run: its accuracies, rho, residual alignment and directional ablation."""

    arm: str
    seed: int
    val_balanced_accuracy: float
    test_balanced_accuracy: float
    rho: float
    residual_alignment: float
    #: the ablation's result, or why it was skipped; None: the ablation was not run
    ablation: AblationResult | str | None = None

    @property
    def label(self) -> str:
        return f"{self.arm}/seed{self.seed}"

    def ablated(self) -> AblationResult | None:
        """The ablation's result (None: not run, or skipped)."""
        return None if self.ablation is None or isinstance(self.ablation, str) else self.ablation

    def to_dict(self) -> dict[str, Any]:
        record = {k: v for k, v in self.__dict__.items() if k != "ablation"}
        if isinstance(self.ablation, str):
            record["ablation"] = {"skipped": self.ablation}
        elif self.ablation is not None:
            record["ablation"] = self.ablation.to_dict()
        return record


@dataclass(frozen=True)
class Curve:
    """One run's per-epoch probe: rho on the validation subjects and the gradient shares."""

    epoch: np.ndarray
    rho: np.ndarray
    val_balanced_accuracy: np.ndarray
    #: the first epoch after which rho stays within eps of its last value (None: never)
    saturation_epoch: int | None
    #: the squared-gradient share a random direction would get in the class-mean span / on V
    chance_share_basin: float
    chance_share_v: float
    #: vaxis.saturation.epoch_probe.SHARE_KEYS -> per-epoch values
    shares: dict[str, np.ndarray]

    def to_dict(self) -> dict[str, Any]:
        record = {k: v for k, v in self.__dict__.items() if k != "shares"}
        return record | self.shares


@dataclass(frozen=True)
class ThresholdPair:
    """One (intervention, seed): the baseline's accuracy and the intervention's gain."""

    arm: str
    seed: int
    x: float
    delta: float


@dataclass(frozen=True)
class Threshold:
    """The pairs, and the fitted crossing of zero gain (or why there is none)."""

    x: str  # what x is
    delta: str  # what delta is
    protocol: str
    pairs: list[ThresholdPair]
    caution: str | None = None
    estimate: ThresholdEstimate | None = None
    reason: str | None = None  # why there is no estimate
    delta_vs_baseline_rho: Correlation | None = None

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "x": self.x,
            "delta": self.delta,
            "protocol": self.protocol,
            "pairs": [asdict(p) for p in self.pairs],
        }
        if self.caution is not None:
            record["caution"] = self.caution
        if self.estimate is None:
            return record | {"estimate": None, "reason": self.reason}
        record["estimate"] = self.estimate.to_dict()
        if self.delta_vs_baseline_rho is not None:
            record["delta_vs_baseline_rho"] = self.delta_vs_baseline_rho.to_dict()
        return record


@dataclass(frozen=True)
class Movement:
    """Arm minus baseline of each measure (``rho``, ``residual``), paired t over seeds."""

    protocol: str
    #: measure -> arm -> the test (None: fewer than two shared seeds)
    tests: dict[str, dict[str, TestResult | None]]

    def to_dict(self) -> dict[str, Any]:
        by_measure = {
            m: {a: None if t is None else t.to_dict() for a, t in by_arm.items()}
            for m, by_arm in self.tests.items()
        }
        return {"protocol": self.protocol, **by_measure}


@dataclass(frozen=True)
class AblationSummary:
    """The directional ablation over every checkpoint that has one."""

    protocol: str
    n_checkpoints: int
    mean_z: float | None
    n_z_above_1_96: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "n_checkpoints": self.n_checkpoints,
            "mean_z": self.mean_z,
            "n_z_above_1.96": self.n_z_above_1_96,
        }


@dataclass
class SaturationReport:
    """Everything `vaxis saturation` found (see vaxis.saturation.stage)."""

    synthetic: bool
    protocol: str
    positions_source: str
    config: SaturationConfig
    #: one row per align run (baseline first)
    runs: list[RunRow]
    #: arm -> seed -> curve (only runs that kept per-epoch probes)
    curves: dict[str, dict[int, Curve]]
    threshold: Threshold
    movement: Movement
    #: None: the ablation was not run
    ablation: AblationSummary | None
    files: list[Path] = field(default_factory=list)

    def figures(self) -> dict[str, Figure]:
        from vaxis.saturation.tables import ablation_part, movement_figures, threshold_part

        return threshold_part(self)[0] | movement_figures(self) | ablation_part(self)[0]

    def tables(self) -> list[Table]:
        from vaxis.saturation.tables import ablation_part, curve_tables, threshold_part

        rho_table, share_table = curve_tables(self)
        return [rho_table, threshold_part(self)[1], share_table, ablation_part(self)[1]]

    def plots(self) -> list[Plot]:
        """The four plots (absolute paths; the SVG where written)."""
        plots = []
        for stem, title in PLOTS:
            png = (self.config.out / stem).with_suffix(".png")
            svg = png.with_suffix(".svg")
            shown = str(svg.resolve()) if svg.exists() else None
            plots.append(Plot(title=title, png=str(png.resolve()), svg=shown))
        return plots

    def notes(self) -> list[str]:
        last = [float(np.asarray(c.rho)[-1]) for s in self.curves.values() for c in s.values()]
        return [
            f"{len(self.runs)} align runs; positions: {self.positions_source}; "
            f"protocol {self.protocol}; rho at the last epoch "
            + (f"{min(last):.3f}-{max(last):.3f}" if last else "not recorded")
        ]

    def to_json(self) -> dict[str, Any]:
        """The saturation.json record and the report's parts."""
        return self.to_dict() | parts_json(self)

    def _run_record(self, run: RunRow) -> dict[str, Any]:
        """A run's row, with its saturation epoch where it has a per-epoch curve."""
        curve = self.curves.get(run.arm, {}).get(run.seed)
        return run.to_dict() | (
            {} if curve is None else {"saturation_epoch": curve.saturation_epoch}
        )

    def to_dict(self) -> dict[str, Any]:
        """The saturation.json record."""
        record: dict[str, Any] = {"synthetic": self.synthetic}
        if self.synthetic:
            record["warning"] = SYNTHETIC_WARNING
        saturation = {
            arm: {str(s): c.saturation_epoch for s, c in by_seed.items()}
            for arm, by_seed in self.curves.items()
        }
        curves = {a: {s: c.to_dict() for s, c in by.items()} for a, by in self.curves.items()}
        return json_ready(
            record
            | {
                "protocol": self.protocol,
                "positions_source": self.positions_source,
                "config": self.config.record(),
                "n_runs": len(self.runs),
                "runs": [self._run_record(run) for run in self.runs],
                "saturation_epoch": {"eps": self.config.eps, "by_arm_and_seed": saturation},
                "curves": curves,
                "threshold": self.threshold.to_dict(),
                "movement": self.movement.to_dict(),
                "ablation": {"skipped": True} if self.ablation is None else self.ablation.to_dict(),
                "published": PUBLISHED,
                "files": [str(p) for p in self.files],
            }
        )
