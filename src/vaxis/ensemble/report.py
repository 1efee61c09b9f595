"""The ensemble report: arms scored per test subject, paired comparisons, published figures.

Every comparison pairs two arms' balanced accuracy over the *test subjects* (the pairing unit
with power; the same trained members on both sides, so it conditions on them). Each pair is
run through :func:`vaxis.core.effects.compare_to_baseline` (sign-flip permutation first,
Wilcoxon, paired t; BCa bootstrap interval of the mean difference) and the sign-flip p-values
are Holm-adjusted across the pairs of one family (the ensemble comparisons; the cascade
steps). Published figures are carried beside ours, labelled "published, not run here".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.core.effects import bootstrap_ci, compare_to_baseline
from vaxis.core.reported import Figure, Plot, Table, cell
from vaxis.core.stage import parts_json
from vaxis.core.stats import holm
from vaxis.data.datasets import DATASETS
from vaxis.ensemble.recipe import PUBLISHED_STATUS

REPORT_NAME = "ensemble.json"
PRIMARY = "sign_flip"
ARM_COLUMNS = ["arm", "status", "pooled BA", "mean BA over test subjects", "95% CI", "members"]
PAIR_COLUMNS = ["comparison", "n", "delta BA", "95% CI", "p (Holm)", "verdict"]
#: the plots of the report: file name in ``out`` -> title
PLOTS = {
    "cascade.png": "ensemble: the cascade, 95% CI over test subjects",
    "loo_alignment.png": "ensemble: leave-one-out contribution against residual alignment",
}


@dataclass(frozen=True)
class Arm:
    """One scored ensemble (or single member, or cascade step) on the test subjects."""

    name: str
    per_subject: np.ndarray  # balanced accuracy of each test subject
    pooled: float  # balanced accuracy over all test samples (the study's headline metric)
    members: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()
    rule: str = ""

    def interval(self, seed: int = 0) -> tuple[float, float, float]:
        """Mean per-subject balanced accuracy and its 95% percentile bootstrap interval over
        test subjects (NaN bounds with one subject)."""
        mean = float(self.per_subject.mean())
        if self.per_subject.size < 2:
            return mean, math.nan, math.nan
        low, high = bootstrap_ci(self.per_subject, n_boot=5000, seed=seed, method="percentile")
        return mean, low, high

    def summary(self) -> dict[str, object]:
        """JSON-ready: both balanced accuracies, the interval, the members and the rule."""
        mean, low, high = self.interval()
        return {
            "name": self.name,
            "pooled_balanced_accuracy": self.pooled,
            "mean_subject_balanced_accuracy": mean,
            "ci_low": None if math.isnan(low) else low,
            "ci_high": None if math.isnan(high) else high,
            "interval": "95% percentile bootstrap over test subjects",
            "members": list(self.members),
            "weights": list(self.weights),
            "rule": self.rule,
        }


def paired_family(pairs: list[tuple[Arm, Arm]], alpha: float) -> list[dict[str, object]]:
    """Each (a, b) pair: a - b over test subjects; sign-flip p Holm-adjusted across pairs."""
    rows = [
        compare_to_baseline({a.name: a.per_subject}, b.per_subject, unit="subject").rows[0]
        for a, b in pairs
    ]
    if not rows:
        return []
    adjusted = holm([row.tests[PRIMARY].p_value for row in rows])
    out = []
    for (a, b), row, p_holm in zip(pairs, rows, adjusted, strict=True):
        better = "better" if row.mean_delta > 0 else "worse"
        out.append(
            {
                "a": a.name,
                "b": b.name,
                "n_subjects": row.n,
                "mean_delta": row.mean_delta,
                "ci_low": row.ci_low,
                "ci_high": row.ci_high,
                "interval": "95% BCa bootstrap of the mean difference over test subjects",
                "p_sign_flip": row.tests[PRIMARY].p_value,
                "p_holm": float(p_holm),
                "p_wilcoxon": row.tests["wilcoxon"].p_value,
                "p_paired_t": row.tests["paired_t"].p_value,
                "verdict": better if p_holm <= alpha and row.mean_delta != 0 else "no difference",
                "protocol": row.tests[PRIMARY].protocol + ", Holm across this family",
            }
        )
    return out


def published_figures(dataset: str) -> dict[str, float]:
    """The published balanced accuracies of ``dataset`` (:attr:`Dataset.published`,
    docs/REFERENCE.md sec. 1.9; none for a dataset outside the registry)."""
    spec = DATASETS.get(dataset)
    return {} if spec is None else dict(spec.published)


def published(dataset: str) -> dict[str, object]:
    """The study's and prior work's figures for this dataset, labelled as not run here."""
    return {
        "status": PUBLISHED_STATUS,
        "metric": "balanced accuracy on the study's test subjects",
        "figures": published_figures(dataset),
    }


@dataclass
class EnsembleReport:
    """What one `vaxis ensemble` run found, and where it wrote it."""

    synthetic: bool
    dataset: str
    protocol: str
    test_subjects: tuple[int, ...]
    val_subjects: tuple[int, ...]
    arms: dict[str, Arm]
    comparisons: list[dict[str, object]]
    cascade: list[Arm]
    cascade_steps: list[dict[str, object]]
    members: list[dict[str, object]]
    diversity: dict[str, Any]
    loo_vs_alignment: dict[str, Any]
    path_b: dict[str, Any] | None
    config: dict[str, Any]
    #: what the sweep did: jobs in all, found finished, trained now
    sweep: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "synthetic": self.synthetic,
            "dataset": self.dataset,
            "protocol": self.protocol,
            "n_test_subjects": len(self.test_subjects),
            "test_subjects": list(self.test_subjects),
            "n_val_subjects": len(self.val_subjects),
            "val_subjects": list(self.val_subjects),
            "selection_data": "validation subjects only",
            "arms": {name: arm.summary() for name, arm in self.arms.items()},
            "comparisons": self.comparisons,
            "cascade": [arm.summary() for arm in self.cascade],
            "cascade_steps": self.cascade_steps,
            "members": self.members,
            "diversity": self.diversity,
            "loo_vs_alignment": self.loo_vs_alignment,
            "path_b": self.path_b,
            "published": published(self.dataset),
            "config": self.config,
            "sweep": self.sweep,
        }

    # ------------------------------------------------------------------ the stage report
    def figures(self) -> dict[str, Figure]:
        """Each arm and cascade step (mean over test subjects, bootstrap CI) and each paired
        comparison (delta over test subjects, BCa CI, Holm p)."""
        figures = self._arms(list(self.arms.values()), "ensembles", published=True)[0]
        figures |= self._pairs(self.comparisons, "paired comparisons")[0]
        figures |= self._arms(self.cascade, "cascade", published=False)[0]
        figures |= self._pairs(self.cascade_steps, "cascade steps")[0]
        if self.path_b:
            figures |= self._pairs(self.path_b["comparison"], "path B")[0]
        return figures

    def tables(self) -> list[Table]:
        """Arms (with the published figures), comparisons, then the cascade and Path B."""
        tables = [
            self._arms(list(self.arms.values()), "ensembles", published=True)[1],
            self._pairs(self.comparisons, "paired comparisons")[1],
        ]
        if self.cascade:
            tables.append(self._arms(self.cascade, "cascade", published=False)[1])
            tables.append(self._pairs(self.cascade_steps, "cascade steps")[1])
        if self.path_b:
            tables.append(self._pairs(self.path_b["comparison"], "path B")[1])
        return tables

    def plots(self) -> list[Plot]:
        """The cascade and leave-one-out plots that were written (absolute paths)."""
        written = {path.name: path.resolve() for path in self.files}
        return [
            Plot(
                title=title,
                png=str(written[name]),
                svg=str(svg) if (svg := written[name].with_suffix(".svg")).exists() else None,
            )
            for name, title in PLOTS.items()
            if name in written
        ]

    def notes(self) -> list[str]:
        loo = self.loo_vs_alignment
        return [
            f"{len(self.members)} pool members, protocol {self.protocol}; sweep: "
            f"{self.sweep}; r(loo, residual alignment) = {cell(loo.get('r'), '+.2f')} "
            "(the study: 0.74, published, not run here)"
        ]

    def to_json(self) -> dict[str, Any]:
        """The report's parts and the whole of ``ensemble.json``."""
        return {**parts_json(self), "ensemble": self.to_dict()}

    def _arms(
        self, arms: list[Arm], title: str, published: bool
    ) -> tuple[dict[str, Figure], Table]:
        """One row and one figure (mean over test subjects, bootstrap CI) per arm; with
        ``published`` the study's figures follow, labelled as not run here."""
        figures, rows = {}, []
        n = len(self.test_subjects)
        for arm in arms:
            mean, low, high = arm.interval()
            interval = _interval(low, high)
            rows.append(
                [
                    arm.name,
                    "run here",
                    f"{arm.pooled:.4f}",
                    f"{mean:.4f}",
                    "-" if interval is None else f"[{low:.4f}, {high:.4f}]",
                    str(len(arm.members)),
                ]
            )
            if interval is not None:
                figures[f"{title}: {arm.name}"] = Figure(
                    value=mean,
                    protocol=f"balanced accuracy per test subject ({self.protocol}), mean; 95% "
                    f"percentile bootstrap over test subjects; {arm.rule or 'single member'}",
                    n=n,
                    ci=interval,
                    ci_level=0.95,
                    synthetic=self.synthetic,
                )
        if published:
            for name, value in published_figures(self.dataset).items():
                rows.append([name, PUBLISHED_STATUS, f"{value:.4f}", "-", "-", "-"])
        note = f"{n} test subjects; members chosen on {len(self.val_subjects)} validation subjects."
        if published:
            note += f" Published rows: the study's test subjects, {PUBLISHED_STATUS}."
        return figures, Table(title=title, columns=ARM_COLUMNS, rows=rows, note=note)

    def _pairs(self, pairs: list[dict[str, Any]], title: str) -> tuple[dict[str, Figure], Table]:
        """One row and one figure (paired delta over test subjects, BCa CI, Holm p) per pair."""
        figures, rows = {}, []
        for pair in pairs:
            name = f"{pair['a']} - {pair['b']}"
            interval = _interval(float(pair["ci_low"]), float(pair["ci_high"]))
            rows.append(
                [
                    name,
                    str(pair["n_subjects"]),
                    cell(pair["mean_delta"], "+.4f"),
                    "-" if interval is None else f"[{interval[0]:+.4f}, {interval[1]:+.4f}]",
                    f"{pair['p_holm']:.3g}",
                    str(pair["verdict"]),
                ]
            )
            figures[f"{title}: {name}"] = Figure(
                value=float(pair["mean_delta"]),
                protocol=f"{pair['interval']}; p: {pair['protocol']}",
                n=int(pair["n_subjects"]),
                ci=interval,
                ci_level=0.95 if interval else None,
                p=float(pair["p_holm"]),
                synthetic=self.synthetic,
            )
        return figures, Table(title=title, columns=PAIR_COLUMNS, rows=rows)


def _interval(low: float, high: float) -> tuple[float, float] | None:
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None
