"""SEED-V raw recordings -> raw :class:`Cohort`, one subject at a time.

``EEG_raw/<subject>_<session>_<date>.cnt`` at 1000 Hz, read with :func:`mne.io.read_raw_cnt`.
Channels are picked by name (M1, M2, VEO, HEO dropped -> 62). Trials are cut with the official
start/end seconds and split into fixed segments (4 s by default, the unit of the official DE);
a trial's remainder shorter than a segment is dropped, as the official code does. Each segment
is one row of the raw cohort: ``stimulus`` is the trial, ``window`` the segment index.
Resampling uses a polyphase filter (anti-aliased), never plain decimation. Each whole session
is then band-passed 0.3-75 Hz by default, after resampling, with the filter CBraMod applies
(``raw.filter(l_freq=0.3, h_freq=75)``: MNE's zero-phase FIR) -- see :func:`bandpass_session`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.signal import resample_poly

from vaxis.data.cohort import Cohort, CohortMeta
from vaxis.data.datasets import (
    SEEDV,
    SEEDV_BANDPASS_HZ,
    SEEDV_CHANNELS,
    SEEDV_N_SESSIONS,
    SEEDV_TRIAL_END_S,
    SEEDV_TRIAL_START_S,
    SEEDV_TRIALS_PER_SESSION,
    seedv_stimulus_names,
)
from vaxis.data.seedv import TRIAL_LABELS, matching_files, resolve_folder, wanted_subjects
from vaxis.data.validation import select_channels
from vaxis.errors import DataFormatError

RAW_DIR = "EEG_raw"
RAW_FILE = re.compile(r"^(\d+)_([1-3])_.*\.cnt$", re.IGNORECASE)
BANDPASS_METHOD = (
    "mne.filter.filter_data: FIR, firwin design, Hamming window, zero phase, MNE's automatic "
    "transition bands (as mne's Raw.filter, which CBraMod calls); whole session, after resampling"
)


# ------------------------------------------------------------------------------------ raw
class SessionSegments(NamedTuple):
    """Fixed-length segments of one session's 15 trials, in trial then time order."""

    data: np.ndarray  # (n_segments, channels, samples_per_segment)
    trial: np.ndarray  # trial within the session, 0..14
    window: np.ndarray  # segment index within its trial


def segment_session(
    data: np.ndarray, sfreq: float, session: int, segment_seconds: float = 4.0
) -> SessionSegments:
    """Cut a whole session recording (channels, time) into its trials' fixed-length segments.

    Trial ``t`` spans the official seconds ``[start, end)`` of ``session`` (0-based); it yields
    ``floor((end - start) / segment_seconds)`` segments, its remainder is dropped.
    """
    seg = _segment_samples(segment_seconds, sfreq)
    if not 0 <= session < SEEDV_N_SESSIONS:
        raise ValueError(f"session must be 0, 1 or 2, not {session}")
    segments, trials, windows = [], [], []
    for trial in range(SEEDV_TRIALS_PER_SESSION):
        start = round(SEEDV_TRIAL_START_S[session][trial] * sfreq)
        end = round(SEEDV_TRIAL_END_S[session][trial] * sfreq)
        if end > data.shape[-1]:
            raise ValueError(
                f"recording has {data.shape[-1] / sfreq:.1f} s but session {session + 1} "
                f"trial {trial + 1} ends at {SEEDV_TRIAL_END_S[session][trial]} s"
            )
        n = (end - start) // seg
        cut = data[:, start : start + n * seg].reshape(data.shape[0], n, seg)
        segments.append(cut.transpose(1, 0, 2))
        trials.append(np.full(n, trial))
        windows.append(np.arange(n))
    return SessionSegments(
        np.concatenate(segments), np.concatenate(trials), np.concatenate(windows)
    )


