"""Read the user's own rated texts: CSV/TSV, JSON Lines, or a Hugging Face dataset folder.

One job: turn a file into three aligned columns (texts, binary labels, continuous scores)
with errors that name the file, the row and the fix. ``vaxis.axis.corpora.load_user_corpus``
wraps the result into ``RatedTexts``. The user's files are only read.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaxis.errors import DataFormatError

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
HF_MARKERS = ("dataset_dict.json", "dataset_info.json", "state.json")
_WORDS = {"positive": 1, "pos": 1, "true": 1, "negative": 0, "neg": 0, "false": 0}


@dataclass(frozen=True)
class Columns:
    texts: list[str]
    labels: np.ndarray | None
    scores: np.ndarray | None


def read_columns(
    path: str | Path,
    text_column: str = "text",
    label_column: str | None = None,
    score_column: str | None = None,
    split: str | None = None,
) -> Columns:
    """Texts plus labels (0/1) and/or scores (float) from a user file or dataset folder.

    With neither ``label_column`` nor ``score_column`` given, a column called ``label`` is
    used, else one called ``score``. Labels may be 0/1, -1/1, booleans or positive/negative.
    """
    path = Path(path)
    records = _records(path, split)
    if not records:
        raise DataFormatError(path, "has no rows", "give a file with a header and one text a row")
    names = list(records[0])
    if label_column is None and score_column is None:
        label_column = "label" if "label" in names else None
        score_column = "score" if label_column is None and "score" in names else None
        if label_column is None and score_column is None:
            raise DataFormatError(
                path,
                f"no 'label' or 'score' column (columns: {', '.join(names)})",
                "name the rating column with --label-column (binary) or --score-column",
            )
    for column in (text_column, label_column, score_column):
        if column is not None and column not in names:
            raise DataFormatError(
                path,
                f"no column '{column}' (columns: {', '.join(names)})",
                "pass the right name with --text-column / --label-column / --score-column",
            )
    texts = [_text(path, i, r.get(text_column)) for i, r in enumerate(records)]
    raw_labels = None if label_column is None else [r.get(label_column) for r in records]
    raw_scores = None if score_column is None else [r.get(score_column) for r in records]
    return Columns(
        texts=texts,
        labels=None if raw_labels is None else _labels(path, label_column or "", raw_labels),
        scores=None if raw_scores is None else _scores(path, score_column or "", raw_scores),
    )


def _records(path: Path, split: str | None) -> list[dict[str, Any]]:
    if path.is_dir():
        return _hf_records(path, split)
    if not path.is_file():
        raise DataFormatError(path, "no such file or folder")
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            with path.open(encoding="utf-8-sig", newline="") as f:
                return list(csv.DictReader(f, delimiter=CSV_SUFFIXES[suffix]))
        if suffix in JSONL_SUFFIXES:
            return _jsonl_records(path)
    except UnicodeDecodeError as error:
        raise DataFormatError(
            path,
            f"is not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start})",
            "re-save the file as UTF-8",
        ) from None
    except csv.Error as error:
        raise DataFormatError(path, f"is not valid CSV: {error}") from None
    accepted = ", ".join([*CSV_SUFFIXES, *sorted(JSONL_SUFFIXES)])
    raise DataFormatError(
        path,
        f"unknown format '{suffix}'",
        f"use one of {accepted}, or a folder written by datasets' save_to_disk",
    )


def _jsonl_records(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataFormatError(path, f"line {number} is not JSON: {error.msg}") from None
            if not isinstance(record, dict):
                raise DataFormatError(path, f"line {number} is not a JSON object")
            records.append(record)
    return records


def _hf_records(path: Path, split: str | None) -> list[dict[str, Any]]:
    if not any((path / marker).is_file() for marker in HF_MARKERS):
        raise DataFormatError(
            path,
            "is a folder but not a Hugging Face dataset saved with save_to_disk",
            "point at the save_to_disk folder, or at a CSV / JSONL file",
        )
    try:
        datasets = importlib.import_module("datasets")
    except ImportError:
        raise DataFormatError(
            path,
            "reading a saved Hugging Face dataset needs the 'datasets' package",
            "pip install datasets",
        ) from None
    loaded = datasets.load_from_disk(str(path))
    if hasattr(loaded, "keys"):  # a DatasetDict: one split must be chosen
        splits = list(loaded.keys())
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in splits:
            raise DataFormatError(
                path, f"choose a split: {', '.join(splits)}", "pass --split NAME (e.g. train)"
            )
        loaded = loaded[split]
    columns = {name: list(loaded[name]) for name in loaded.column_names}
    n = len(next(iter(columns.values()), []))
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(path: Path, row: int, value: Any) -> str:
    if _missing(value) or not isinstance(value, str):
        raise DataFormatError(path, f"row {row + 1}: the text is empty or not a string")
    return value


def _scores(path: Path, column: str, values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values))
    for row, value in enumerate(values):
        try:
            out[row] = float(value)
            finite = math.isfinite(out[row]) and not isinstance(value, bool)
        except (TypeError, ValueError):
            finite = False
        if _missing(value) or not finite:
            raise DataFormatError(
                path, f"row {row + 1}: score column '{column}' holds {value!r}, not a number"
            )
    return out


def _labels(path: Path, column: str, values: Sequence[Any]) -> np.ndarray:
    keys = []
    for row, value in enumerate(values):
        if _missing(value):
            raise DataFormatError(path, f"row {row + 1}: label column '{column}' is empty")
        keys.append(_label_key(value))
    found = set(keys)
    for classes in ({0, 1}, {-1, 1}):
        if found <= classes:
            return np.array([int(k == 1) for k in keys], dtype=np.int64)
    if found <= _WORDS.keys():
        return np.array([_WORDS[str(k)] for k in keys], dtype=np.int64)
    shown = ", ".join(sorted(map(str, found))[:8])
    raise DataFormatError(
        path,
        f"label column '{column}' is not binary (values: {shown})",
        "map the labels to 0/1 (or positive/negative), or pass a numeric rating as --score-column",
    )


def _label_key(value: Any) -> int | str:
    """0/1/-1 for numeric or boolean labels, a lower-case word otherwise."""
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number in (-1.0, 0.0, 1.0) else text
