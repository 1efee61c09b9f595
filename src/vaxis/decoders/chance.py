"""Is a decoder above chance at the unit of the claim? Permutation tests over whole clips.

FACED and SEED-V assign labels per clip (trial). On a subject split every test subject saw the
training clips, so a decoder can score far above 1/K by recognising clips; on held-out clips
its predictions cluster by clip, so test subjects are not independent and 1/K is not the null
(a stimulus-specific cohort without class signal scored 0.032 against 1/9 with stimuli-out).
The tests here permute targets between the units the labels were assigned to:

- **Unit.** The clip (stimulus) when the target is the category (``faced9``, ``seedv5``): whole
  clips swap classes. When the target is coarser than the category (``binary`` valence: 4
  negative and 4 positive FACED categories) whole categories swap targets, or a decoder that
  recognises categories would pass for one that reads valence - the read-out's hierarchical
  permutation, taken at the level where the target varies.
- **Strata.** Units are permuted among those only in the fitting parts (train, validation),
  those only in the test part (held-out stimuli) and those in both (a subject split), so every
  class keeps its number of units in each: each permutation is a labelling the protocol could
  have drawn (a stimuli-out fold keeps one clip of every class).
- **Statistic.** Mean over test subjects of per-subject balanced accuracy (the study's figure);
  p = (1 + #{null >= observed}) / (1 + n), one-sided.

Two tests, chosen per run (:func:`chance_test`):

- ``"refit"``: the decoder refitted on every permutation (same recipe and seed), scored on the
  permuted test targets. Exact when units are exchangeable under the null (no class signal
  beyond unit identity), in every protocol; on a subject split it asks whether the decoder
  beats what it reaches by recognising clips alone. Used for cheap decoders.
- ``"predictions"``: the trained model's test predictions kept, the targets of the held-out
  test units permuted among themselves. Valid only when no test unit was seen in fitting: then,
  under the null, a new clip's predictions do not depend on its label, given the trained model.
  It tests whether predictions of new clips match their classes more than a relabelling of those
  clips does, conditional on the trained model (9 held-out clips in a FACED stimuli-out fold:
  9! relabellings). Refused when test units were seen in fitting (a model maps a seen clip to
  its training label by identity), leaving ``"none"`` with the reason.

The permutation stream depends on ``ChanceConfig.seed``, not the training seed, so the seeds of
one split share their permutations and the seed-mean statistic's null is the elementwise mean
of the runs' nulls (:func:`combine`). Calibration: ``tests/decoders/test_chance_calibration.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from vaxis.decoders.units import Units

TestKind = Literal["refit", "predictions", "none"]
#: strata of units: seen only in fitting, only in test (held out), in both
FITTING, HELD_OUT, SHARED = 0, 1, 2
#: refits that ``vaxis train`` and the study's zoo ask for (p >= 0.01)
DEFAULT_REFITS = 99
#: refit on relabelled (train, validation) units -> predictions for the test units
FitPredict = Callable[["Units", "Units"], np.ndarray]


class ChanceConfig(BaseModel):
    """How a run's accuracy is tested against chance (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: permutations of the held-out units' targets for the "predictions" test
    permutations: int = Field(default=999, ge=0)
    #: refits for the "refit" test (0: never refit); each one retrains the decoder
    refits: int = Field(default=0, ge=0)
    #: decoders cheap enough to refit ``refits`` times
    refit_decoders: tuple[str, ...] = ("linear", "svm")
    #: seed of the permutation stream (shared by every training seed, see the docstring)
    seed: int = 0


@dataclass(frozen=True, eq=False)
class LabelUnits:
    """The units targets are assigned to, their targets and strata (one entry per unit)."""

    kind: Literal["clip", "category"]
    ids: np.ndarray  # stimulus or category id
    targets: np.ndarray
    strata: np.ndarray

    def index(self, units: Units) -> np.ndarray:
        """Unit index (into ``ids``) of every sample."""
        return np.searchsorted(self.ids, units.stimulus if self.kind == "clip" else units.label)

    def draw(self, n: int, seed: int, strata: Sequence[int]) -> np.ndarray:
        """(n, units) targets, permuted within each of ``strata`` (others kept)."""
        rng = np.random.default_rng(seed)
        draws = np.tile(self.targets, (n, 1))
        for stratum in strata:
            members = np.flatnonzero(self.strata == stratum)
            order = rng.permuted(np.tile(members, (n, 1)), axis=1)
            draws[:, members] = self.targets[order]
        return draws


