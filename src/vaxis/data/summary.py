"""What is in a cohort: the numbers `vaxis data inspect` shows, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from vaxis.data.cohort import Cohort
from vaxis.data.validation import nonfinite_report


@dataclass(frozen=True)
class CohortSummary:
    """A cohort described in numbers (JSON-serialisable through :meth:`to_dict`)."""

    dataset: str
    kind: str
    synthetic: bool
    n_samples: int
    sample_shape: tuple[int, ...]
    n_subjects: int
    subject_ids: tuple[int, ...]
    n_stimuli: int
    n_sessions: int
    samples_per_subject: tuple[int, int]
    label_counts: dict[str, int]
    valence_counts: dict[str, int]
    channels: tuple[str, ...]
    bands: tuple[str, ...]
    nonfinite: str | None
    ratings: dict[str, float] | None
    provenance: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(cohort: Cohort) -> CohortSummary:
    """Count subjects, stimuli, labels and bad values; average ratings per rating scale."""
    meta = cohort.meta
    per_subject = np.unique(cohort.subject, return_counts=True)[1]
    label_counts = np.bincount(cohort.label, minlength=len(meta.label_names))
    group_names = {-1: "negative", 0: "neutral", 1: "positive"}
    groups, group_counts = np.unique(cohort.valence, return_counts=True)
    finite = bool(np.isfinite(cohort.data).all())
    ratings = None
    if cohort.ratings is not None and meta.rating_names:
        means = np.nanmean(cohort.ratings.reshape(-1, cohort.ratings.shape[-1]), axis=0)
        ratings = {name: float(m) for name, m in zip(meta.rating_names, means, strict=True)}
    return CohortSummary(
        dataset=meta.dataset,
        kind=meta.kind,
        synthetic=meta.synthetic,
        n_samples=cohort.n_samples,
        sample_shape=tuple(int(s) for s in cohort.data.shape[1:]),
        n_subjects=int(cohort.subjects.size),
        subject_ids=tuple(int(s) for s in cohort.subjects),
        n_stimuli=int(cohort.stimuli.size),
        n_sessions=int(np.unique(cohort.session).size),
        samples_per_subject=(int(per_subject.min()), int(per_subject.max()))
        if per_subject.size
        else (0, 0),
        label_counts={name: int(c) for name, c in zip(meta.label_names, label_counts, strict=True)},
        valence_counts={
            group_names[int(g)]: int(c) for g, c in zip(groups, group_counts, strict=True)
        },
        channels=meta.channel_names,
        bands=meta.band_names,
        nonfinite=None
        if finite
        else nonfinite_report(cohort.data, ("sample", "channel", "band_or_time")),
        ratings=ratings,
        provenance=meta.provenance,
    )


def compact_ids(ids: tuple[int, ...]) -> str:
    """``(0, 1, 2, 5, 7, 8)`` -> ``"0-2, 5, 7-8"``."""
    if not ids:
        return "none"
    runs: list[str] = []
    start = prev = ids[0]
    for value in (*ids[1:], None):
        if value is not None and value == prev + 1:
            prev = value
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ", ".join(runs)
