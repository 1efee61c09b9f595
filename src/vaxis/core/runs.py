"""The run record: one writer and one reader of a training run's folder.

A run folder (written by :func:`vaxis.decoders.experiment.run_experiment`, read by the probe,
saturation, the ensemble and align) holds::

    metrics.json             the run's report: config, split, subjects, metrics per part
    val_predictions.npz      per held-out sample of each scored part: logits, probs, y_pred,
    test_predictions.npz     penultimate features, y_true and the sample's subject, stimulus,
                             segment and label (category)
    model.pt                 the selected weights (torch decoders)

Every reader goes through :func:`read_metrics` and :func:`read_predictions`, so a missing file
or array is refused in one wording that names the file, and a new field is added in one place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.data.safe_pickle import load_npz
from vaxis.errors import DataFormatError

METRICS_NAME = "metrics.json"
MODEL_NAME = "model.pt"
#: the arrays of a predictions file, in the order they are written
PREDICTION_FIELDS = (
    "logits", "probs", "y_pred", "features", "y_true", "subject", "stimulus", "segment", "label",
)  # fmt: skip
RETRAIN = "re-run `vaxis train`: it saves penultimate features and each sample's ids"


def predictions_path(run_dir: str | Path, part: str) -> Path:
    """Where the predictions of ``part`` ("val" or "test") of a run are."""
    return Path(run_dir) / f"{part}_predictions.npz"


def write_predictions(run_dir: str | Path, part: str, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write the predictions of ``part`` (every one of :data:`PREDICTION_FIELDS`)."""
    missing = [name for name in PREDICTION_FIELDS if name not in arrays]
    if missing:
        raise ValueError(f"predictions without {missing}")
    path = predictions_path(run_dir, part)
    np.savez_compressed(path, **{name: arrays[name] for name in PREDICTION_FIELDS})  # type: ignore[arg-type]
    return path


def write_metrics(run_dir: str | Path, report: Mapping[str, Any]) -> Path:
    """Write ``metrics.json`` atomically (a killed run never leaves half a report)."""
    path = Path(run_dir) / METRICS_NAME
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(report, indent=1, default=_jsonable))
    os.replace(tmp, path)
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def output_folder(path: str | Path, made_by: str) -> Path:
    """``path`` as the output folder of the command ``made_by`` (e.g. "`vaxis train`"): a
    missing path or a file is refused saying what was found and what was expected."""
    path = Path(path)
    expected = f"pass the output folder of {made_by}"
    if not path.exists():
        raise DataFormatError(path, "no such file or folder", expected)
    if not path.is_dir():
        kind = f"a {path.suffix} file" if path.suffix else "a file"
        raise DataFormatError(path, f"{kind}, not a folder", expected)
    return path


def find_runs(root: str | Path) -> list[Path]:
    """Every finished run folder (one holding ``metrics.json``) under ``root``, sorted."""
    root = output_folder(root, "`vaxis train`")
    return sorted(path.parent for path in root.rglob(METRICS_NAME))


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A finished run's ``metrics.json`` (clear error when it is not one)."""
    path = Path(run_dir) / METRICS_NAME
    try:
        metrics = json.loads(path.read_text())
        float(metrics["test"]["balanced_accuracy"])
    except FileNotFoundError:
        raise DataFormatError(path, "no metrics.json: not a finished run", RETRAIN) from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise DataFormatError(
            path, f"not a finished run's metrics ({type(error).__name__})", "re-run `vaxis train`"
        ) from None
    return dict(metrics)


def read_predictions(
    run_dir: str | Path, part: str, fields: Sequence[str] = PREDICTION_FIELDS, fix: str = RETRAIN
) -> dict[str, np.ndarray]:
    """The arrays ``fields`` of the predictions of ``part``; refuses a missing file or array,
    and non-finite features, naming the file."""
    path = predictions_path(run_dir, part)
    if not path.exists():
        raise DataFormatError(path, f"no {part} predictions here", fix)
    arrays = load_npz(path)
    missing = [name for name in fields if name not in arrays]
    if missing:
        raise DataFormatError(path, f"no {', '.join(missing)} in the predictions", fix)
    if "features" in fields and not np.isfinite(arrays["features"]).all():
        raise DataFormatError(path, "non-finite penultimate features", "re-train this run")
    return {name: np.asarray(arrays[name]) for name in fields}