def label_units(fitting: Sequence[Units], test: Units) -> LabelUnits:
    """The label units of a split's parts: clips, or categories for a coarser target."""
    parts = [*fitting, test]
    label, y = (np.concatenate([getattr(u, k) for u in parts]) for k in ("label", "y"))
    kind: Literal["clip", "category"] = "clip"
    if np.unique(label).size > np.unique(y).size and _constant_within(y, label):
        kind = "category"
    key = label if kind == "category" else np.concatenate([u.stimulus for u in parts])
    if not _constant_within(y, key):
        raise ValueError(f"targets vary within a {kind}: a permutation of whole {kind}s needs one")
    ids, first = np.unique(key, return_index=True)
    seen = [np.isin(ids, (u.label if kind == "category" else u.stimulus)) for u in parts]
    in_fitting = np.any(seen[:-1], axis=0) if fitting else np.zeros(ids.size, bool)
    strata = np.where(in_fitting, np.where(seen[-1], SHARED, FITTING), HELD_OUT)
    return LabelUnits(kind, ids, y[first], strata)


def _constant_within(values: np.ndarray, groups: np.ndarray) -> bool:
    pairs = np.unique(np.stack([groups, values]), axis=1)
    return bool(pairs.shape[1] == np.unique(groups).size)


def subject_balanced_accuracy(
    y_pred: np.ndarray, design: LabelUnits, test: Units, targets: np.ndarray
) -> np.ndarray:
    """(R, test subjects) balanced accuracy of every test subject, for R target rows.

    ``y_pred`` is (n,) (one prediction set scored against every row of ``targets``) or (R, n)
    (row r against row r). Classes absent from a subject's targets are left out, as in
    :func:`~vaxis.decoders.metrics.compute_metrics`.
    """
    preds = np.atleast_2d(y_pred)
    k, n_units = test.n_classes, design.ids.size
    subject = np.unique(test.subject, return_inverse=True)[1]
    n_subjects = int(subject.max()) + 1
    cell = (subject * n_units + design.index(test)) * k
    flat = (np.arange(preds.shape[0])[:, None] * n_subjects * n_units * k + cell + preds).ravel()
    counts = np.bincount(flat, minlength=preds.shape[0] * n_subjects * n_units * k)
    counts = counts.reshape(preds.shape[0], n_subjects, n_units, k).astype(float)
    onehot = (targets[:, :, None] == np.arange(k)).astype(float)
    if preds.shape[0] == 1:
        correct = np.einsum("ruk,suk->rsk", onehot, counts[0])
    else:
        correct = np.einsum("ruk,rsuk->rsk", onehot, counts)
    total = np.einsum("ruk,su->rsk", onehot, counts[0].sum(axis=-1))
    present = total > 0
    recall = np.divide(correct, total, out=np.zeros_like(correct), where=present)
    return recall.sum(axis=-1) / present.sum(axis=-1)


@dataclass(frozen=True)
class ChanceTest:
    """A run's (or a seed mean's) balanced accuracy and its permutation null."""

    kind: TestKind
    unit: str
    statistic: float
    null: tuple[float, ...]
    n_subjects: int  # test subjects
    n_test_units: int
    n_units: int
    nominal: float  # 1 / K, for display only
    key: str  # identifies the permutations: only tests with one key combine
    n_runs: int = 1
    reason: str = ""

    @property
    def p(self) -> float | None:
        from vaxis.core.reported import permutation_p

        return permutation_p(self.statistic, np.asarray(self.null)) if self.null else None

    def describe(self) -> str:
        """The protocol of the test, naming its unit and n at both levels."""
        units, n = f"{self.unit}s", len(self.null)
        people = f"{self.n_subjects} test subject{'s' * (self.n_subjects != 1)}"
        level = f"{self.n_test_units} test {units} of {self.n_units}, {people}"
        if self.kind == "none":
            return f"no test of above chance ({level}): {self.reason}"
        how = (
            f"decoder refitted on each of {n} permutations of {self.unit} targets within "
            f"train/test strata (whole {units} swap classes, class counts kept)"
            if self.kind == "refit"
            else f"the trained model's predictions kept, the targets of the held-out {units} "
            f"permuted {n} times (conditional on the trained model)"
        )
        runs = f", null = mean over {self.n_runs} runs" if self.n_runs > 1 else ""
        return f"above chance at the {self.unit} level: {how}{runs}; {level}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "null": list(self.null), "p": self.p}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChanceTest:
        fields = {k: v for k, v in data.items() if k != "p"}
        return cls(**{**fields, "null": tuple(fields["null"])})


