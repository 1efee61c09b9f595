"""Open whatever the user points at: a cohort file or an official dataset folder.

One function decides what a path is, so every command accepts the same inputs:
``*.cohort.h5`` files, and the roots and feature or raw folders of every registered dataset
with an official layout (:class:`~vaxis.data.datasets.OfficialLayout`: FACED's
``Processed_data/`` and ``EEG_Features/``, SEED-V's ``EEG_DE_features/`` and ``EEG_raw/``).
This module names no dataset: a dataset's folders are found and read by its spec's hooks, and
its reading options (SEED-V's ``seedv_layout``, ``seedv_bandpass``) travel as ``options``.
Commands whose jobs run in other processes need a file: :func:`as_cohort_file` reads a folder
once into a cohort file (reused while the folder's files are unchanged); :func:`convert` is
``vaxis data convert``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vaxis.data.cohort import Cohort, iter_subjects, load_meta, save_stream, subject_ids
from vaxis.data.datasets import OfficialLayout, get_dataset, official_datasets, reading_options
from vaxis.data.validation import NanPolicy, apply_nan_policy
from vaxis.errors import DataFormatError


@dataclass(frozen=True)
class SourceKind:
    """What a path holds: a cohort file, or one dataset's official feature or raw folder."""

    holds: Literal["cohort-file", "features", "raw"]
    #: the dataset whose official folder it is (empty for a cohort file)
    dataset: str = ""

    @property
    def value(self) -> str:
        """``cohort-file`` or ``<dataset>-<features|raw>`` (e.g. ``faced-raw``)."""
        return self.holds if not self.dataset else f"{self.dataset}-{self.holds}"

    @property
    def layout(self) -> OfficialLayout:
        """The official layout that reads it (a cohort file has none)."""
        official = get_dataset(self.dataset).official if self.dataset else None
        if official is None:
            raise ValueError(f"{self.value} is not an official folder")
        return official

    def __str__(self) -> str:
        return self.value


COHORT_FILE = SourceKind("cohort-file")


def _folder_kinds() -> list[tuple[SourceKind, tuple[str, ...]]]:
    """(kind, folder names) of every official folder, features before raw, in registry order."""
    kinds: list[tuple[SourceKind, tuple[str, ...]]] = []
    for spec in official_datasets():
        assert spec.official is not None
        kinds.append((SourceKind("features", spec.name), spec.official.feature_folders))
        kinds.append((SourceKind("raw", spec.name), spec.official.raw_folders))
    return kinds


def _dataset_folders() -> str:
    """``FACED / SEED-V``: the datasets whose folders are read, for messages."""
    return " / ".join(spec.label for spec in official_datasets())


def available(path: str | Path) -> list[SourceKind]:
    """Every kind of data found at ``path`` (a FACED root may hold both raw and features)."""
    path = Path(path)
    if path.is_file():
        if path.suffix in {".h5", ".hdf5"}:
            return [COHORT_FILE]
        raise DataFormatError(
            path,
            f"a {path.suffix or 'suffix-less'} file, not a cohort file: expected *.cohort.h5 or "
            "a dataset folder",
            "pass a *.cohort.h5 file (vaxis data convert writes one), or a "
            f"{_dataset_folders()} folder",
        )
    if not path.is_dir():
        raise DataFormatError(
            path,
            "no such file or folder",
            f"pass a *.cohort.h5 file, or a {_dataset_folders()} folder as downloaded",
        )
    found = [
        kind
        for kind, names in _folder_kinds()
        if path.name.upper() in {n.upper() for n in names} or (path / names[0]).is_dir()
    ]
    if not found:
        roots = " nor ".join(
            f"a {spec.label} root ({spec.official.feature_folders[0]}/, "
            f"{spec.official.raw_folders[0]}/)"
            for spec in official_datasets()
            if spec.official is not None
        )
        raise DataFormatError(
            path,
            f"folder is neither {roots}",
            "point vaxis at the dataset's top folder as downloaded, or at a *.cohort.h5 file",
        )
    return found


def detect(path: str | Path) -> SourceKind:
    """The primary kind at ``path``: features win over raw when a folder holds both."""
    return available(path)[0]


def dataset_at(path: str | Path) -> str:
    """The dataset of the data at ``path`` (a cohort's metadata, or the registered dataset
    whose official folder it is), without reading the EEG."""
    kind = detect(path)
    return load_meta(path).dataset if kind == COHORT_FILE else kind.dataset


def is_raw(path: str | Path) -> bool:
    """True when ``path`` holds raw EEG and no features."""
    kind = detect(path)
    if kind == COHORT_FILE:
        return load_meta(path).kind == "raw"
    return kind.holds == "raw"


def open_features(
    path: str | Path,
    feature: str = "de",
    nan_policy: NanPolicy = "raise",
    options: Mapping[str, Any] | None = None,
) -> Cohort:
    """Load a feature cohort from a cohort file or an official features folder.

    ``feature`` picks DE or PSD under a FACED root; a FACED ``PSD/`` folder itself is read as PSD.
    ``options``: the datasets' reading options by name (:func:`vaxis.data.datasets.
    reading_options`; SEED-V's ``seedv_layout``: :mod:`vaxis.data.seedv_layout`).
    """
    resolved = reading_options(options)
    kind = detect(path)
    if kind == COHORT_FILE:
        cohort = Cohort.load(path)
        if cohort.meta.kind != "features":
            raise DataFormatError(
                path,
                "this cohort holds raw EEG",
                f"compute features: vaxis data features {path} OUT",
            )
        return apply_nan_policy(cohort, nan_policy, path)
    if kind.holds == "features":
        return kind.layout.load_features(Path(path), feature, nan_policy, resolved)
    raise DataFormatError(
        path,
        "this folder holds raw EEG only",
        f"compute features first: vaxis data features {path} OUT.cohort.h5",
    )


