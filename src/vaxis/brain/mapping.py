"""The EEG read-out of the V-axis: cohort tensor, one linear read-out, honest evaluation.

The study averaged differential entropy over subjects and time into a stimuli x channels x
bands tensor (FACED: 28 x 32 x 5), fitted one ridge regression from the 160 channel-band
features to each stimulus's V-axis position and reported the in-sample r = 0.87 (n = 28).
With 160 features and 28 points an in-sample fit correlates almost whatever the positions are,
so :func:`evaluate_readout` reports that figure *beside* held-out ones, each with the protocol
that produced it, its n and a permutation p-value (see :mod:`vaxis.brain.protocols` for the
protocols and :mod:`vaxis.brain.nulls` for the nulls).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field, PositiveFloat

from vaxis.brain import nulls, subsets
from vaxis.brain.linear import DEFAULT_ALPHAS, LinearReadout
from vaxis.brain.protocols import (
    Protocol,
    in_sample,
    leave_groups_out,
    score_predictions,
    subject_mean,
    subjects_out,
)
from vaxis.brain.settings import BrainSettings
from vaxis.core.positions import StimulusPositions
from vaxis.core.reported import NullSummary, Stat, json_ready, permutation_p
from vaxis.data.cohort import Cohort
from vaxis.errors import DataFormatError

STUDY_SUBSET: tuple[str, ...] = ("anger", "amusement", "tenderness")


class ReadoutConfig(BrainSettings):
    """How the read-out is fitted and evaluated (same config, cohort, positions: same report):
    the study's settings plus those it keeps at their defaults."""

    #: ridge penalties; one is chosen inside every training fold by leave-one-out error
    alphas: tuple[PositiveFloat, ...] = Field(default=DEFAULT_ALPHAS, min_length=1)
    #: "hierarchical" (class means across classes, deviations within) or "stimuli"; see nulls
    permutation: nulls.PermutationScheme = "hierarchical"
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    #: categories of the subset analysis (default: the study's); skipped if not all present
    subset: tuple[str, ...] = STUDY_SUBSET


