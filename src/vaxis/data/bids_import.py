"""``vaxis data import``: MNE-readable recordings or a BIDS root -> one cohort file.

Recordings are found as follows. A folder holding ``dataset_description.json`` is a BIDS root:
every EEG recording (BrainVision, EDF, BDF, EEGLAB, FIF) is read with ``mne_bids``, its
subject from the ``sub-<label>`` entity and its events from ``events.tsv``. Any other folder
or file: every ``*.fif``, ``*.edf``, ``*.bdf``, ``*.set``, ``*.vhdr`` under it is read with
:func:`mne.io.read_raw` (``*-epo.fif`` with :func:`mne.read_epochs`), its subject from
``sub-<label>`` in the file name or the first number in it. Subject labels that are all
numbers become those ids; otherwise subjects are numbered in sorted order (the provenance
keeps the labels). A subject's recordings are its sessions, in sorted order.

Each recording is cut into epochs ``tmin <= t < tmax`` (seconds from each mapped event;
annotations, or the stim channel's trigger codes when there are none), labelled through the
events mapping (:func:`vaxis.data.mne_import.read_event_mapping`) and turned into a cohort by
:func:`vaxis.data.mne_import.cohort_from_epochs`; all recordings must share one sampling rate
and the channels of the first. ``features="de"`` writes DE features instead of raw epochs,
through the same :func:`vaxis.data.features.raw_to_features` as ``vaxis data features``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mne
import numpy as np

from vaxis.data.cohort import Cohort, save_stream
from vaxis.data.features import raw_to_features
from vaxis.data.mne_import import EventMapping, cohort_from_epochs, read_event_mapping
from vaxis.errors import DataFormatError, VaxisError

RAW_SUFFIXES: tuple[str, ...] = (".fif", ".edf", ".bdf", ".set", ".vhdr")
_SUBJECT = re.compile(r"sub-([A-Za-z0-9]+)")
_NUMBER = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Recording:
    """One file to import and the subject label it belongs to."""

    path: Path
    subject: str
    bids: Any = None  # an mne_bids.BIDSPath for a BIDS recording


@dataclass(frozen=True)
class ImportReport:
    """What an import found: shown by the command, kept in the cohort's provenance."""

    n_epochs: int
    n_recordings: int
    subjects: dict[str, int]
    dropped: int
    ignored_events: tuple[str, ...]


def find_recordings(src: str | Path) -> list[Recording]:
    """The recordings at ``src`` (a BIDS root, a folder of files, or one file)."""
    src = Path(src)
    if src.is_dir() and (src / "dataset_description.json").is_file():
        return _bids_recordings(src)
    if src.is_file():
        files = [src]
    elif src.is_dir():
        files = sorted(p for p in src.rglob("*") if p.suffix.lower() in RAW_SUFFIXES)
    else:
        raise DataFormatError(src, "no such file or folder", "pass a BIDS root or an EEG file")
    if not files:
        raise DataFormatError(
            src,
            f"no EEG recordings here ({', '.join(RAW_SUFFIXES)}) and no dataset_description.json",
            "pass a BIDS root or a folder of MNE-readable recordings",
        )
    return [Recording(path=p, subject=_subject_from_name(p)) for p in files]


def _subject_from_name(path: Path) -> str:
    found = _SUBJECT.search(path.name) or _NUMBER.search(path.stem)
    if found is None:
        raise DataFormatError(
            path,
            "cannot tell the subject from the file name",
            "name files sub-<id>_... (e.g. sub-03_task-films_raw.fif), or use a BIDS root",
        )
    return found.group(1)


def _bids_recordings(root: Path) -> list[Recording]:
    try:
        import mne_bids
    except ImportError:
        raise VaxisError(
            f"{root} is a BIDS root; reading it needs mne-bids: pip install 'vaxis[bids]'"
        ) from None
    paths = mne_bids.find_matching_paths(
        root, datatypes="eeg", suffixes="eeg", extensions=list(RAW_SUFFIXES)
    )
    if not paths:
        raise DataFormatError(
            root,
            "BIDS root without EEG recordings (sub-*/[ses-*/]eeg/*_eeg.<vhdr|edf|bdf|set|fif>)",
            "check the folder, or validate it with the BIDS validator",
        )
    return [
        Recording(path=Path(p.fpath), subject=str(p.subject), bids=p)
        for p in sorted(paths, key=str)
    ]


def _relative(path: Path, src: Path) -> str:
    return str(path.relative_to(src)) if path.is_relative_to(src) else path.name


