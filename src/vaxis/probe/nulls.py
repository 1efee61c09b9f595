"""One checkpoint's probe measures against their nulls, with bootstrap intervals.

:func:`probe_checkpoint` computes every measure of :data:`MEASURES` (:mod:`vaxis.probe.measures`)
on one checkpoint's held-out features, a percentile CI over bootstrap resamples of the *test
subjects* (the validation fit of the residual read-out stays fixed), and its nulls, reported
side by side (each answers its own question):

- ``random directions`` (the study's null; a :class:`Stat`'s p and null are this one): the
  V-axis replaced by a random direction of the language model's space. vaxis has no LLM states
  here, so, as in :mod:`vaxis.brain.nulls`, positions are drawn as Gaussians with the observed
  split of variance between and within classes (what a random direction gives if the clips'
  states vary isotropically at each level).
- ``permuted positions``: class positions permuted across classes; per-stimulus positions
  permuted hierarchically (class means across classes, deviations within classes).
- ``random feature directions`` (class-PC1 only): PC1 replaced by random unit directions of the
  decoder's feature space: is PC1 more V-aligned than an arbitrary direction of this space?
- ``shuffled labels`` (added by :mod:`vaxis.probe.report`): the same measure on
  decoders trained on shuffled labels: what architecture and input give without the labels.

Every null draw reruns the same pipeline (for the residual read-out, the validation fit too).
p = (1 + #{null >= observed}) / (1 + n); the percentile is the share of null values below the
observed one (the study puts the V-axis at the 93.5th percentile of random directions).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vaxis.brain import nulls as brain_nulls
from vaxis.brain.linear import DEFAULT_ALPHAS, Model
from vaxis.brain.protocols import pearson
from vaxis.core.reported import NullSummary, Stat, json_ready, permutation_p
from vaxis.probe.measures import (
    ResidualReadout,
    StimulusTable,
    class_means,
    class_pc1_alignment,
    has_within_class_variation,
    pc1_scores,
    stimulus_probe,
)

PRIMARY_NULL = "random directions"
_CI_NOTE = (
    "; CI: percentile bootstrap over test subjects (resampling adds noise, which lowers "
    "alignments: with few subjects the interval can sit below the value)"
)


class ProbeConfig(BaseModel):
    """How the probe is computed (same config, runs and positions: same report)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: read-out that picks the within-class residual direction on validation data
    residual_model: Model = "pls"
    #: read-out of the stimulus probe
    probe_model: Model = "ridge"
    n_null: int = Field(default=1000, ge=0)
    n_bootstrap: int = Field(default=1000, ge=0)
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    seed: int = 0


