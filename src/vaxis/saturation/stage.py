r"""`vaxis saturation` as a library call: the saturation regularity read from a `vaxis align` run.

It reads the runs that ``ALIGN_OUT/align.json`` lists (one run folder per (arm, seed) in
``ALIGN_OUT/sweep``, written by ``vaxis align``) and reports, with protocol, n and intervals:

1. **Strength of the basin**: rho (:mod:`vaxis.saturation.basin`) of every run's selected
   model on its test features, and, where the run kept ``epochs.npz``
   (:mod:`vaxis.saturation.epoch_probe`), rho per epoch on the validation subjects with the
   saturation epoch (the first epoch after which rho stays within ``eps`` of its last value).
2. **Threshold** (:mod:`vaxis.saturation.threshold`): one pair per (intervention, seed):
   ``x`` the baseline's balanced accuracy (of the same seed; on the *validation* subjects by
   default, to avoid regression to the mean, see there), ``delta`` = intervention minus
   baseline test balanced accuracy; the bootstrap resamples seeds (one baseline checkpoint
   each). Controls (``name/permuted`` ...) are left out. Beside it: r(delta, baseline rho).
3. **Mechanism** (:mod:`vaxis.saturation.basin_movement`): rho and the probe's within-class
   residual alignment (:func:`vaxis.probe.measures.residual_alignment`, PLS, the study's
   protocol), arm minus baseline paired over seeds; and the per-epoch gradient shares.
4. **Directional ablation** (:mod:`vaxis.saturation.ablation`) of every run: z vs random
   directions.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaxis.core.positions import StimulusPositions
from vaxis.core.runs import output_folder, predictions_path
from vaxis.errors import DataFormatError
from vaxis.probe.measures import has_within_class_variation, residual_alignment
from vaxis.probe.report import load_run, target_of
from vaxis.saturation.ablation import AblationResult, ablate_run
from vaxis.saturation.basin import basin_curve, run_basin_strength, saturation_epoch
from vaxis.saturation.basin_movement import basin_vs_residual
from vaxis.saturation.config import SaturationConfig
from vaxis.saturation.epoch_probe import SHARE_KEYS, read_epochs
from vaxis.saturation.gradient_share import chance_share, subspace_basis
from vaxis.saturation.records import (
    AblationSummary,
    Curve,
    Movement,
    RunRow,
    SaturationReport,
    Threshold,
    ThresholdPair,
)
from vaxis.saturation.threshold import correlation, estimate_threshold

if TYPE_CHECKING:
    from vaxis.sweep.compute import Compute
    from vaxis.sweep.cost import PlannedJob

REPORT_NAME = "saturation.json"
ALIGN_REPORT = "align.json"  # the report of `vaxis align` (vaxis.align.report.REPORT_NAME)
BASELINE = "baseline"  # the baseline arm of `vaxis align` (vaxis.align.config.BASELINE)
__all__ = ["SaturationConfig", "SaturationReport", "load_align_runs", "plan", "run"]


@dataclass(frozen=True)
class AlignRun:
    """One (arm, seed) run folder of `vaxis align` and its headline numbers."""

    arm: str
    seed: int
    path: Path
    val_balanced_accuracy: float
    test_balanced_accuracy: float


# ---------------------------------------------------------------------------- reading
def load_align_runs(align_out: str | Path) -> tuple[list[AlignRun], dict[str, Any]]:
    """The (arm, seed) runs that ``align_out/align.json`` compares, read from
    ``align_out/sweep``, and one job's params.

    Only the runs listed in ``align.json`` are read: the sweep store keeps the runs of earlier
    settings for reuse, and mixing them in would report runs nobody asked for.
    """
    from vaxis.sweep import ResultStore

    align_out = output_folder(align_out, "`vaxis align`")
    listed = _listed_runs(align_out / ALIGN_REPORT)
    store = ResultStore(align_out / "sweep")
    runs, params = [], {}
    for key in listed:
        record = store.get(key)
        if record is None or record["status"] != "ok":
            raise DataFormatError(
                store.path(key),
                "a run listed in align.json has no finished result",
                "re-run `vaxis align` with the same settings (finished runs are reused)",
            )
        params, result = record["job"]["params"], record["result"]
        val = result.get("val") or {}
        runs.append(
            AlignRun(
                arm=str(params["arm"]),
                seed=int(params["train"]["seed"]),
                path=store.work_dir(key),
                val_balanced_accuracy=float(val.get("balanced_accuracy", math.nan)),
                test_balanced_accuracy=float(result["test"]["balanced_accuracy"]),
            )
        )
    return sorted(runs, key=lambda r: (r.arm != BASELINE, r.arm, r.seed)), params


def _listed_runs(path: Path) -> list[str]:
    """The job keys of the runs an align report compares (clear errors when it lists none)."""
    rerun = "re-run `vaxis align` with the same settings (finished runs are reused, none retrains)"
    if not path.is_file():
        raise DataFormatError(path, "no `vaxis align` report here", "run `vaxis align` first")
    try:
        runs = json.loads(path.read_text()).get("runs")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise DataFormatError(path, f"not a readable align report ({error})", rerun) from None
    if not isinstance(runs, list) or not runs:
        raise DataFormatError(
            path, "this align report lists no runs (written by an older vaxis)", rerun
        )
    try:
        return [str(run["key"]) for run in runs]
    except (KeyError, TypeError):
        raise DataFormatError(path, "a listed run has no job key", rerun) from None


def _positions(config: SaturationConfig, params: dict[str, Any]) -> StimulusPositions:
    if config.positions == "align":
        return StimulusPositions.model_validate(params["positions"])
    from vaxis.axis.positions import resolve_positions

    record = StimulusPositions.model_validate(params["positions"])
    return resolve_positions(config.positions, params["cohort"], record.dataset)


# ---------------------------------------------------------------------------- measures
def _residual(run: AlignRun, positions: StimulusPositions) -> float:
    """The probe's within-class residual alignment of one run (NaN where undefined)."""
    loaded = load_run(run.path, run.path.parent)
    if loaded.val is None:
        return math.nan
    stimuli = np.intersect1d(loaded.val.stimuli, loaded.test.stimuli)
    val, test = loaded.val.select(stimuli), loaded.test.select(stimuli)
    y = positions.aligned(stimuli)
    if not has_within_class_variation(y, val.classes):
        return math.nan
    return residual_alignment(val.means(), test.means(), y, val.classes)