def _raw_kind(path: Path) -> SourceKind:
    """The raw kind at ``path`` (a raw cohort file, or an official raw folder)."""
    kinds = available(path)
    if COHORT_FILE in kinds:
        if load_meta(path).kind != "raw":
            raise DataFormatError(path, "this cohort holds features, not raw EEG")
        return COHORT_FILE
    raw = next((kind for kind in kinds if kind.holds == "raw"), None)
    if raw is None:
        raise DataFormatError(path, "this folder holds features, not raw EEG")
    return raw


def raw_subject_ids(path: str | Path) -> list[int]:
    """Subjects with raw EEG at ``path``, from file names or the cohort's subject column."""
    path = Path(path)
    kind = _raw_kind(path)
    return subject_ids(path) if kind == COHORT_FILE else kind.layout.raw_subject_ids(path)


def iter_raw(
    path: str | Path,
    nan_policy: NanPolicy = "raise",
    subjects: Iterable[int] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Iterator[Cohort]:
    """Stream raw EEG one subject at a time from a cohort file or an official raw folder.

    ``options``: the datasets' reading options by name (SEED-V's ``seedv_bandpass``: the
    band-pass, Hz or None, of its raw ``.cnt`` recordings).
    """
    resolved = reading_options(options)
    kind = _raw_kind(Path(path))
    if kind == COHORT_FILE:
        for part in iter_subjects(path, subjects):
            yield apply_nan_policy(part, nan_policy, path)
    else:
        yield from kind.layout.iter_raw(Path(path), subjects, nan_policy, resolved)


def open_any(
    path: str | Path,
    nan_policy: NanPolicy = "raise",
    options: Mapping[str, Any] | None = None,
) -> Cohort:
    """A whole cohort in memory (raw sources are concatenated: fine for small selections).

    ``options``: the datasets' reading options by name, as for :func:`open_features` and
    :func:`iter_raw`."""
    if not is_raw(path):
        return open_features(path, nan_policy=nan_policy, options=options)
    kind = _raw_kind(Path(path))
    if kind != COHORT_FILE and kind.layout.load_raw is not None:
        return kind.layout.load_raw(Path(path), nan_policy, reading_options(options))
    return Cohort.concatenate(list(iter_raw(path, nan_policy=nan_policy, options=options)))


def files_fingerprint(path: Path) -> str:
    """Name, size and modification time of every file under ``path`` (or of ``path``): cheap,
    and it changes when a file is replaced, added or removed."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    listing = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    text = json.dumps(listing, sort_keys=True, default=str)  # as study stage keys were made
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_cohort_file(
    path: str | Path, folder: str | Path, nan_policy: NanPolicy = "raise", raw: bool = False
) -> tuple[Path, Cohort]:
    """The cohort file a command's jobs should read, and its cohort, checked once here before
    any job starts. A cohort file is read in place when its data are finite; else, under
    ``drop`` or ``interpolate``, a repaired copy is written in ``folder`` (``raise`` refuses).
    An official folder is read once into ``folder/<dataset>-<fingerprint>.cohort.h5`` and
    reused while its files are unchanged. Raw EEG is refused with the command to run, unless
    ``raw`` (commands whose decoders read raw EEG)."""
    path, folder = Path(path), Path(folder)
    kind = detect(path)
    if kind == COHORT_FILE:
        if load_meta(path).kind != "features" and not raw:
            raise DataFormatError(
                path, "this cohort holds raw EEG", f"vaxis data features {path} OUT.cohort.h5"
            )
        cohort = Cohort.load(path)
        repaired = apply_nan_policy(cohort, nan_policy, path)
        if repaired is cohort:
            return path, cohort
        stem = path.name.removesuffix(".h5").removesuffix(".cohort")
        return repaired.save(folder / f"{stem}.{nan_policy}.cohort.h5"), repaired
    is_raw_folder = kind.holds == "raw"
    if is_raw_folder and not raw:
        raise DataFormatError(
            path,
            "this folder holds raw EEG only; this command reads DE features",
            f"compute them first: vaxis data features {path} OUT.cohort.h5",
        )
    dataset = dataset_at(path)
    policy = "" if nan_policy == "raise" else f".{nan_policy}"
    stem = f"{dataset}{'-raw' if is_raw_folder else ''}-{files_fingerprint(path)}{policy}"
    target = folder / f"{stem}.cohort.h5"
    if not target.is_file():
        if is_raw_folder:
            save_stream(iter_raw(path, nan_policy=nan_policy), target)
        else:
            open_features(path, nan_policy=nan_policy).save(target)
    return target, Cohort.load(target)


def convert(
    path: str | Path, out: str | Path, nan_policy: NanPolicy = "raise", overwrite: bool = False
) -> Path:
    """Write the EEG at ``path`` (an official folder) into the cohort file ``out``: features as
    features, raw EEG streamed subject by subject (memory: one subject)."""
    path, out = Path(path), Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if out.is_dir():
        raise DataFormatError(
            out, "is a folder", "name the cohort file to write, e.g. faced.cohort.h5"
        )
    if not out.name.endswith((".h5", ".hdf5")):
        raise DataFormatError(out, "not a cohort file name", "name it *.cohort.h5")
    if detect(path) == COHORT_FILE:
        load_meta(path)  # a truncated file says so
        raise DataFormatError(path, "already a cohort file", "use it as it is")
    if is_raw(path):
        return save_stream(iter_raw(path, nan_policy=nan_policy), out)
    return open_features(path, nan_policy=nan_policy).save(out)