@dataclass(frozen=True)
class NullTest:
    """An observed value against one null: the null's summary, p and percentile."""

    summary: NullSummary
    p_value: float
    percentile: float

    @classmethod
    def of(cls, observed: float, kind: str, values: np.ndarray) -> NullTest:
        """``observed`` against the finite draws of a null (p and percentile NaN when no draw
        is finite, e.g. constant positions: the null is undefined, not passed)."""
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0 or not np.isfinite(observed):
            return cls(NullSummary.of(kind, values), math.nan, math.nan)
        return cls(
            NullSummary.of(kind, values),
            permutation_p(observed, values),
            float(100 * np.mean(values < observed)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(json_ready(asdict(self)))


# -------------------------------------------------------------------------------- draws
def class_position_draws(
    class_positions: np.ndarray, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """(K, n) null class positions: Gaussian ("random directions") and permuted."""
    classes = np.arange(len(class_positions))
    return {
        PRIMARY_NULL: brain_nulls.random_positions(class_positions, classes, n, rng).values,
        "permuted positions": brain_nulls.permuted_positions(
            class_positions, classes, n, rng, "stimuli"
        ).values,
    }


def stimulus_position_draws(
    positions: np.ndarray, classes: np.ndarray, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """(S, n) null stimulus positions: Gaussian ("random directions") and hierarchical."""
    return {
        PRIMARY_NULL: brain_nulls.random_positions(positions, classes, n, rng).values,
        "permuted positions": brain_nulls.permuted_positions(
            positions, classes, n, rng, "hierarchical"
        ).values,
    }


def pc1_alignment_nulls(
    means: np.ndarray,
    classes: np.ndarray,
    class_positions: np.ndarray,
    n: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Null values (n,) of class-PC1 alignment for each of its nulls."""
    ids, centroids = class_means(means, classes)
    target = np.asarray(class_positions, dtype=float)[ids]
    scores = pc1_scores(centroids)[:, None]
    out = {
        kind: np.abs(pearson(scores, draws, axis=0))
        for kind, draws in class_position_draws(target, n, rng).items()
    }
    centred = centroids - centroids.mean(axis=0)
    directions = rng.standard_normal((centred.shape[1], n))
    out["random feature directions"] = np.abs(pearson(centred @ directions, target[:, None]))
    return out


def bootstrap_weights(n_subjects: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, N) counts of each subject in n resamples with replacement."""
    return rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=n)


# ----------------------------------------------------------------------------- measures
@dataclass(frozen=True, eq=False)
class Inputs:
    """What every measure of one checkpoint needs."""

    test: StimulusTable
    val: StimulusTable | None
    y: np.ndarray  # (S,) V-axis positions of the test stimuli
    class_positions: np.ndarray  # indexed by class id
    class_source: str
    weights: np.ndarray  # (B, N) bootstrap counts of the test subjects


@dataclass(frozen=True, eq=False)
class Measured:
    """A measure on one checkpoint: value, bootstrap values, null values, n and protocol."""

    value: float
    boot: np.ndarray
    nulls: dict[str, np.ndarray]
    n: int
    protocol: str


Measure = Callable[[Inputs, ProbeConfig, np.random.Generator], Measured | str]


def _class_pc1(inputs: Inputs, config: ProbeConfig, rng: np.random.Generator) -> Measured | str:
    test, k = inputs.test, np.unique(inputs.test.classes).size
    if k < 3:
        return f"{k} classes in the test predictions: PC1 of fewer than 3 means is trivial"
    means, positions = test.means(), inputs.class_positions
    boot = class_pc1_alignment(test.means(inputs.weights), test.classes, positions)
    protocol = (
        f"{test.subjects.size} held-out test subjects; |r| over {k} classes between the class "
        f"means' PC1 scores (penultimate features) and the V-axis class positions "
        f"({inputs.class_source})"
    )
    return Measured(
        float(class_pc1_alignment(means, test.classes, positions)),
        np.atleast_1d(boot),
        pc1_alignment_nulls(means, test.classes, positions, config.n_null, rng),
        k,
        protocol,
    )


def _residual(crossed: bool) -> Measure:
    def measure(inputs: Inputs, config: ProbeConfig, rng: np.random.Generator) -> Measured | str:
        if inputs.val is None:
            return "no validation predictions: the residual direction is chosen on them only"
        shared = np.intersect1d(inputs.test.stimuli, inputs.val.stimuli)
        test, val = inputs.test.select(shared), inputs.val.select(shared)
        y = inputs.y[np.searchsorted(inputs.test.stimuli, shared)]
        if not has_within_class_variation(y, test.classes):
            return "positions are constant within classes (class fallback): no residual"
        draws = stimulus_position_draws(y, test.classes, config.n_null, rng)
        targets = np.column_stack([y, *draws.values()])
        readout = ResidualReadout(config.residual_model, crossed)
        scores = readout.fit(val.means(), targets, test.classes).score(test.means(), targets)
        readout = ResidualReadout(config.residual_model, crossed).fit(val.means(), y, test.classes)
        n = int(np.unique(readout.predicted_).size)
        protocol = (
            f"within-class residuals of {n} stimuli ({n - np.unique(test.classes).size} df); "
            f"{config.residual_model} direction fitted on {val.subjects.size} validation "
            f"subjects{' without the predicted stimulus' if crossed else ''}; signed r on "
            f"{test.subjects.size} held-out test subjects"
            + (
                " and stimuli"
                if crossed
                else " (same stimuli: identity shared across subjects biases r upward)"
            )
        )
        return Measured(
            float(scores[0]),
            readout.score(test.means(inputs.weights), y)[..., 0],
            dict(zip(draws, np.split(scores[1:], len(draws)), strict=True)),
            n,
            protocol,
        )

    return measure


def _stimulus_probe(
    inputs: Inputs, config: ProbeConfig, rng: np.random.Generator
) -> Measured | str:
    test = inputs.test
    draws = stimulus_position_draws(inputs.y, test.classes, config.n_null, rng)
    targets = np.column_stack([inputs.y, *draws.values()])
    r, _ = stimulus_probe(test.means(), targets, model=config.probe_model)
    boot = brain_nulls.bootstrap_loso(
        test.per_subject, inputs.y, config.probe_model, DEFAULT_ALPHAS, len(inputs.weights), rng
    )
    protocol = (
        f"leave-one-stimulus-out {config.probe_model} from {test.stimuli.size} stimulus means "
        f"of {test.subjects.size} held-out test subjects to V-axis positions; r over stimuli"
    )
    nulls = dict(zip(draws, np.split(r[1:], len(draws)), strict=True))
    return Measured(float(r[0]), boot, nulls, int(test.stimuli.size), protocol)


#: key -> (label, measure); one entry per measure of :mod:`vaxis.probe.measures`.
MEASURES: dict[str, tuple[str, Measure]] = {
    "class_pc1": ("class-PC1 alignment", _class_pc1),
    "residual": ("within-class residual alignment", _residual(crossed=False)),
    "residual_crossed": ("within-class residual alignment, held-out stimuli", _residual(True)),
    "stimulus_probe": ("stimulus probe r", _stimulus_probe),
}


# ---------------------------------------------------------------------------- checkpoint
@dataclass
class CheckpointProbe:
    """Every measure of one checkpoint (a skipped measure: the reason in ``skipped``)."""

    name: str
    balanced_accuracy: float
    stats: dict[str, Stat] = field(default_factory=dict)
    nulls: dict[str, list[NullTest]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "balanced_accuracy": self.balanced_accuracy,
            "measures": {
                key: {"stat": s.to_dict(), "nulls": [t.to_dict() for t in self.nulls[key]]}
                for key, s in self.stats.items()
            },
            "skipped": self.skipped,
        }


def probe_checkpoint(
    name: str,
    balanced_accuracy: float,
    test: StimulusTable,
    val: StimulusTable | None,
    y: np.ndarray,
    class_positions: np.ndarray,
    class_source: str,
    config: ProbeConfig,
    rng: np.random.Generator,
) -> CheckpointProbe:
    """Every measure of one checkpoint with its bootstrap CI and nulls; ``y`` holds the V-axis
    positions of ``test.stimuli``."""
    weights = bootstrap_weights(test.subjects.size, config.n_bootstrap, rng)
    inputs = Inputs(test, val, np.asarray(y, float), class_positions, class_source, weights)
    result = CheckpointProbe(name, balanced_accuracy)
    for key, (label, measure) in MEASURES.items():
        measured = measure(inputs, config, rng)
        if isinstance(measured, str):
            result.skipped[key] = measured
            continue
        tests = [
            NullTest.of(measured.value, kind, values)
            for kind, values in measured.nulls.items()
            if np.size(values)
        ]
        primary = next((t for t in tests if t.summary.kind == PRIMARY_NULL), None)
        low, high = brain_nulls.percentile_interval(measured.boot, config.ci_level)
        has_ci = test.subjects.size > 1 and np.isfinite(low)
        result.stats[key] = Stat(
            name=label,
            value=measured.value,
            protocol=measured.protocol + (_CI_NOTE if has_ci else ""),
            n=measured.n,
            ci_low=low if has_ci else None,
            ci_high=high if has_ci else None,
            ci_level=config.ci_level if has_ci else None,
            p_value=None if primary is None else primary.p_value,
            null=None if primary is None else primary.summary,
        )
        result.nulls[key] = tests
    return result