def _curve(run: AlignRun, class_positions: np.ndarray, eps: float) -> Curve | None:
    arrays = read_epochs(run.path)
    if arrays is None:
        return None
    classes = np.asarray(arrays["classes"])
    rho = basin_curve(arrays["class_means"], class_positions[classes])
    last = np.asarray(arrays["class_means"])[-1]
    rank = subspace_basis(last - last.mean(axis=0)).shape[1]
    return Curve(
        epoch=np.asarray(arrays["epoch"]),
        rho=rho,
        val_balanced_accuracy=np.asarray(arrays["val_balanced_accuracy"]),
        saturation_epoch=saturation_epoch(arrays["epoch"], rho, eps),
        chance_share_basin=chance_share(rank, last.shape[1]),
        chance_share_v=chance_share(1, last.shape[1]),
        shares={key: np.asarray(arrays[key]) for key in SHARE_KEYS},
    )


def _threshold(
    runs: list[AlignRun], rho: dict[tuple[str, int], float], config: SaturationConfig
) -> Threshold:
    base = {r.seed: r for r in runs if r.arm == BASELINE}
    arms = [r for r in runs if r.arm != BASELINE and "/" not in r.arm and r.seed in base]
    pairs = [(r.arm, r.seed, base[r.seed]) for r in arms]
    x = np.array([getattr(b, f"{config.baseline_score}_balanced_accuracy") for *_, b in pairs])
    by_key = {(r.arm, r.seed): r for r in runs}
    delta = np.array(
        [by_key[arm, s].test_balanced_accuracy - b.test_balanced_accuracy for arm, s, b in pairs]
    )
    seeds = np.array([s for _, s, _ in pairs])
    record = Threshold(
        x=f"baseline balanced accuracy on the {config.baseline_score} subjects",
        delta="intervention minus baseline test balanced accuracy (same seed)",
        protocol="OLS delta ~ x, zero crossing; bootstrap over seeds (baseline checkpoints)",
        pairs=[
            ThresholdPair(arm=arm, seed=int(s), x=float(xi), delta=float(d))
            for (arm, s, _), xi, d in zip(pairs, x, delta, strict=True)
        ],
        caution=None
        if config.baseline_score != "test"
        else (
            "x and delta share the baseline's test score: regression to the mean makes the "
            "slope negative even without any effect (see vaxis.saturation.threshold)"
        ),
    )
    options: dict[str, Any] = {
        "n_boot": config.bootstrap,
        "confidence": config.confidence,
        "seed": config.seed,
    }
    finite = np.isfinite(x)
    if finite.sum() < 3 or np.unique(seeds[finite]).size < 2 or np.ptp(x[finite]) == 0:
        return replace(record, reason="fewer than 3 pairs over 2 baselines")
    estimate = estimate_threshold(x[finite], delta[finite], seeds[finite], **options)
    base_rho = np.array([rho.get((BASELINE, s), math.nan) for s in seeds])
    ok = finite & np.isfinite(base_rho)
    r = None
    if ok.sum() >= 3 and np.ptp(base_rho[ok]) > 0:
        r = correlation(delta[ok], base_rho[ok], seeds[ok], **options)
    return replace(record, estimate=estimate, delta_vs_baseline_rho=r)


