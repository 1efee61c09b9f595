"""Any stimulus-labelled EEG as a raw cohort: from :class:`mne.Epochs` and an events mapping.

:func:`cohort_from_epochs` (also :meth:`vaxis.data.cohort.Cohort.from_epochs`) turns epochs
whose ``metadata`` names each epoch's stimulus, class label and subject into a raw cohort:
one row per epoch (EEG channels x samples, microvolts, float32), ``window`` 0, dataset
``"custom"`` by default. The cohort carries the DE bands and window it should be analysed
with (the FACED bands, 1 s windows, bands at or above Nyquist left out), so that
:func:`vaxis.data.features.raw_to_features` and ``vaxis data features`` need no registry entry.

:func:`read_event_mapping` reads the file that says which event (an annotation's name or a
trigger code) is which stimulus and class; :mod:`vaxis.data.bids_import` epochs recordings
with it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import FACED_BANDS
from vaxis.errors import DataFormatError, describe_validation

if TYPE_CHECKING:
    import mne
    import pandas as pd

CUSTOM_DATASET = "custom"
#: DE bands and window of an imported cohort unless the caller gives others
DEFAULT_BANDS: tuple[tuple[str, float, float], ...] = FACED_BANDS
DEFAULT_WINDOW_SECONDS = 1.0
_METADATA_FIX = (
    "set epochs.metadata to a pandas DataFrame with one row per epoch and integer columns "
    "for stimulus id, class label (0..K-1) and subject"
)


def cohort_from_epochs(
    epochs: mne.BaseEpochs,
    stimulus: str = "stimulus",
    label: str = "label",
    subject: str = "subject",
    *,
    session: str | None = None,
    valence: str | None = None,
    label_names: Sequence[str] | None = None,
    stimulus_names: Sequence[str] = (),
    dataset: str = CUSTOM_DATASET,
    bands: Sequence[tuple[str, float, float]] = DEFAULT_BANDS,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    source: str | Path | None = None,
) -> Cohort:
    """A raw cohort from ``epochs``, labelled by the named columns of ``epochs.metadata``.

    ``session`` and ``valence`` (groups -1, 0, +1) are optional columns; without ``valence``
    every sample is group 0 and the provenance says the groups are unknown. ``label_names``
    defaults to ``class0..class<K-1>``. ``source`` names the file in error messages.
    """
    metadata = epochs.metadata
    if metadata is None:
        raise DataFormatError(source, "the epochs carry no metadata", _METADATA_FIX)
    wanted = {"stimulus": stimulus, "label": label, "subject": subject}
    wanted |= {key: name for key, name in (("session", session), ("valence", valence)) if name}
    for role, name in wanted.items():
        if name not in metadata.columns:
            raise DataFormatError(
                source,
                f"epochs.metadata has no column {name!r} (the {role} column); it has "
                f"{', '.join(map(repr, metadata.columns)) or 'none'}",
                f"pass {role}=<one of those columns>, or add a {name!r} column",
            )
    columns = {role: _int_column(metadata, name, source) for role, name in wanted.items()}
    n_labels = len(label_names) if label_names is not None else int(columns["label"].max()) + 1
    names = tuple(label_names) if label_names is not None else _class_names(n_labels)
    _check_ranges(columns, wanted, n_labels, source)
    _check_one_label_per_stimulus(columns["stimulus"], columns["label"], stimulus, source)
    n = len(metadata)
    data = epochs.get_data(picks="eeg", units="uV").astype(np.float32)
    channels = tuple(epochs.copy().pick("eeg").ch_names)
    sfreq = float(epochs.info["sfreq"])
    kept = tuple((b, float(lo), float(hi)) for b, lo, hi in bands if hi < sfreq / 2)
    if not kept:
        raise DataFormatError(source, f"no DE band lies below Nyquist ({sfreq / 2:g} Hz)")
    meta = CohortMeta(
        dataset=dataset,
        kind="raw",
        channel_names=channels,
        label_names=names,
        sfreq=sfreq,
        band_names=tuple(b for b, _, _ in kept),
        band_edges=tuple((lo, hi) for _, lo, hi in kept),
        window_seconds=float(window_seconds),
        stimulus_names=tuple(stimulus_names),
        provenance={
            "importer": "vaxis.data.mne_import",
            "source": None if source is None else str(source),
            "units": "uV",
            "columns": wanted,
            "valence": "from metadata" if valence else "unknown: every sample is group 0",
        },
    )
    return Cohort(
        data=data,
        subject=columns["subject"],
        stimulus=columns["stimulus"],
        window=np.zeros(n, dtype=np.int64),
        label=columns["label"],
        valence=columns.get("valence", np.zeros(n, dtype=np.int64)),
        session=columns.get("session", np.zeros(n, dtype=np.int64)),
        meta=meta,
    )


def _class_names(n: int) -> tuple[str, ...]:
    return tuple(f"class{k}" for k in range(n))


def _int_column(metadata: pd.DataFrame, name: str, source: str | Path | None) -> np.ndarray:
    """A metadata column as integers; NaN and non-integer values are refused by row."""
    import pandas as pd

    values = pd.to_numeric(metadata[name], errors="coerce").to_numpy(dtype=float)
    missing = np.flatnonzero(np.isnan(values))
    if missing.size:
        raw = metadata[name].iloc[missing[0]]
        problem = "empty (NaN)" if pd.isna(raw) else f"not a number ({raw!r})"
        raise DataFormatError(
            source,
            f"column {name!r}: {missing.size} of {len(values)} values are missing or not "
            f"numbers (first at epoch {missing[0]}: {problem})",
            f"give every epoch an integer {name!r}, or drop those epochs (epochs[mask])",
        )
    fractional = np.flatnonzero(values != np.round(values))
    if fractional.size:
        raise DataFormatError(
            source,
            f"column {name!r} must hold integers; epoch {fractional[0]} has "
            f"{values[fractional[0]]:g}",
            f"store {name!r} as integer ids (e.g. map names to 0..K-1)",
        )
    return values.astype(np.int64)


def _check_ranges(
    columns: dict[str, np.ndarray],
    names: dict[str, str],
    n_labels: int,
    source: str | Path | None,
) -> None:
    bounds: dict[str, tuple[int, int | None]] = {
        "stimulus": (0, None), "subject": (0, None), "session": (0, None),
        "label": (0, n_labels - 1), "valence": (-1, 1),
    }  # fmt: skip
    for role, values in columns.items():
        low, high = bounds[role]
        bad = np.flatnonzero((values < low) | (values > high if high is not None else False))
        if bad.size:
            allowed = f"{low}..{high}" if high is not None else f"{low} and above"
            fix = (
                f"number the classes 0..{n_labels - 1}, or pass label_names naming every class"
                if role == "label"
                else f"use values {allowed} in {names[role]!r}"
            )
            raise DataFormatError(
                source,
                f"column {names[role]!r}: {bad.size} values outside {allowed} (first at epoch "
                f"{bad[0]}: {values[bad[0]]})",
                fix,
            )


def _check_one_label_per_stimulus(
    stimulus: np.ndarray, label: np.ndarray, column: str, source: str | Path | None
) -> None:
    for stim in np.unique(stimulus):
        found = np.unique(label[stimulus == stim])
        if found.size > 1:
            raise DataFormatError(
                source,
                f"stimulus {stim} (column {column!r}) has several class labels "
                f"({', '.join(map(str, found))}); a stimulus belongs to one class",
                "give each stimulus id one label, or give the differing epochs their own ids",
            )


# --------------------------------------------------------------------- the events mapping
class EventStimulus(BaseModel):
    """One row of an events mapping: which stimulus and class an event marks."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    event: str = Field(min_length=1)
    stimulus: int = Field(ge=0)
    label: int = Field(ge=0)
    class_name: str | None = Field(default=None, alias="class")
    valence: int | None = Field(default=None, ge=-1, le=1)
    description: str | None = None


