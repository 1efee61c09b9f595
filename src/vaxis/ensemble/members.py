"""A trained member's held-out predictions, read from its run folder.

The run record (:mod:`vaxis.core.runs`) holds ``val_predictions.npz`` and
``test_predictions.npz`` (probabilities, penultimate features and each sample's subject,
stimulus, category and target); a :class:`Part` holds one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaxis.core.runs import read_predictions
from vaxis.probe.measures import StimulusTable

_FIELDS = ("probs", "features", "y_true", "subject", "stimulus", "label")


@dataclass(frozen=True, eq=False)
class Part:
    """One member's predictions on one part (validation or test) of the split."""

    probs: np.ndarray  # (n, K)
    features: np.ndarray  # (n, D)
    y: np.ndarray  # (n,) targets
    subject: np.ndarray
    stimulus: np.ndarray
    label: np.ndarray

    def table(self) -> StimulusTable:
        """Features averaged per (subject, stimulus), for residual alignment."""
        return StimulusTable.from_samples(self.features, self.subject, self.stimulus, self.label)


def load_part(run_dir: Path, part: str) -> Part:
    """Read the predictions of ``part`` ("val" or "test") of a member's run folder."""
    arrays = read_predictions(run_dir, part, _FIELDS, "re-run the member's training")
    return Part(
        probs=arrays["probs"].astype(float),
        features=arrays["features"].astype(float),
        y=arrays["y_true"],
        subject=arrays["subject"],
        stimulus=arrays["stimulus"],
        label=arrays["label"],
    )


def stack_probs(parts: list[Part]) -> np.ndarray:
    """(M, n, K) probabilities of members scored on the very same samples (checked)."""
    first = parts[0]
    for part in parts[1:]:
        same = all(
            np.array_equal(getattr(part, name), getattr(first, name))
            for name in ("y", "subject", "stimulus")
        )
        if not same:
            raise ValueError("members were scored on different samples: same split needed")
    return np.stack([part.probs for part in parts])