def chance_test(
    train: Units,
    val: Units,
    test: Units,
    y_pred: np.ndarray,
    config: ChanceConfig,
    refit: FitPredict | None = None,
) -> ChanceTest:
    """The test of one run: refit when ``refit`` is given and refits are asked for, else the
    predictions test where every test unit is held out, else none (with the reason)."""
    design = label_units([train, val], test)
    y_pred = np.asarray(y_pred)
    tested = np.unique(design.index(test))
    held_out = bool(np.all(design.strata[tested] == HELD_OUT))
    if refit is not None and config.refits > 0:
        kind: TestKind = "refit"
        targets = design.draw(config.refits, config.seed, (FITTING, HELD_OUT, SHARED))
        at = design.index(train), design.index(val)
        preds = np.stack(
            [refit(replace(train, y=row[at[0]]), replace(val, y=row[at[1]])) for row in targets]
        )
        null = subject_balanced_accuracy(preds, design, test, targets).mean(axis=1)
    elif held_out and config.permutations > 0:
        kind = "predictions"
        targets = design.draw(config.permutations, config.seed, (HELD_OUT,))
        null = subject_balanced_accuracy(y_pred, design, test, targets).mean(axis=1)
    else:
        kind, targets, null = "none", design.targets[None, :0], np.empty(0)
    observed = float(subject_balanced_accuracy(y_pred, design, test, design.targets[None]).mean())
    return ChanceTest(
        kind=kind,
        unit=design.kind,
        statistic=observed,
        null=tuple(float(v) for v in null),
        n_subjects=int(test.subjects.size),
        n_test_units=int(tested.size),
        n_units=int(design.ids.size),
        nominal=1.0 / test.n_classes,
        key=_key(kind, design, test, targets),
        reason="" if kind != "none" else _why_not(held_out, config),
    )


def _why_not(held_out: bool, config: ChanceConfig) -> str:
    if held_out:
        return "the predictions test is switched off (permutations = 0)"
    return (
        "the test subjects' clips were in training, so accuracy above 1/K may be clip identity, "
        "and only refitting the decoder on permuted clip labels separates the two; refit only "
        f"{', '.join(config.refit_decoders)} (refits = {config.refits}), or hold stimuli out "
        "(protocol stimuli-out or subjects-x-stimuli)"
    )


def _key(kind: str, design: LabelUnits, test: Units, targets: np.ndarray) -> str:
    digest = hashlib.sha256(f"{kind} {design.kind}".encode())
    for values in (design.ids, design.strata, test.subjects, targets):
        digest.update(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def combine(tests: Sequence[ChanceTest]) -> ChanceTest:
    """The test of the mean over runs (seeds) of one split: statistic and null averaged.

    Exact because the runs share their permutations (one ``key``); runs of other splits or
    permutations raise ``ValueError``.
    """
    if not tests:
        raise ValueError("no runs to combine")
    first = tests[0]
    if any(t.key != first.key for t in tests):
        raise ValueError("these runs do not share their permutations (other splits or seeds)")
    null = np.mean([t.null for t in tests], axis=0) if first.null else np.empty(0)
    return replace(
        first,
        statistic=float(np.mean([t.statistic for t in tests])),
        null=tuple(float(v) for v in null),
        n_runs=sum(t.n_runs for t in tests),
    )
