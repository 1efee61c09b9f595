"""The figures and tables of a :class:`~vaxis.saturation.records.SaturationReport`: what
`vaxis saturation` prints and the study keeps (rho per epoch and the saturation epoch, the
threshold with its bootstrap CI or why there is none, the movement tests, the gradient
shares and the ablation's z per run)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vaxis.core.reported import Figure, Table, cell

if TYPE_CHECKING:
    from vaxis.saturation.records import SaturationReport

SHARES = ("share_basin_ce", "share_basin_aux", "share_v_ce", "share_v_aux")
THRESHOLD_COLUMNS = ["estimate", "value", "pairs", "CI", "verdict"]
#: baselines (seeds) a bootstrap over seeds needs for an interval worth reporting
MIN_GROUPS = 3


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _interval(pair: Sequence[float | None] | None) -> tuple[float, float] | None:
    if pair is None or any(_finite(v) is None for v in pair):
        return None
    return float(pair[0]), float(pair[1])  # type: ignore[arg-type]  # both finite


def _bootstrap_ci(pair: Sequence[float | None], groups: int) -> tuple[float, float] | None:
    """A bootstrap interval over seeds, or None where it cannot mean anything: fewer than
    :data:`MIN_GROUPS` baselines (resamples of two seeds collapse onto the estimate)."""
    interval = _interval(pair)
    if interval is None or groups < MIN_GROUPS or interval[0] == interval[1]:
        return None
    return interval


def _ci_cell(interval: tuple[float, float] | None) -> str:
    return "-" if interval is None else f"[{cell(interval[0])}, {cell(interval[1])}]"


def curve_tables(report: SaturationReport) -> tuple[Table, Table]:
    """rho per epoch and the saturation epoch per run; the last epoch's gradient shares."""
    epochs: list[int] = sorted(
        {int(e) for by_seed in report.curves.values() for c in by_seed.values() for e in c.epoch}
    )
    rho_rows, share_rows = [], []
    chance = ("-", "-")
    for arm, by_seed in report.curves.items():
        for seed, curve in sorted(by_seed.items()):
            rho = dict(zip((int(e) for e in curve.epoch), curve.rho, strict=True))
            saturated = curve.saturation_epoch
            rho_rows.append(
                [arm, str(seed), "-" if saturated is None else str(saturated)]
                + [cell(rho.get(e), ".3f") for e in epochs]
            )
            share_rows.append([arm, str(seed)] + [cell(curve.shares[k][-1], ".3f") for k in SHARES])
            chance = (f"{curve.chance_share_basin:.3f}", f"{curve.chance_share_v:.3f}")
    rho_table = Table(
        title="basin strength rho per epoch (validation subjects) and saturation epoch",
        columns=["arm", "seed", "saturation epoch", *(f"epoch {e}" for e in epochs)],
        rows=rho_rows,
        note=f"saturation epoch: the first after which rho stays within eps = "
        f"{report.config.eps} of its last value (no rows: the align runs kept no "
        "per-epoch probes).",
    )
    share_table = Table(
        title="gradient shares at the last epoch",
        columns=["arm", "seed", *SHARES],
        rows=share_rows,
        note=f"share of the squared gradient in the span of the class means (chance "
        f"{chance[0]}) and along the V direction (chance {chance[1]}); ce: classification "
        "loss, aux: the intervention's loss (none for the baseline).",
    )
    return rho_table, share_table


def threshold_part(report: SaturationReport) -> tuple[dict[str, Figure], Table]:
    """The threshold (crossing of zero gain) with its CI, or why there is none."""
    threshold, synthetic = report.threshold, report.synthetic
    estimate = threshold.estimate
    protocol = f"{threshold.protocol}; x: {threshold.x}; delta: {threshold.delta}"
    note = (
        "The study (published, not run here): the gain vanishes above baseline balanced "
        f"accuracy 0.62-0.66 on FACED-9. A CI needs {MIN_GROUPS}+ baselines (align seeds); "
        "none is shown with fewer."
    )
    if estimate is None:
        row = ["threshold", "none", "-", "-", str(threshold.reason or "")]
        return {}, Table(title="threshold", columns=THRESHOLD_COLUMNS, rows=[row], note=note)
    verdict = "transition" if estimate.transition else "no transition"
    groups = estimate.n_groups
    figures, rows = {}, []
    for name, value, ci in (
        ("crossing", estimate.crossing, estimate.crossing_ci),
        ("slope", estimate.slope, estimate.slope_ci),
    ):
        interval = _bootstrap_ci(ci, groups)
        rows.append([name, cell(_finite(value)), str(estimate.n), _ci_cell(interval), verdict])
        if interval is not None:
            figures[f"threshold {name}"] = Figure(
                value=_finite(value),
                protocol=f"{protocol}; {groups} baselines",
                n=estimate.n,
                ci=interval,
                ci_level=estimate.confidence,
                synthetic=synthetic,
                note=verdict,
            )
    r = threshold.delta_vs_baseline_rho
    interval = None if r is None else _bootstrap_ci(r.ci, groups)
    if r is not None and interval is not None:
        figures["r(delta, baseline rho)"] = Figure(
            value=_finite(r.r),
            protocol="Pearson r of the gain with the baseline's rho; bootstrap over seeds",
            n=r.n,
            ci=interval,
            ci_level=r.confidence,
            synthetic=synthetic,
        )
    return figures, Table(title="threshold", columns=THRESHOLD_COLUMNS, rows=rows, note=note)


def movement_figures(report: SaturationReport) -> dict[str, Figure]:
    """Arm minus baseline, paired t over seeds, of rho and of the residual alignment."""
    figures = {}
    for measure in ("rho", "residual"):
        for arm, test in report.movement.tests.get(measure, {}).items():
            if test is None or _finite(test.p_value) is None:
                continue
            figures[f"movement {measure} {arm}"] = Figure(
                value=_finite(test.effect),
                protocol=f"{measure}: {report.movement.protocol}",
                n=test.n,
                ci=_interval((test.ci_low, test.ci_high)),
                ci_level=0.95,
                p=float(test.p_value),
                synthetic=report.synthetic,
            )
    return figures


def ablation_part(report: SaturationReport) -> tuple[dict[str, Figure], Table]:
    """Each run's ablation z and p against matched null directions; the mean z."""
    figures, rows = {}, []
    summary = report.ablation
    for run in report.runs:
        found = run.ablated()
        if found is None:
            why = run.ablation if isinstance(run.ablation, str) else "not run"
            rows.append([run.label, "-", "-", "-", why])
            continue
        rows.append([run.label, cell(found.drop), cell(found.z, "+.2f"), f"{found.p:.3g}", ""])
        if summary is not None and _finite(found.z) is not None:
            figures[f"ablation z {run.label}"] = Figure(
                value=float(found.z),
                protocol=f"{summary.protocol}; p: share of null directions with a drop at "
                "least as large",
                n=int(found.n),
                p=float(found.p),
                synthetic=report.synthetic,
            )
    mean_z = None if summary is None else summary.mean_z
    note = (
        f"mean z {cell(_finite(mean_z), '+.2f')} over "
        f"{0 if summary is None else summary.n_checkpoints} checkpoints. The study (published, "
        "not run here): mean z 7.7 (against uniformly random directions)."
    )
    columns = ["run", "accuracy drop", "z", "p", "note"]
    return figures, Table(title="directional ablation", columns=columns, rows=rows, note=note)