def subject_ids(recordings: list[Recording]) -> dict[str, int]:
    """Subject label -> integer id: the label itself when every label is a number."""
    labels = sorted({r.subject for r in recordings})
    if all(label.isdigit() for label in labels):
        ids = {label: int(label) for label in labels}
        if len(set(ids.values())) == len(ids):
            return ids
    return {label: k for k, label in enumerate(labels)}


def import_eeg(
    src: str | Path,
    out: str | Path,
    events: str | Path,
    tmin: float,
    tmax: float,
    features: Literal["none", "de"] = "none",
    overwrite: bool = False,
) -> tuple[Cohort | None, ImportReport]:
    """Import every recording at ``src`` into the cohort file ``out``; the DE cohort is
    returned with ``features="de"`` (raw cohorts are streamed subject by subject)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if not tmax > tmin:
        raise VaxisError(f"--tmax {tmax} must be greater than --tmin {tmin}")
    try:
        import pandas  # noqa: F401  (epochs metadata are pandas tables)
    except ImportError:
        raise VaxisError("importing EEG needs pandas: pip install 'vaxis[bids]'") from None
    mapping = read_event_mapping(events)
    recordings = find_recordings(src)
    ids = subject_ids(recordings)
    tally: dict[str, Any] = {"epochs": 0, "dropped": 0, "ignored": set()}
    provenance = {
        "importer": "vaxis.data.bids_import",
        "source": str(Path(src).resolve()),
        "events": str(mapping.path.resolve()),
        "epoch_seconds": [tmin, tmax],
        "subjects": ids,
        "recordings": [_relative(r.path, Path(src)) for r in recordings],
    }
    parts = _subject_cohorts(recordings, ids, mapping, (tmin, tmax), provenance, tally)
    cohort = None
    with mne.utils.use_log_level("error"):  # MNE's progress lines are not for the user
        if features == "de":
            cohort = Cohort.concatenate([raw_to_features(part) for part in parts])
            cohort.save(out)
        else:
            save_stream(parts, out)
    report = ImportReport(
        n_epochs=tally["epochs"],
        n_recordings=len(recordings),
        subjects=ids,
        dropped=tally["dropped"],
        ignored_events=tuple(sorted(tally["ignored"])),
    )
    return cohort, report


def _subject_cohorts(
    recordings: list[Recording],
    ids: dict[str, int],
    mapping: EventMapping,
    window: tuple[float, float],
    provenance: dict[str, Any],
    tally: dict[str, Any],
) -> Iterator[Cohort]:
    """One raw cohort per subject (its recordings as sessions), checked against the first."""
    first: tuple[Path, Cohort] | None = None
    for label in sorted(ids, key=ids.__getitem__):
        own = [r for r in recordings if r.subject == label]
        parts = []
        for session, recording in enumerate(own):
            epochs = _epochs(recording, mapping, *window, tally)
            epochs.metadata = _metadata(epochs, mapping, ids[label], session)
            part = cohort_from_epochs(
                epochs,
                session="session",
                valence="valence" if mapping.has_valence else None,
                label_names=mapping.label_names,
                stimulus_names=mapping.stimulus_names,
                source=recording.path,
            )
            first = first or (recording.path, part)
            _check_same(first, recording.path, part)
            tally["epochs"] += part.n_samples
            parts.append(part)
        cohort = Cohort.concatenate(parts)
        own_provenance = {**cohort.meta.provenance, **provenance}
        yield cohort.with_data(cohort.data, provenance=own_provenance)


def _check_same(first: tuple[Path, Cohort], path: Path, part: Cohort) -> None:
    path0, meta0, meta = first[0], first[1].meta, part.meta
    if meta.sfreq != meta0.sfreq:
        raise DataFormatError(
            path,
            f"sampled at {meta.sfreq:g} Hz but {path0.name} at {meta0.sfreq:g} Hz; one cohort "
            "has one sampling rate",
            f"resample the recordings to one rate first (MNE: raw.resample({meta0.sfreq:g}))",
        )
    if meta.channel_names != meta0.channel_names:
        missing = sorted(set(meta0.channel_names) - set(meta.channel_names))
        extra = sorted(set(meta.channel_names) - set(meta0.channel_names))
        raise DataFormatError(
            path,
            f"channels differ from {path0.name}'s (missing: {missing or 'none'}; extra: "
            f"{extra or 'none'}; or in another order)",
            "give every recording the same EEG channels (MNE: raw.pick / reorder_channels)",
        )
    if part.data.shape[2] != first[1].data.shape[2]:
        raise DataFormatError(path, "epochs of another length than the first file's")


def _epochs(
    recording: Recording, mapping: EventMapping, tmin: float, tmax: float, tally: dict[str, Any]
) -> mne.BaseEpochs:
    """The recording's mapped events, epoched ``tmin <= t < tmax`` (no baseline)."""
    path = recording.path
    if path.name.endswith(("-epo.fif", "_epo.fif")):
        epochs = _read(path, lambda: mne.read_epochs(path, preload=True, verbose="error"))
        names = dict(epochs.event_id)
        keep = {name: code for name, code in names.items() if name in mapping.by_event()}
        _require_mapped(path, names, keep, mapping, tally)
        # by code, not name: MNE's name selection also matches '/'-tags ("a" picks "a/b")
        epochs = epochs[np.isin(epochs.events[:, 2], list(keep.values()))]
        if tmin < epochs.tmin - 1e-9 or tmax > epochs.tmax + 1 / epochs.info["sfreq"] + 1e-9:
            raise DataFormatError(
                path,
                f"the epochs span {epochs.tmin:g}..{epochs.tmax:g} s, not --tmin {tmin:g} "
                f"--tmax {tmax:g}",
                "choose a window inside the stored epochs",
            )
        return epochs.crop(tmin, tmax, include_tmax=False)
    raw = _read_raw(recording)
    if len(raw.annotations):
        events, names = mne.events_from_annotations(raw, verbose="error")
    else:
        events = _trigger_events(raw, path)
        names = {str(code): int(code) for code in np.unique(events[:, 2])}
    keep = {name: code for name, code in names.items() if name in mapping.by_event()}
    _require_mapped(path, names, keep, mapping, tally)
    epochs = mne.Epochs(
        raw, events, keep, tmin, tmax, baseline=None, preload=True, picks="eeg",
        reject_by_annotation=False, on_missing="ignore", verbose="error",
    )  # fmt: skip
    tally["dropped"] += sum(1 for log in epochs.drop_log if log and log != ("IGNORED",))
    if len(epochs) == 0:
        raise DataFormatError(
            path,
            f"every mapped event's window {tmin:g}..{tmax:g} s runs outside the recording",
            "choose --tmin/--tmax inside the recording",
        )
    return epochs.crop(tmin, tmax, include_tmax=False)


