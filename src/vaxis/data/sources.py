"""Open whatever the user points at: a cohort file or an official dataset folder.

One function decides what a path is, so every command accepts the same inputs:
``*.cohort.h5`` files, FACED roots (``Processed_data/`` and/or ``EEG_Features/``) and SEED-V
roots (``EEG_DE_features/``, ``EEG_raw/``), or the official feature or raw folder inside them.
Commands whose jobs run in other processes need a file: :func:`as_cohort_file` reads a folder
once into a cohort file (reused while the folder's files are unchanged); :func:`convert` is
``vaxis data convert``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path

from vaxis.data.cohort import Cohort, iter_subjects, load_meta, save_stream, subject_ids
from vaxis.data.datasets import SEEDV_BANDPASS_HZ, source_dataset
from vaxis.data.seedv_layout import SeedvLayout
from vaxis.data.validation import NanPolicy, apply_nan_policy
from vaxis.errors import DataFormatError


class SourceKind(StrEnum):
    cohort_file = "cohort-file"
    faced_features = "faced-features"
    faced_raw = "faced-raw"
    seedv_features = "seedv-features"
    seedv_raw = "seedv-raw"


_FOLDERS: tuple[tuple[SourceKind, tuple[str, ...]], ...] = (
    (SourceKind.faced_features, ("EEG_Features", "DE", "PSD")),
    (SourceKind.faced_raw, ("Processed_data",)),
    (SourceKind.seedv_features, ("EEG_DE_features",)),
    (SourceKind.seedv_raw, ("EEG_raw",)),
)


def available(path: str | Path) -> list[SourceKind]:
    """Every kind of data found at ``path`` (a FACED root may hold both raw and features)."""
    path = Path(path)
    if path.is_file():
        if path.suffix in {".h5", ".hdf5"}:
            return [SourceKind.cohort_file]
        raise DataFormatError(
            path,
            f"a {path.suffix or 'suffix-less'} file, not a cohort file: expected *.cohort.h5 or "
            "a dataset folder",
            "pass a *.cohort.h5 file (vaxis data convert writes one), or a FACED / SEED-V folder",
        )
    if not path.is_dir():
        raise DataFormatError(
            path,
            "no such file or folder",
            "pass a *.cohort.h5 file, or a FACED / SEED-V folder as downloaded",
        )
    found = [
        kind
        for kind, names in _FOLDERS
        if path.name.upper() in {n.upper() for n in names} or (path / names[0]).is_dir()
    ]
    if not found:
        raise DataFormatError(
            path,
            "folder is neither a FACED root (Processed_data/, EEG_Features/) nor a SEED-V root "
            "(EEG_DE_features/, EEG_raw/)",
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
    if kind is SourceKind.cohort_file:
        return load_meta(path).dataset
    return source_dataset(kind.value).name


def is_raw(path: str | Path) -> bool:
    """True when ``path`` holds raw EEG and no features."""
    kind = detect(path)
    if kind is SourceKind.cohort_file:
        return load_meta(path).kind == "raw"
    return kind in {SourceKind.faced_raw, SourceKind.seedv_raw}


def open_features(
    path: str | Path,
    feature: str = "de",
    nan_policy: NanPolicy = "raise",
    seedv_layout: SeedvLayout = "channel-major",
) -> Cohort:
    """Load a feature cohort from a cohort file or an official features folder.

    ``feature`` picks DE or PSD under a FACED root; a FACED ``PSD/`` folder itself is read as PSD.
    ``seedv_layout``: the column layout of SEED-V feature files (:mod:`vaxis.data.seedv_layout`).
    """
    from vaxis.data import faced, seedv

    kind = detect(path)
    if kind is SourceKind.cohort_file:
        cohort = Cohort.load(path)
        if cohort.meta.kind != "features":
            raise DataFormatError(
                path,
                "this cohort holds raw EEG",
                f"compute features: vaxis data features {path} OUT",
            )
        return apply_nan_policy(cohort, nan_policy, path)
    if kind is SourceKind.faced_features:
        if Path(path).name.lower() == "psd":
            feature = "psd"
        return faced.load_faced_features(path, feature=feature, nan_policy=nan_policy)
    if kind is SourceKind.seedv_features:
        return seedv.load_seedv_features(path, nan_policy=nan_policy, layout=seedv_layout)
    raise DataFormatError(
        path,
        "this folder holds raw EEG only",
        f"compute features first: vaxis data features {path} OUT.cohort.h5",
    )


def raw_subject_ids(path: str | Path) -> list[int]:
    """Subjects with raw EEG at ``path``, from file names or the cohort's subject column."""
    from vaxis.data import faced_layout, seedv_raw

    kinds = available(path)
    path = Path(path)
    if SourceKind.cohort_file in kinds:
        _require_raw_cohort(path)
        return subject_ids(path)
    if SourceKind.faced_raw in kinds:
        folder = path if path.name == "Processed_data" else path.joinpath(*faced_layout.RAW_DIR)
        pattern = re.compile(r"^sub(\d+)\.pkl$")
    elif SourceKind.seedv_raw in kinds:
        folder = path if path.name == seedv_raw.RAW_DIR else path / seedv_raw.RAW_DIR
        pattern = seedv_raw.RAW_FILE
    else:
        raise DataFormatError(path, "this folder holds features, not raw EEG")
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return sorted({int(m.group(1)) for m in map(pattern.match, names) if m})


