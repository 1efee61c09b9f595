"""A trained member's held-out predictions, read from its run folder.

:func:`vaxis.decoders.experiment.run_experiment` writes ``val_predictions.npz`` and
``test_predictions.npz`` (probabilities, penultimate features and each sample's subject,
stimulus, category and target); a :class:`Part` holds one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vaxis.data.safe_pickle import load_npz
from vaxis.errors import DataFormatError
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


def load_part(path: Path) -> Part:
    """Read one ``*_predictions.npz`` (the file's name is in every error)."""
    arrays = load_npz(path)
    missing = [name for name in _FIELDS if name not in arrays]
    if missing:
        raise DataFormatError(path, f"missing arrays {missing}", "re-run the member's training")
    return Part(
        probs=np.asarray(arrays["probs"], float),
        features=np.asarray(arrays["features"], float),
        y=np.asarray(arrays["y_true"]),
        subject=np.asarray(arrays["subject"]),
        stimulus=np.asarray(arrays["stimulus"]),
        label=np.asarray(arrays["label"]),
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