# ------------------------------------------------------------------------------ tensors
def per_subject_tensor(cohort: Cohort) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(subjects, stimuli, C, B) mean over windows, NaN where a subject lacks a stimulus.

    Returns the tensor and the subject and stimulus ids (sorted) of its first two axes.
    """
    if cohort.meta.kind != "features":
        raise DataFormatError(
            None,
            "the read-out needs a feature cohort (DE), got raw EEG",
            "run `vaxis data features`",
        )
    subjects, subject_index = np.unique(cohort.subject, return_inverse=True)
    stimuli, stimulus_index = np.unique(cohort.stimulus, return_inverse=True)
    cell = subject_index * stimuli.size + stimulus_index
    n_cells = subjects.size * stimuli.size
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=n_cells)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = cohort.data.reshape(cohort.n_samples, -1).astype(np.float64)[order]
    sums = np.zeros((n_cells, flat.shape[1]))
    filled = counts > 0
    sums[filled] = np.add.reduceat(flat, starts[filled], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[~filled] = np.nan
    return means.reshape(subjects.size, stimuli.size, *cohort.data.shape[1:]), subjects, stimuli


def cohort_tensor(cohort: Cohort, subjects: np.ndarray | None = None) -> np.ndarray:
    """(stimuli, C, B): mean over windows within subject, then over subjects (equal weights)."""
    part = cohort if subjects is None else cohort.for_subjects(np.asarray(subjects))
    return subject_mean(per_subject_tensor(part)[0])


def stimulus_categories(cohort: Cohort, stimuli: np.ndarray) -> np.ndarray:
    """Category (label) of each stimulus; DataFormatError if a stimulus has two labels."""
    first = np.array([cohort.label[np.argmax(cohort.stimulus == s)] for s in stimuli])
    lookup = np.searchsorted(stimuli, cohort.stimulus)
    if (cohort.label != first[lookup]).any():
        raise DataFormatError(None, "a stimulus carries two category labels in this cohort")
    return first


# --------------------------------------------------------------------------- the report
@dataclass
class ReadoutReport:
    """Everything :func:`evaluate_readout` found; :meth:`to_dict` is ``readout.json``."""

    dataset: str
    synthetic: bool
    positions: StimulusPositions
    config: ReadoutConfig
    n_subjects: int
    stimuli: np.ndarray  # (n,) ids
    stimulus_names: tuple[str, ...]
    categories: np.ndarray  # (n,) label index
    category_names: tuple[str, ...]
    y: np.ndarray  # (n,) positions
    predictions: dict[str, np.ndarray]  # protocol -> (n,) (mean over subject folds)
    weights: np.ndarray  # (C, B) read-out weights on standardised features (full fit)
    pattern: np.ndarray  # (C, B) activation pattern cov(x, y_hat) / var(y_hat), Haufe 2014
    alpha: float | None
    stats: list[Stat] = field(default_factory=list)
    contributions: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def stat(self, name: str) -> Stat:
        return next(s for s in self.stats if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        return json_ready(
            {
                "synthetic": self.synthetic,
                "dataset": self.dataset,
                "positions": self.positions.model_dump(mode="json"),
                "config": self.config.model_dump(mode="json"),
                "n_subjects": self.n_subjects,
                "n_stimuli": int(self.stimuli.size),
                "stats": self.stats,
                "full_fit": {
                    "alpha": self.alpha,
                    "weights": self.weights,
                    "pattern": self.pattern,
                    "note": "weights on standardised features; pattern = cov(feature, "
                    "prediction) / var(prediction) across stimuli (interpretable, Haufe 2014)",
                },
                "stimuli": [
                    {
                        "id": int(s),
                        "name": self.stimulus_names[i],
                        "category": self.category_names[self.categories[i]],
                        "position": self.y[i],
                        "predicted": {k: v[i] for k, v in self.predictions.items()},
                    }
                    for i, s in enumerate(self.stimuli)
                ],
                "category_contributions_to_r": self.contributions,
                "notes": self.notes,
            }
        )


# ----------------------------------------------------------------------------- evaluate
def build_protocols(
    per_subject: np.ndarray, categories: np.ndarray, config: ReadoutConfig, notes: list[str]
) -> dict[str, Protocol]:
    """All protocols for ``per_subject`` (subjects, stimuli, features)."""
    x = subject_mean(per_subject)
    stimuli = np.arange(x.shape[0])
    protocols = {
        "in_sample": in_sample(x),
        "loso": leave_groups_out(x, stimuli, "loso", "leave-one-stimulus-out"),
    }
    if np.unique(categories).size > 1:
        protocols["loco"] = leave_groups_out(
            x, categories, "loco", "leave-one-category-out: all stimuli of a category held out"
        )
    n_subjects = per_subject.shape[0]
    if n_subjects >= 2:
        k = min(config.subject_folds, n_subjects)
        rng = np.random.default_rng([config.seed, 1])
        folds = rng.permutation(n_subjects) % k
        protocols["subjects_out"] = subjects_out(per_subject, folds, crossed=False)
        protocols["subjects_stimuli_out"] = subjects_out(per_subject, folds, crossed=True)
    else:
        notes.append("one subject: leave-subjects-out protocols skipped")
    return protocols


def evaluate_readout(
    cohort: Cohort, positions: StimulusPositions, config: ReadoutConfig | None = None
) -> ReadoutReport:
    """Fit the read-out and report every figure with its protocol, n, p and CI."""
    config = config or ReadoutConfig()
    if positions.dataset != cohort.meta.dataset:
        raise DataFormatError(
            None, f"positions are for {positions.dataset}, the cohort is {cohort.meta.dataset}"
        )
    tensor, subjects, stimuli = per_subject_tensor(cohort)
    per_subject = tensor.reshape(*tensor.shape[:2], -1)
    y = positions.aligned(stimuli)
    categories = stimulus_categories(cohort, stimuli)
    notes: list[str] = []
    protocols = build_protocols(per_subject, categories, config, notes)
    rng = np.random.default_rng(config.seed)
    fit = (config.model, config.alphas)
    observed = {key: p.predict(y, *fit) for key, p in protocols.items()}
    permuted = nulls.permuted_positions(y, categories, config.permutations, rng, config.permutation)
    null = _Null(
        permuted,
        {key: p.predict(permuted.values, *fit) for key, p in protocols.items()},
        nulls.bootstrap_loso(per_subject, y, *fit, config.bootstrap, rng),
    )
    stats = [
        _protocol_stat(key, protocol, observed[key], y, null, config)
        for key, protocol in protocols.items()
    ]
    stats += _random_direction_stats(protocols, y, categories, config, rng, stats)
    names = cohort.meta.label_names
    flat = {key: pred.mean(axis=0)[:, 0] for key, pred in observed.items()}
    stats += _subset_stats(flat, null, y, categories, names, config, notes)
    readout = LinearReadout(config.model, config.alphas).fit(subject_mean(per_subject), y)
    return ReadoutReport(
        dataset=cohort.meta.dataset,
        synthetic=cohort.meta.synthetic,
        positions=positions,
        config=config,
        n_subjects=int(subjects.size),
        stimuli=stimuli,
        stimulus_names=_names(cohort, stimuli),
        categories=categories,
        category_names=names,
        y=y,
        predictions=flat,
        weights=readout.weights_.reshape(tensor.shape[2:]),
        pattern=_pattern(subject_mean(per_subject), readout).reshape(tensor.shape[2:]),
        alpha=readout.alpha_,
        stats=stats,
        contributions={
            key: subsets.category_contributions(pred, y, categories, names)
            for key, pred in flat.items()
        },
        notes=notes,
    )


@dataclass(frozen=True, eq=False)
class _Null:
    """The permutation draws, every protocol's predictions for them, and the bootstrap rs."""

    permuted: nulls.Draws
    predictions: dict[str, np.ndarray]  # protocol -> (replicates, stimuli, draws)
    boot: np.ndarray  # (n_bootstrap,) leave-one-stimulus-out r