class EventMapping(BaseModel):
    """Every mapped event, checked: one row per event, one class per stimulus and label."""

    model_config = ConfigDict(frozen=True)

    rows: tuple[EventStimulus, ...]
    path: Path

    def by_event(self) -> dict[str, EventStimulus]:
        return {row.event: row for row in self.rows}

    @property
    def label_names(self) -> tuple[str, ...]:
        names = dict.fromkeys(range(max(r.label for r in self.rows) + 1))
        for row in self.rows:
            names[row.label] = names[row.label] or row.class_name
        return tuple(name or f"class{k}" for k, name in names.items())

    @property
    def stimulus_names(self) -> tuple[str, ...]:
        names: dict[int, str] = {}
        for row in self.rows:
            names.setdefault(row.stimulus, row.description or row.event)
        return tuple(names.get(k, f"stimulus-{k}") for k in range(max(names) + 1))

    @property
    def has_valence(self) -> bool:
        return all(row.valence is not None for row in self.rows)


def read_event_mapping(path: str | Path) -> EventMapping:
    """Read a ``.csv`` (header ``event,stimulus,label[,class,valence,description]``) or a
    ``.json`` (a list of such objects, or ``{event: {stimulus, label, ...}}``) mapping."""
    path = Path(path)
    fix = "columns event, stimulus, label (integers >= 0) and optional class, valence, description"
    if not path.is_file():
        raise DataFormatError(
            path, "no such events mapping file", f"write a CSV or JSON with {fix}"
        )
    records = _read_records(path, fix)
    if not records:
        raise DataFormatError(path, "the events mapping is empty", f"add rows: {fix}")
    rows = []
    for number, record in enumerate(records, start=1):
        cleaned = {k: v for k, v in record.items() if v not in (None, "")}
        try:
            rows.append(EventStimulus.model_validate(cleaned))
        except ValidationError as error:
            problems = "; ".join(describe_validation(error, EventStimulus))
            raise DataFormatError(path, f"row {number}: {problems}", fix) from None
    _check_mapping(rows, path)
    return EventMapping(rows=tuple(rows), path=path)


