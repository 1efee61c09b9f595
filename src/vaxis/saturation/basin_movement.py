"""How an intervention moves the basin (class-mean) alignment vs the within-class residual.

For each measure (basin strength rho, the probe's within-class residual alignment) and each
arm, the paired difference arm minus baseline over the seeds both share, with the study's
paired t test and its t interval (:func:`vaxis.core.stats.paired_t`). The study: V-axis
supervision raises class-PC1 alignment by +0.01..+0.36 while the residual barely moves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from vaxis.core.stats import TestResult, paired_t

#: measure -> arm -> seed -> value
Values = Mapping[str, Mapping[str, Mapping[int, float]]]


def paired_movement(
    values: Mapping[str, Mapping[int, float]], baseline: str, confidence: float = 0.95
) -> dict[str, TestResult | None]:
    """Arm -> paired t of (arm - baseline) over the seeds where both are finite.

    None for an arm with fewer than two such seeds (no test possible).
    """
    base = values[baseline]
    out: dict[str, TestResult | None] = {}
    for arm, by_seed in values.items():
        if arm == baseline:
            continue
        seeds = [
            s
            for s in sorted(by_seed)
            if s in base and np.isfinite(by_seed[s]) and np.isfinite(base[s])
        ]
        if len(seeds) < 2:
            out[arm] = None
            continue
        a = np.array([by_seed[s] for s in seeds])
        b = np.array([base[s] for s in seeds])
        out[arm] = paired_t(a, b, unit="seed", confidence=confidence)
    return out


def basin_vs_residual(
    values: Values, baseline: str, confidence: float = 0.95
) -> dict[str, dict[str, TestResult | None]]:
    """Measure -> :func:`paired_movement` of that measure (e.g. ``rho``, ``residual``)."""
    return {name: paired_movement(v, baseline, confidence) for name, v in values.items()}
