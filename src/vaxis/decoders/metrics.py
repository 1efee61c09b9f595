"""Classification metrics of one run, headline first, plus the per-subject unit for statistics.

Balanced accuracy (mean per-class recall) is the headline, as in the study; accuracy, macro-F1,
Cohen's kappa and the confusion matrix are reported beside it. Per-subject balanced accuracy
is the pairing unit for later paired tests (with 5 seeds an exact Wilcoxon p cannot go below
0.0625; 23 test subjects can). Formulas are scikit-learn's.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
)


@dataclass(frozen=True)
class Metrics:
    """Scores of predictions against targets; ``confusion[i][j]`` counts true i predicted j."""

    balanced_accuracy: float
    accuracy: float
    macro_f1: float
    kappa: float
    confusion: list[list[int]]
    per_subject_balanced_accuracy: dict[int, float]
    n_samples: int

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["per_subject_balanced_accuracy"] = {
            str(k): v for k, v in self.per_subject_balanced_accuracy.items()
        }
        return out


def compute_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, subject: np.ndarray, n_classes: int
) -> Metrics:
    """All metrics of one prediction set; ``subject`` gives the per-subject breakdown.

    A class absent from the targets is left out of balanced accuracy (its recall is
    undefined), and a class absent from both targets and predictions out of macro-F1
    (scikit-learn's rules); the confusion matrix always has ``n_classes`` rows.
    """
    y_true, y_pred, subject = (np.asarray(a) for a in (y_true, y_pred, subject))
    if not y_true.shape == y_pred.shape == subject.shape:
        raise ValueError("y_true, y_pred and subject must have one entry per sample")
    if y_true.size == 0:
        raise ValueError("no samples to score")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # absent classes: documented above
        per_subject = {
            int(s): float(balanced_accuracy_score(y_true[subject == s], y_pred[subject == s]))
            for s in np.unique(subject)
        }
        return Metrics(
            balanced_accuracy=float(balanced_accuracy_score(y_true, y_pred)),
            accuracy=float(accuracy_score(y_true, y_pred)),
            macro_f1=float(f1_score(y_true, y_pred, average="macro")),
            kappa=float(cohen_kappa_score(y_true, y_pred)),
            confusion=confusion_matrix(y_true, y_pred, labels=np.arange(n_classes)).tolist(),
            per_subject_balanced_accuracy=per_subject,
            n_samples=int(y_true.size),
        )