def _read_records(path: Path, fix: str) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = {"event", "stimulus", "label"} - set(reader.fieldnames or ())
            if missing:
                raise DataFormatError(path, f"no column {', '.join(sorted(missing))}", fix)
            return [dict(row) for row in reader]
    if path.suffix.lower() == ".json":
        try:
            loaded = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataFormatError(path, f"not valid JSON (line {error.lineno})", fix) from None
        if isinstance(loaded, dict):
            loaded = [
                {"event": event, **fields} if isinstance(fields, dict) else fields
                for event, fields in loaded.items()
            ]
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise DataFormatError(path, "expected a list of objects or an object of objects", fix)
        return [{k: str(v) if k == "event" else v for k, v in r.items()} for r in loaded]
    raise DataFormatError(path, f"a {path.suffix or 'suffix-less'} file", "use .csv or .json")


def _check_mapping(rows: list[EventStimulus], path: Path) -> None:
    without = [number for number, row in enumerate(rows, start=1) if row.valence is None]
    if 0 < len(without) < len(rows):
        raise DataFormatError(
            path,
            f"valence is given for some events but not for row {without[0]}",
            "give every row a valence (-1, 0 or 1), or none",
        )
    seen: dict[str, int] = {}
    stimulus_label: dict[int, int] = {}
    label_class: dict[int, str] = {}
    for number, row in enumerate(rows, start=1):
        if row.event in seen:
            raise DataFormatError(
                path,
                f"event {row.event!r} is mapped twice (rows {seen[row.event]} and {number})",
                "keep one row per event",
            )
        seen[row.event] = number
        if stimulus_label.setdefault(row.stimulus, row.label) != row.label:
            raise DataFormatError(
                path,
                f"stimulus {row.stimulus} has labels {stimulus_label[row.stimulus]} and "
                f"{row.label} (row {number}); a stimulus belongs to one class",
                "give each stimulus one label",
            )
        if row.class_name and label_class.setdefault(row.label, row.class_name) != row.class_name:
            raise DataFormatError(
                path,
                f"label {row.label} is called {label_class[row.label]!r} and "
                f"{row.class_name!r} (row {number})",
                "give each label one class name",
            )
