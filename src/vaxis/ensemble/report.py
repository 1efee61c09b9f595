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
from vaxis.core.stats import holm
from vaxis.ensemble.recipe import PUBLISHED, PUBLISHED_STATUS

REPORT_NAME = "ensemble.json"
PRIMARY = "sign_flip"


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


def published(dataset: str) -> dict[str, object]:
    """The study's and prior work's figures for this dataset, labelled as not run here."""
    return {
        "status": PUBLISHED_STATUS,
        "metric": "balanced accuracy on the study's test subjects",
        "figures": dict(PUBLISHED.get(dataset, {})),
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