def bandpass_session(data: np.ndarray, sfreq: float, band: tuple[float, float]) -> np.ndarray:
    """Band-pass a whole recording (channels, time) to ``band`` (Hz), in place.

    The filter is MNE's default FIR (``mne.filter.filter_data`` with the defaults of
    ``Raw.filter``), so ``band = (0.3, 75)`` on a 200 Hz recording reproduces CBraMod's
    ``raw.filter(l_freq=0.3, h_freq=75)``. Its transition bands are MNE's automatic ones (at
    0.3-75 Hz: 0-0.3 Hz and 75-93.75 Hz), so a component inside them is attenuated, not removed.
    """
    import mne  # heavy import, only needed for raw recordings

    low, high = _check_band(band, sfreq)
    return mne.filter.filter_data(
        data, sfreq, low, high, method="fir", phase="zero", fir_window="hamming",
        fir_design="firwin", pad="reflect_limited", copy=False, verbose="error",
    )  # fmt: skip


def _check_band(band: tuple[float, float], sfreq: float) -> tuple[float, float]:
    low, high = (float(edge) for edge in band)
    if not 0 < low < high:
        raise ValueError(f"band-pass edges must satisfy 0 < low < high, not {band}")
    if high >= sfreq / 2:
        raise ValueError(
            f"band-pass upper edge {high:g} Hz is not below the Nyquist frequency "
            f"({sfreq / 2:g} Hz at {sfreq:g} Hz)"
        )
    return low, high


def _segment_samples(segment_seconds: float, sfreq: float) -> int:
    seg = round(segment_seconds * sfreq)
    if seg < 1 or not np.isclose(seg, segment_seconds * sfreq):
        raise ValueError(f"a {segment_seconds} s segment is not a whole number of samples")
    return seg


def iter_seedv_raw(
    root: str | Path,
    subjects: Iterable[int] | None = None,
    resample_to: float | None = None,
    segment_seconds: float = SEEDV.window_seconds,
    bandpass: tuple[float, float] | None = SEEDV_BANDPASS_HZ,
) -> Iterator[Cohort]:
    """Yield one raw cohort per subject (its three sessions), rows = fixed-length segments.

    Data are microvolts, float32, (n_segments, 62, samples); the 62 channels are picked by name.
    ``resample_to`` (Hz) resamples each whole session before cutting, with a polyphase
    anti-alias FIR (:func:`scipy.signal.resample_poly`), never by plain decimation. ``bandpass``
    (Hz; CBraMod's 0.3-75 by default, None for none) then filters the whole session
    (:func:`bandpass_session`); both are recorded in ``meta.provenance``. Files are checked
    when this is called; each subject's recordings are read when its cohort is due.
    """
    if resample_to is not None and resample_to <= 0:
        raise ValueError(f"resample_to must be a positive rate in Hz, not {resample_to}")
    if bandpass is not None:
        _check_band(bandpass, resample_to if resample_to is not None else np.inf)
    folder = resolve_folder(Path(root), RAW_DIR)
    found: dict[int, dict[int, Path]] = {}
    for match in matching_files(folder, RAW_FILE):
        sessions = found.setdefault(int(match.group(1)), {})
        session = int(match.group(2)) - 1
        if session in sessions:
            raise DataFormatError(
                folder / match.group(0),
                f"second recording for subject {match.group(1)} session {session + 1} "
                f"(also {sessions[session].name})",
                "keep one .cnt file per subject and session",
            )
        sessions[session] = folder / match.group(0)
    if not found:
        raise DataFormatError(
            folder,
            "no SEED-V recordings (<subject>_<session>_<date>.cnt) in this folder",
            f"point root at the SEED-V folder holding {RAW_DIR}/1_1_20180804.cnt ...",
        )
    wanted = wanted_subjects(found, subjects, folder, "<subject>_<session>_*.cnt")
    for subject in wanted:
        missing = [s + 1 for s in range(SEEDV_N_SESSIONS) if s not in found[subject]]
        if missing:
            raise DataFormatError(
                folder,
                f"subject {subject} has no recording for session(s) {missing}",
                "copy all three .cnt files of this subject, or leave the subject out",
            )
    return (
        _read_subject_raw(
            [found[s][k] for k in range(3)], s, resample_to, segment_seconds, bandpass
        )
        for s in wanted
    )