def _protocol_stat(
    key: str,
    protocol: Protocol,
    observed: np.ndarray,
    y: np.ndarray,
    null: _Null,
    config: ReadoutConfig,
) -> Stat:
    """r of one protocol with its permutation p (and, for LOSO, the bootstrap CI)."""
    value = float(score_predictions(observed, y)[0])
    notes = [f"{config.model}; features standardised and alpha chosen inside each training fold"]
    if protocol.n_replicates > 1:
        notes.append(f"mean r over {protocol.n_replicates} subject folds")
    if key == "in_sample":
        notes.append("optimistic: fitted and scored on the same stimuli; compare its null mean")
    elif key != "subjects_out":
        notes.append("a read-out that predicts only the training mean scores r = -1 here")
    ci: tuple[float | None, float | None, float | None] = (None, None, None)
    if key == "loso" and null.boot.size:
        ci = (*nulls.percentile_interval(null.boot, config.ci_level), config.ci_level)
        notes.append(f"CI: percentile bootstrap over subjects ({null.boot.size} resamples)")
    draws = null.permuted
    rs = score_predictions(null.predictions[key], draws.values) if draws.values.shape[1] else None
    return Stat(
        name=f"r {key}",
        value=value,
        protocol=protocol.description,
        n=protocol.n_stimuli,
        ci_low=ci[0],
        ci_high=ci[1],
        ci_level=ci[2],
        p_value=None if rs is None else permutation_p(value, rs),
        null=None if rs is None else NullSummary.of(draws.kind, rs),
        note="; ".join(notes),
    )


def _random_direction_stats(
    protocols: dict[str, Protocol],
    y: np.ndarray,
    categories: np.ndarray,
    config: ReadoutConfig,
    rng: np.random.Generator,
    observed: list[Stat],
) -> list[Stat]:
    if not config.random_directions:
        return []
    draws = nulls.random_positions(y, categories, config.random_directions, rng)
    out = []
    for key in ("in_sample", "loso"):
        null = protocols[key].score(draws.values, config.model, config.alphas)
        seen = next(s.value for s in observed if s.name == f"r {key}")
        out.append(
            Stat(
                name=f"r {key}, random-direction null",
                value=float(np.mean(null)),
                protocol=f"{protocols[key].description}; positions replaced by random directions",
                n=protocols[key].n_stimuli,
                p_value=permutation_p(seen, null),
                null=NullSummary.of(draws.kind, null),
                note=f"value = mean r over {null.size} draws ({draws.kind}); p = observed r "
                f"({seen:+.3f}) against them; no per-clip language-model states are used",
            )
        )
    return out


def _subset_stats(
    predictions: dict[str, np.ndarray],
    null: _Null,
    y: np.ndarray,
    categories: np.ndarray,
    names: tuple[str, ...],
    config: ReadoutConfig,
    notes: list[str],
) -> list[Stat]:
    """r within the configured subset of categories and within the rest."""
    if not config.subset:
        return []
    try:
        mask = subsets.subset_mask(categories, names, config.subset)
    except ValueError as err:
        notes.append(f"subset analysis skipped: {err}")
        return []
    out = []
    for key in ("in_sample", "loso"):
        for label, part in (("+".join(config.subset), mask), ("the rest", ~mask)):
            value = float(subsets.subset_r(predictions[key], y, part))
            rs = None
            if config.permutations:
                pred = null.predictions[key].mean(axis=0)
                rs = subsets.subset_r(pred, null.permuted.values, part)
            out.append(
                Stat(
                    name=f"r {key} within {label}",
                    value=value,
                    protocol=f"{key} predictions, r over a subset of stimuli",
                    n=int(part.sum()),
                    p_value=None if rs is None else permutation_p(value, rs),
                    null=None if rs is None else NullSummary.of(null.permuted.kind, rs),
                    note="subset fixed in advance (the study's); descriptive if chosen after "
                    "looking at the contributions",
                )
            )
    return out


def _pattern(x: np.ndarray, readout: LinearReadout) -> np.ndarray:
    """Activation pattern cov(standardised feature, prediction) / var(prediction)."""
    a = (x - readout.mean_) / readout.scale_
    pred = a @ readout.weights_
    centred = pred - pred.mean()
    variance = float(centred @ centred)
    return a.T @ centred / variance if variance > 0 else np.zeros(a.shape[1])


def _names(cohort: Cohort, stimuli: np.ndarray) -> tuple[str, ...]:
    known = cohort.meta.stimulus_names
    return tuple(known[s] if s < len(known) else f"stimulus-{s}" for s in stimuli)
