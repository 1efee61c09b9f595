"""SEED-V on disk -> :class:`Cohort`: the official DE feature files (loader and writer).

Features: ``EEG_DE_features/<subject>_123.npz`` holds two entries, ``data`` and ``label``, each a
dict pickled with :func:`pickle.dumps` (torcheeg's ``SEEDVFeatureDataset`` reads them as
``pickle.loads(np.load(f)["data"])``; vaxis uses the restricted unpickler). Keys 0-44 are the 45
trials (0-14 session 1, 15-29 session 2, 30-44 session 3); a data value is (n_windows, 310) DE
over 4-s windows, a label value the trial's class repeated per window. The 310 columns are 62
channels x 5 bands in a layout the files do not state: ``layout="channel-major"`` (the default;
column = channel * 5 + band, torcheeg's ``reshape(62, 5)``) or ``"band-major"``; the data are
checked against it and the result is recorded (:mod:`vaxis.data.seedv_layout`).

Raw ``.cnt`` recordings: :mod:`vaxis.data.seedv_raw`.

The standard SEED-V protocol (:func:`seedv_session_protocol`) is computable from ``stimulus``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.data import safe_pickle
from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import (
    SEEDV,
    SEEDV_CHANNELS,
    SEEDV_N_SESSIONS,
    SEEDV_SESSION_LABELS,
    SEEDV_TRIALS_PER_SESSION,
    seedv_stimulus_names,
)
from vaxis.data.seedv_layout import (
    COLUMN_FORMULA,
    WIDTH,
    SeedvLayout,
    check_layout,
    check_layout_name,
    columns_to_grid,
    grid_to_columns,
    warn_if_contradicted,
)
from vaxis.data.validation import (
    NAN_FIX,
    NanPolicy,
    handle_nonfinite,
    nonfinite_report,
    select_channels,
)
from vaxis.errors import DataFormatError, NonFiniteError

FEATURE_DIR = "EEG_DE_features"
#: Written beside synthetic feature files so that loading them keeps ``synthetic=True``.
SYNTHETIC_MARKER = "vaxis_synthetic.json"
N_TRIALS = SEEDV_N_SESSIONS * SEEDV_TRIALS_PER_SESSION
_FEATURE_FILE = re.compile(r"^(\d+)_123\.npz$")
_AXES = ("window", "channel", "band")
#: Official class of each global trial id (session * 15 + trial).
TRIAL_LABELS = np.array(SEEDV_SESSION_LABELS).reshape(-1)


def seedv_session_protocol(stimulus: np.ndarray) -> np.ndarray:
    """Fold (0, 1, 2) of each sample in SEED-V's standard 3-fold protocol.

    The folds are trials 1-5, 6-10 and 11-15 of *every* session (each block holds all five
    emotions); trial-in-session is ``stimulus % 15``. Note that this protocol is within-subject
    and by trial; subject-disjoint splits are built elsewhere from ``Cohort.subject``.
    """
    return (np.asarray(stimulus) % SEEDV_TRIALS_PER_SESSION) // 5


# ------------------------------------------------------------------------------- features
def seedv_feature_meta(
    synthetic: bool = False, provenance: dict[str, Any] | None = None
) -> CohortMeta:
    """Metadata of a SEED-V DE cohort (62 channels x 5 bands, one row per 4-s window)."""
    return CohortMeta(
        dataset=SEEDV.name,
        kind="features",
        channel_names=SEEDV_CHANNELS,
        label_names=SEEDV.classes,
        sfreq=1.0 / SEEDV.window_seconds,
        band_names=SEEDV.band_names,
        band_edges=SEEDV.band_edges,
        feature="de",
        window_seconds=SEEDV.window_seconds,
        stimulus_names=seedv_stimulus_names(),
        synthetic=synthetic,
        provenance=dict(provenance or {}),
    )


def load_seedv_features(
    root: str | Path,
    subjects: Iterable[int] | None = None,
    nan_policy: NanPolicy = "raise",
    layout: SeedvLayout = "channel-major",
) -> Cohort:
    """Load the official DE features: one row per 4-s window, data (n, 62 channels, 5 bands).

    ``root`` is the dataset folder or its ``EEG_DE_features`` folder; ``subjects`` are the
    file numbers (1..16). Labels are checked against the official session table. Non-finite
    values raise (``nan_policy="raise"``), drop their windows (``"drop"``) or are interpolated
    along the trial's windows (``"interpolate"``). ``layout`` says how the 310 columns map to
    channels x bands; a :class:`~vaxis.data.seedv_layout.LayoutWarning` says when the data
    contradict it, and the check is recorded in ``meta.provenance["layout_check"]``. Files are
    only read, never modified.
    """
    if nan_policy not in ("raise", "drop", "interpolate"):
        raise ValueError(f"nan_policy must be 'raise', 'drop' or 'interpolate', not {nan_policy!r}")
    check_layout_name(layout)
    folder = resolve_folder(Path(root), FEATURE_DIR)
    found = {int(m.group(1)): folder / m.group(0) for m in matching_files(folder, _FEATURE_FILE)}
    if not found:
        raise DataFormatError(
            folder,
            "no SEED-V feature files (<subject>_123.npz) in this folder",
            f"point root at the SEED-V folder holding {FEATURE_DIR}/1_123.npz ... 16_123.npz",
        )
    wanted = wanted_subjects(found, subjects, folder, "<subject>_123.npz")
    origin = _synthetic_origin(folder)
    provenance: dict[str, Any] = {
        "source": str(folder),
        "files": [found[s].name for s in wanted],
        "layout": layout,
        "columns": COLUMN_FORMULA[layout],
        "nan_policy": nan_policy,
    }
    if origin is not None:
        provenance["synthetic_origin"] = origin
    meta = seedv_feature_meta(synthetic=origin is not None, provenance=provenance)
    parts = [_read_feature_file(found[s], s, nan_policy, meta, layout) for s in wanted]
    cohort = Cohort.concatenate(parts)
    check = check_layout(cohort.data, layout)
    warn_if_contradicted(check, folder)
    return cohort.with_data(
        cohort.data, provenance={**meta.provenance, "layout_check": check.to_dict()}
    )


def _read_feature_file(
    path: Path, subject: int, policy: NanPolicy, meta: CohortMeta, layout: SeedvLayout
) -> Cohort:
    entries = safe_pickle.load_npz(path)
    data = _trial_dict(entries, "data", path)
    labels = _trial_dict(entries, "label", path)
    blocks, trial_ids = [], []
    for trial in range(N_TRIALS):
        block = np.asarray(data[trial])
        if block.ndim != 2 or block.shape[1] != WIDTH or block.dtype.kind not in "fiu":
            raise DataFormatError(
                path,
                f"data[{trial}] has shape {block.shape} (dtype {block.dtype}), expected numeric "
                f"(n_windows, {WIDTH}) = 62 channels x 5 bands per 4-s window",
                "this is not an official SEED-V DE file; re-download EEG_DE_features",
            )
        _check_labels(np.asarray(labels[trial]), trial, block.shape[0], path)
        blocks.append(columns_to_grid(block, layout))
        trial_ids.append(np.full(block.shape[0], trial))
    stimulus = np.concatenate(trial_ids)
    features, keep = _apply_nan_policy(np.concatenate(blocks), stimulus, path, policy)
    window = np.concatenate([np.arange(len(ids)) for ids in trial_ids])
    label = TRIAL_LABELS[stimulus]
    return Cohort(
        data=features.astype(np.float32)[keep],
        subject=np.full(int(keep.sum()), subject),
        stimulus=stimulus[keep],
        window=window[keep],
        label=label[keep],
        valence=np.asarray(SEEDV.class_valence)[label][keep],
        session=stimulus[keep] // SEEDV_TRIALS_PER_SESSION,
        meta=meta,
    )


def _trial_dict(entries: dict[str, Any], name: str, path: Path) -> dict[int, Any]:
    """The 45-trial dict stored under ``name``: pickled bytes or a 0-d object array."""
    if name not in entries:
        raise DataFormatError(
            path,
            f"no '{name}' entry (entries: {', '.join(sorted(entries)) or 'none'})",
            "an official SEED-V feature file holds 'data' and 'label'; re-download it",
        )
    value = entries[name]
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "SV":
        value = value.tobytes()
    if isinstance(value, bytes):
        value = safe_pickle.loads(value, source=path)
    if not isinstance(value, dict):
        raise DataFormatError(
            path,
            f"'{name}' holds {type(value).__name__}, expected a dict of 45 trials",
            "re-download the official EEG_DE_features files",
        )
    trials = {int(str(k)): v for k, v in value.items() if str(k).isdigit()}
    extra = [str(k) for k in value if not str(k).isdigit() or int(str(k)) >= N_TRIALS]
    missing = sorted(set(range(N_TRIALS)) - set(trials))
    if missing or extra:
        raise DataFormatError(
            path,
            f"'{name}' has {len(value)} keys, expected the 45 trial keys 0..44"
            + (f"; missing trial keys: {missing}" if missing else "")
            + (f"; unexpected keys: {extra}" if extra else ""),
            "the file is incomplete or not a SEED-V feature file; re-download it",
        )
    return trials


def _check_labels(values: np.ndarray, trial: int, n_windows: int, path: Path) -> None:
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (n_windows,):
        raise DataFormatError(
            path,
            f"trial {trial}: data has {n_windows} windows but label has shape {values.shape}",
            "data and label must have one entry per window; re-download the file",
        )
    if not values.size:
        return
    if values.dtype.kind not in "fiu" or not np.array_equal(values, np.round(values)):
        raise DataFormatError(path, f"trial {trial}: labels are not integers ({values.dtype})")
    bad = (values < 0) | (values >= len(SEEDV.classes))
    if bad.any():
        raise DataFormatError(
            path,
            f"trial {trial}: {int(bad.sum())} labels outside 0..{len(SEEDV.classes) - 1} "
            f"(e.g. {values[bad][0]})",
            "SEED-V labels are 0 disgust, 1 fear, 2 sad, 3 neutral, 4 happy; re-download",
        )
    official = int(TRIAL_LABELS[trial])
    if not (values == official).all():
        found = sorted({int(v) for v in values})
        raise DataFormatError(
            path,
            f"trial {trial} (session {trial // 15 + 1}, trial {trial % 15 + 1}) is labelled "
            f"{found} but the official table says {official} ({SEEDV.classes[official]})",
            "the trials are out of order or the file is not the official SEED-V release",
        )


def _apply_nan_policy(
    data: np.ndarray, stimulus: np.ndarray, path: Path, policy: NanPolicy
) -> tuple[np.ndarray, np.ndarray]:
    finite = np.isfinite(data).reshape(len(data), -1).all(axis=1)
    if finite.all():
        return data, finite
    if policy == "raise":
        raise NonFiniteError(
            path,
            f"{nonfinite_report(data, _AXES)} (window = row in file order), in trials "
            f"{np.unique(stimulus[~finite]).tolist()}",
            NAN_FIX,
        )
    if policy == "drop":
        return data, finite
    bounds = np.flatnonzero(np.diff(stimulus)) + 1
    repaired = [
        handle_nonfinite(part, path, "interpolate", _AXES, time_axis=0)[0]
        for part in np.split(data, bounds)
    ]
    return np.concatenate(repaired), np.ones(len(data), dtype=bool)


def _synthetic_origin(folder: Path) -> Any:
    """What wrote these files, if :func:`write_seedv_features` marked them synthetic."""
    marker = folder / SYNTHETIC_MARKER
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFormatError(
            marker, f"unreadable synthetic-data marker ({error})", "regenerate the data"
        ) from error


# -------------------------------------------------------------------------------- writers
def write_seedv_features(
    cohort: Cohort,
    root: str | Path,
    overwrite: bool = False,
    layout: SeedvLayout = "channel-major",
) -> list[Path]:
    """Write a SEED-V DE cohort as official ``<root>/EEG_DE_features/<subject>_123.npz`` files.

    Each trial's windows are written in window order (window indices come back as 0..n-1);
    a trial without windows is written as a (0, 310) array; the 310 columns follow ``layout``.
    Synthetic cohorts also get a ``vaxis_synthetic.json`` marker so that loading them keeps
    them labelled synthetic.
    """
    check_layout_name(layout)
    meta = cohort.meta
    if meta.kind != "features" or meta.band_names != SEEDV.band_names:
        raise ValueError(f"need a SEED-V feature cohort with bands {SEEDV.band_names}")
    order = select_channels(meta.channel_names, SEEDV_CHANNELS, root)
    if np.any(cohort.label != TRIAL_LABELS[cohort.stimulus]) or np.any(
        cohort.session != cohort.stimulus // SEEDV_TRIALS_PER_SESSION
    ):
        raise ValueError("labels or sessions disagree with the official SEED-V trial table")
    folder = Path(root) / FEATURE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for subject in cohort.subjects:
        part = cohort.for_subjects([int(subject)])
        data, label = {}, {}
        for trial in range(N_TRIALS):
            rows = np.flatnonzero(part.stimulus == trial)
            rows = rows[np.argsort(part.window[rows], kind="stable")]
            data[trial] = grid_to_columns(part.data[rows][:, order], layout)
            label[trial] = np.full(rows.size, TRIAL_LABELS[trial], dtype=np.int64)
        path = folder / f"{int(subject)}_123.npz"
        written.append(save_seedv_npz(path, data, label, overwrite=overwrite))
    marker_path = folder / SYNTHETIC_MARKER
    if meta.synthetic:
        marker = {
            "subjects": cohort.subjects.tolist(),
            "layout": layout,
            "provenance": meta.provenance,
        }
        marker_path.write_text(json.dumps(marker, default=str))
    elif marker_path.exists():  # real data replaces synthetic: it must not load as synthetic
        marker_path.unlink()
    return written


def save_seedv_npz(
    path: str | Path, data: dict[Any, Any], label: dict[Any, Any], overwrite: bool = False
) -> Path:
    """Write one file in the official layout: ``data``/``label`` dicts as ``pickle.dumps`` bytes.

    No checks: tests use it to build malformed files. Written atomically (temporary file, then
    rename); an existing file is kept unless ``overwrite``.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as handle:
        np.savez(handle, data=pickle.dumps(data), label=pickle.dumps(label))
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------------- files
def resolve_folder(root: Path, name: str) -> Path:
    """Accept the dataset root or the data folder itself."""
    if not root.is_dir():
        problem = "not a folder" if root.exists() else "folder not found"
        raise DataFormatError(root, problem, f"pass the SEED-V folder that holds {name}/")
    return root / name if (root / name).is_dir() else root


def matching_files(folder: Path, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    return sorted(
        (m for m in map(pattern.match, os.listdir(folder)) if m),
        key=lambda m: [int(g) for g in m.groups() if g.isdigit()],
    )


def wanted_subjects(
    found: dict[int, Any], subjects: Iterable[int] | None, folder: Path, pattern: str
) -> list[int]:
    if subjects is None:
        return sorted(found)
    wanted = [int(s) for s in subjects]
    missing = [s for s in wanted if s not in found]
    if missing:
        raise DataFormatError(
            folder,
            f"no files for subject(s) {missing} (found {sorted(found)})",
            f"subjects are the numbers in the file names ({pattern}); copy the missing files",
        )
    return wanted