def _read_subject_raw(
    paths: list[Path],
    subject: int,
    resample_to: float | None,
    segment_seconds: float,
    bandpass: tuple[float, float] | None,
) -> Cohort:
    parts, rates = [], set()
    for session, path in enumerate(paths):
        recording, sfreq = _read_cnt(path, resample_to)
        if bandpass is not None:
            try:
                recording = bandpass_session(recording, sfreq, bandpass)
            except ValueError as error:
                raise DataFormatError(
                    path,
                    str(error),
                    "pass lower band-pass edges, or none (bandpass=None; --seedv-bandpass off)",
                ) from error
        rates.add(sfreq)
        _segment_samples(segment_seconds, sfreq)  # a bad argument, not a bad file
        try:
            cut = segment_session(recording, sfreq, session, segment_seconds)
        except ValueError as error:
            raise DataFormatError(
                path, str(error), "the recording is truncated; re-copy it"
            ) from error
        parts.append((cut, session))
    if len(rates) != 1:
        raise DataFormatError(paths[0].parent, f"subject {subject} sessions differ in rate")
    stimulus = np.concatenate([c.trial + s * SEEDV_TRIALS_PER_SESSION for c, s in parts])
    label = TRIAL_LABELS[stimulus]
    meta = CohortMeta(
        dataset=SEEDV.name,
        kind="raw",
        channel_names=SEEDV_CHANNELS,
        label_names=SEEDV.classes,
        sfreq=rates.pop(),
        window_seconds=segment_seconds,
        stimulus_names=seedv_stimulus_names(),
        provenance={
            "files": [str(p) for p in paths],
            "units": "uV",
            "resample_to": resample_to,
            "resampling": "scipy.signal.resample_poly (polyphase anti-alias FIR)",
            "bandpass": _bandpass_provenance(bandpass),
            "segments": f"{segment_seconds} s, trial remainder dropped",
        },
    )
    return Cohort(
        data=np.concatenate([c.data for c, _ in parts]).astype(np.float32),
        subject=np.full(stimulus.size, subject),
        stimulus=stimulus,
        window=np.concatenate([c.window for c, _ in parts]),
        label=label,
        valence=np.asarray(SEEDV.class_valence)[label],
        session=stimulus // SEEDV_TRIALS_PER_SESSION,
        meta=meta,
    )


def _bandpass_provenance(band: tuple[float, float] | None) -> dict[str, object] | None:
    """Band edges, method and MNE version of the band-pass (None: not filtered)."""
    if band is None:
        return None
    import mne

    return {
        "low_hz": band[0],
        "high_hz": band[1],
        "method": BANDPASS_METHOD,
        "mne": mne.__version__,
    }


def _read_cnt(path: Path, resample_to: float | None) -> tuple[np.ndarray, float]:
    """The 62 EEG channels (by name) of one recording in microvolts, optionally resampled."""
    import mne  # heavy import, only needed for raw recordings

    try:
        raw = mne.io.read_raw_cnt(path, preload=False, verbose="error")
    except (OSError, ValueError, RuntimeError) as error:
        raise DataFormatError(
            path, f"mne cannot read this .cnt file ({error})", "re-copy the recording"
        ) from error
    picks = select_channels(raw.ch_names, SEEDV_CHANNELS, path)
    data = raw.get_data(picks=picks, units="uV")
    sfreq = float(raw.info["sfreq"])
    if resample_to is None or resample_to == sfreq:
        return data, sfreq
    ratio = Fraction(resample_to).limit_denominator(1000) / Fraction(sfreq).limit_denominator(1000)
    return resample_poly(data, ratio.numerator, ratio.denominator, axis=-1), float(resample_to)