def _require_mapped(
    path: Path,
    names: dict[str, int],
    keep: dict[str, int],
    mapping: EventMapping,
    tally: dict[str, Any],
) -> None:
    tally["ignored"] |= set(names) - set(keep)
    if not keep:
        raise DataFormatError(
            path,
            f"none of this recording's events ({', '.join(sorted(names)) or 'none'}) is in "
            f"{mapping.path.name}",
            f"add rows for them to {mapping.path} (the event column holds annotation names or "
            "trigger codes)",
        )


def _read(path: Path, reader: Any) -> Any:
    try:
        return reader()
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise DataFormatError(
            path,
            f"MNE cannot read this file ({type(error).__name__})",
            "check that it opens with mne.io.read_raw / mne.read_epochs",
        ) from None


def _read_raw(recording: Recording) -> mne.io.BaseRaw:
    if recording.bids is not None:
        import mne_bids

        bids = recording.bids
        return _read(
            recording.path, lambda: mne_bids.read_raw_bids(bids, verbose="error").load_data()
        )
    return _read(
        recording.path, lambda: mne.io.read_raw(recording.path, preload=True, verbose="error")
    )


def _trigger_events(raw: mne.io.BaseRaw, path: Path) -> np.ndarray:
    if not any(kind == "stim" for kind in raw.get_channel_types()):
        raise DataFormatError(
            path,
            "no annotations and no stim channel: nothing marks the stimuli",
            "add annotations (or a BIDS events.tsv) naming each stimulus onset",
        )
    return mne.find_events(raw, shortest_event=1, verbose="error")


def _metadata(epochs: mne.BaseEpochs, mapping: EventMapping, subject: int, session: int) -> Any:
    """One metadata row per epoch from the mapping (the columns cohort_from_epochs reads)."""
    import pandas as pd

    code_name = {code: name for name, code in epochs.event_id.items()}
    rows = [mapping.by_event()[code_name[int(code)]] for code in epochs.events[:, 2]]
    return pd.DataFrame(
        {
            "stimulus": [row.stimulus for row in rows],
            "label": [row.label for row in rows],
            "valence": [0 if row.valence is None else row.valence for row in rows],
            "subject": subject,
            "session": session,
        }
    )