def _ablation(rows: list[RunRow]) -> AblationSummary:
    z = np.array([found.z for r in rows if (found := r.ablated()) is not None])
    z = z[np.isfinite(z)]
    return AblationSummary(
        protocol="residual direction from validation subjects, ablated from test features; "
        "z vs matched null directions (the same estimator on random positions; see "
        "vaxis.saturation.ablation)",
        n_checkpoints=int(z.size),
        mean_z=float(z.mean()) if z.size else None,
        n_z_above_1_96=int((z > 1.96).sum()),
    )


#: align arms whose saved weights wrap the decoder's layers in adapters (LoRA, IA3): the
#: decoder rebuilt for the ablation cannot load them
ADAPTER_ARMS = ("peft-lora", "peft-ia3")


def _ablate(
    run: AlignRun, positions: StimulusPositions, config: SaturationConfig
) -> AblationResult | str:
    """The run's directional ablation, or why there is none (e.g. class-constant positions, or
    no validation subjects to find the direction on: full-data scaling trains on them)."""
    if run.arm.startswith(ADAPTER_ARMS):
        return f"{run.arm} seed {run.seed}: adapter-wrapped weights, not the decoder's"
    if not predictions_path(run.path, "val").exists():
        return f"{run.arm} seed {run.seed}: no validation predictions (trained on them)"
    try:
        return ablate_run(run.path, positions, config.nulls, config.seed)
    except ValueError as error:
        return str(error)


def _by_arm(table: dict[tuple[str, int], float]) -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for (arm, seed), value in table.items():
        out.setdefault(arm, {})[seed] = value
    return out


# ----------------------------------------------------------------------------- the call
def plan(config: SaturationConfig) -> list[PlannedJob]:
    """No training jobs: every measure is read from the runs of `vaxis align`."""
    return []


def run(config: SaturationConfig, compute: Compute | None = None) -> SaturationReport:
    """Read ``config.align_out``, compute every measure, write saturation.json and plots.
    ``compute`` is not used: this stage trains nothing (one signature for every stage)."""
    from vaxis.core.runs import read_metrics

    runs, params = load_align_runs(config.align_out)
    positions = _positions(config, params)
    class_positions = target_of(positions).class_positions
    metrics = read_metrics(runs[0].path)
    rho, residual = {}, {}
    curves: dict[str, dict[int, Curve]] = {}
    rows = []
    for align_run in runs:
        key = (align_run.arm, align_run.seed)
        rho[key] = run_basin_strength(align_run.path, class_positions)
        residual[key] = _residual(align_run, positions)
        rows.append(
            RunRow(
                arm=align_run.arm,
                seed=align_run.seed,
                val_balanced_accuracy=align_run.val_balanced_accuracy,
                test_balanced_accuracy=align_run.test_balanced_accuracy,
                rho=rho[key],
                residual_alignment=residual[key],
                ablation=_ablate(align_run, positions, config) if config.ablation else None,
            )
        )
        curve = _curve(align_run, class_positions, config.eps)
        if curve is not None:
            curves.setdefault(align_run.arm, {})[align_run.seed] = curve
    values = {"rho": _by_arm(rho), "residual": _by_arm(residual)}
    movement = Movement(
        protocol="arm minus baseline, paired t over seeds (the study's test)",
        tests=basin_vs_residual(values, BASELINE, config.confidence),
    )
    report = SaturationReport(
        synthetic=bool(metrics.get("synthetic", False)),
        protocol=str(metrics.get("protocol", "")),
        positions_source=positions.source,
        config=config,
        runs=rows,
        curves=curves,
        threshold=_threshold(runs, rho, config),
        movement=movement,
        ablation=_ablation(rows) if config.ablation else None,
    )
    write_report(report, config.out)
    return report


def write_report(report: SaturationReport, out: str | Path) -> Path:
    """saturation.json and the four figures (PNG and SVG) in ``out``."""
    from vaxis.saturation.plots import write_plots

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report.files = write_plots(report, out)
    path = out / REPORT_NAME
    report.files.insert(0, path)
    path.write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    return path