def iter_raw(
    path: str | Path,
    nan_policy: NanPolicy = "raise",
    subjects: Iterable[int] | None = None,
    seedv_bandpass: tuple[float, float] | None = SEEDV_BANDPASS_HZ,
) -> Iterator[Cohort]:
    """Stream raw EEG one subject at a time from a cohort file or an official raw folder.

    ``seedv_bandpass``: the band-pass (Hz, None for none) of raw SEED-V ``.cnt`` recordings.
    """
    from vaxis.data import faced, seedv_raw

    kinds = available(path)
    if SourceKind.cohort_file in kinds:
        _require_raw_cohort(Path(path))
        for part in iter_subjects(path, subjects):
            yield apply_nan_policy(part, nan_policy, path)
    elif SourceKind.faced_raw in kinds:
        yield from faced.iter_faced_raw(path, subjects=subjects, nan_policy=nan_policy)
    elif SourceKind.seedv_raw in kinds:
        yield from seedv_raw.iter_seedv_raw(path, subjects=subjects, bandpass=seedv_bandpass)
    else:
        raise DataFormatError(path, "this folder holds features, not raw EEG")


def _require_raw_cohort(path: Path) -> None:
    if load_meta(path).kind != "raw":
        raise DataFormatError(path, "this cohort holds features, not raw EEG")


def open_any(
    path: str | Path,
    nan_policy: NanPolicy = "raise",
    seedv_layout: SeedvLayout = "channel-major",
    seedv_bandpass: tuple[float, float] | None = SEEDV_BANDPASS_HZ,
) -> Cohort:
    """A whole cohort in memory (raw sources are concatenated: fine for small selections)."""
    if is_raw(path) and SourceKind.faced_raw in available(path):
        from vaxis.data.faced import load_faced_raw  # checks that every file has one channel set

        return load_faced_raw(path, nan_policy=nan_policy)
    if is_raw(path):
        return Cohort.concatenate(
            list(iter_raw(path, nan_policy=nan_policy, seedv_bandpass=seedv_bandpass))
        )
    return open_features(path, nan_policy=nan_policy, seedv_layout=seedv_layout)


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
    if kind is SourceKind.cohort_file:
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
    is_raw_folder = kind in {SourceKind.faced_raw, SourceKind.seedv_raw}
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
    if detect(path) is SourceKind.cohort_file:
        load_meta(path)  # a truncated file says so
        raise DataFormatError(path, "already a cohort file", "use it as it is")
    if is_raw(path):
        return save_stream(iter_raw(path, nan_policy=nan_policy), out)
    return open_features(path, nan_policy=nan_policy).save(out)
