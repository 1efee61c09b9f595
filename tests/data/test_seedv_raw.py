"""SEED-V raw .cnt recordings, read through a fake mne reader (mne cannot write .cnt)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pytest

from tests.filesafety import digest
from vaxis.data import seedv_raw
from vaxis.data.datasets import (
    SEEDV_BANDPASS_HZ,
    SEEDV_CHANNELS,
    SEEDV_DROP_CHANNELS,
    SEEDV_TRIAL_END_S,
    SEEDV_TRIAL_START_S,
)
from vaxis.data.seedv import TRIAL_LABELS
from vaxis.data.seedv_raw import RAW_DIR, bandpass_session, iter_seedv_raw, segment_session
from vaxis.errors import DataFormatError

# ------------------------------------------------------------------------------------ raw


def test_segment_session_cuts_official_trials_at_1000_hz() -> None:
    sfreq, session = 1000.0, 1
    total = SEEDV_TRIAL_END_S[session][-1] * 1000 + 500
    recording = np.full((2, total), -1.0)
    for trial in range(15):
        start, end = SEEDV_TRIAL_START_S[session][trial], SEEDV_TRIAL_END_S[session][trial]
        recording[0, start * 1000 : end * 1000] = trial
        recording[1, start * 1000 : end * 1000] = np.arange((end - start) * 1000) // 4000
    cut = segment_session(recording, sfreq, session)
    durations = np.subtract(SEEDV_TRIAL_END_S[session], SEEDV_TRIAL_START_S[session])
    np.testing.assert_array_equal(np.bincount(cut.trial, minlength=15), durations // 4)
    assert cut.data.shape[1:] == (2, 4000)
    np.testing.assert_array_equal(cut.data[:, 0, :], cut.trial[:, None] * np.ones(4000))
    np.testing.assert_array_equal(cut.data[:, 1, :], cut.window[:, None] * np.ones(4000))
    assert (cut.data != -1).all()  # nothing from between trials, no partial segment


def test_segment_session_rejects_a_short_recording() -> None:
    with pytest.raises(ValueError, match=r"3000\.0 s but session 1 trial 14 ends at 3172 s"):
        segment_session(np.zeros((1, 3000 * 10)), 10.0, 0)


FAKE_SFREQ = 20.0
RAW_NAMES = (*SEEDV_CHANNELS, *SEEDV_DROP_CHANNELS)


def _code_recording(session: int) -> np.ndarray:
    """Microvolts per (channel, time): stimulus*1e4 + segment*100 + channel; -1 between trials."""
    n = round((SEEDV_TRIAL_END_S[session][-1] + 3) * FAKE_SFREQ)
    code = np.full(n, -1.0)
    for trial in range(15):
        start = round(SEEDV_TRIAL_START_S[session][trial] * FAKE_SFREQ)
        end = round(SEEDV_TRIAL_END_S[session][trial] * FAKE_SFREQ)
        segment = np.arange(end - start) // round(4 * FAKE_SFREQ)
        code[start:end] = (session * 15 + trial) * 1e4 + segment * 100
    channel = np.r_[np.arange(62), [-500.0] * 4]  # M1, M2, VEO, HEO get a value never expected
    return np.where(code >= 0, code + channel[:, None], -1.0)


def _fake_reader(make: Any, names: tuple[str, ...] = RAW_NAMES, order_seed: int = 3) -> Any:
    """A stand-in for mne.io.read_raw_cnt: channels shuffled, lower-case, in volts."""
    order = np.random.default_rng(order_seed).permutation(len(names))
    calls: list[Path] = []

    def read_raw_cnt(path: Path, preload: bool = False, verbose: Any = None) -> mne.io.RawArray:
        calls.append(Path(path))
        session = int(Path(path).name.split("_")[1]) - 1
        microvolts = make(session)[order]
        info = mne.create_info([names[i].lower() for i in order], FAKE_SFREQ, "eeg")
        return mne.io.RawArray(microvolts * 1e-6, info, verbose=False)

    read_raw_cnt.calls = calls  # type: ignore[attr-defined]
    return read_raw_cnt


def _raw_folder(tmp_path: Path, subjects: tuple[int, ...] = (2,)) -> Path:
    folder = tmp_path / RAW_DIR
    folder.mkdir(parents=True)
    for subject in subjects:
        for session, date in ((1, "20180411"), (2, "20180418"), (3, "20180502")):
            (folder / f"{subject}_{session}_{date}.cnt").write_bytes(b"placeholder")
    return folder


def test_raw_trials_land_with_their_labels_sessions_and_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _raw_folder(tmp_path, subjects=(2, 11))
    reader = _fake_reader(_code_recording)
    monkeypatch.setattr(mne.io, "read_raw_cnt", reader)
    before = digest(folder)
    (cohort,) = iter_seedv_raw(tmp_path, subjects=[11], bandpass=None)
    assert [p.name[:2] for p in reader.calls] == ["11"] * 3
    assert cohort.meta.kind == "raw" and cohort.meta.sfreq == FAKE_SFREQ
    assert cohort.meta.provenance["bandpass"] is None
    assert cohort.meta.channel_names == SEEDV_CHANNELS and cohort.data.shape[1:] == (62, 80)
    expected = cohort.stimulus * 1e4 + cohort.window * 100
    want = expected[:, None, None] + np.arange(62)[None, :, None]
    np.testing.assert_allclose(cohort.data, np.broadcast_to(want, cohort.data.shape), atol=1e-3)
    durations = np.subtract(SEEDV_TRIAL_END_S, SEEDV_TRIAL_START_S).reshape(-1)
    np.testing.assert_array_equal(np.bincount(cohort.stimulus, minlength=45), durations // 4)
    np.testing.assert_array_equal(cohort.label, TRIAL_LABELS[cohort.stimulus])
    np.testing.assert_array_equal(cohort.session, cohort.stimulus // 15)
    assert (cohort.subject == 11).all()
    assert digest(folder) == before


def test_raw_resampling_filters_before_decimating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 Hz is above the 5 Hz Nyquist of 10 Hz: plain decimation would alias it to 2 Hz."""

    def sines(session: int) -> np.ndarray:
        n = round((SEEDV_TRIAL_END_S[session][-1] + 3) * FAKE_SFREQ)
        t = np.arange(n) / FAKE_SFREQ
        out = np.zeros((66, n))
        out[0], out[1] = np.sin(2 * np.pi * 1.0 * t), np.sin(2 * np.pi * 8.0 * t)
        return out

    _raw_folder(tmp_path)
    monkeypatch.setattr(mne.io, "read_raw_cnt", _fake_reader(sines))
    (cohort,) = iter_seedv_raw(tmp_path, resample_to=10.0, bandpass=None)
    assert cohort.meta.sfreq == 10.0 and cohort.data.shape[2] == 40
    slow, fast = cohort.data[:, 0, :], cohort.data[:, 1, :]
    assert np.abs(slow).max(axis=1).min() > 0.9  # 1 Hz passes
    assert np.abs(fast).max() < 0.05  # 8 Hz is removed, not folded to 2 Hz


def test_raw_errors_name_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataFormatError, match="folder not found"):
        iter_seedv_raw(tmp_path / "none")
    folder = _raw_folder(tmp_path)
    with pytest.raises(DataFormatError, match=r"subject\(s\) \[5\]"):
        iter_seedv_raw(tmp_path, subjects=[5])
    no_oz = tuple(n for n in RAW_NAMES if n != "OZ")
    monkeypatch.setattr(
        mne.io,
        "read_raw_cnt",
        _fake_reader(
            lambda s: np.delete(_code_recording(s), SEEDV_CHANNELS.index("OZ"), axis=0),
            names=no_oz,
        ),
    )
    with pytest.raises(DataFormatError, match="channels missing: OZ") as info:
        next(iter_seedv_raw(tmp_path, bandpass=None))
    assert info.value.path is not None and info.value.path.suffix == ".cnt"
    short = _fake_reader(lambda s: _code_recording(s)[:, : round(1000 * FAKE_SFREQ)])
    monkeypatch.setattr(mne.io, "read_raw_cnt", short)
    with pytest.raises(DataFormatError, match="truncated"):
        next(iter_seedv_raw(tmp_path, bandpass=None))
    (folder / "2_3_20180502.cnt").unlink()
    with pytest.raises(DataFormatError, match=r"subject 2 has no recording for session\(s\) \[3\]"):
        iter_seedv_raw(tmp_path)


def test_no_recordings_and_duplicate_recordings(tmp_path: Path) -> None:
    (tmp_path / RAW_DIR).mkdir()
    with pytest.raises(DataFormatError, match="no SEED-V recordings"):
        iter_seedv_raw(tmp_path)
    folder = _raw_folder(tmp_path / "dup")
    (folder / "2_1_20190101.cnt").write_bytes(b"again")
    with pytest.raises(DataFormatError, match="second recording for subject 2 session 1"):
        iter_seedv_raw(folder)


# ------------------------------------------------------------------------------- band-pass


def _amplitudes(signal: np.ndarray, sfreq: float, freqs: tuple[float, ...]) -> np.ndarray:
    """Least-squares amplitude of each sinusoid (whole periods, so the fit is exact)."""
    t = np.arange(signal.size) / sfreq
    basis = np.column_stack(
        [np.ones_like(t)] + [f(2 * np.pi * hz * t) for hz in freqs for f in (np.sin, np.cos)]
    )
    coef = np.linalg.lstsq(basis, signal, rcond=None)[0][1:].reshape(-1, 2)
    return np.hypot(coef[:, 0], coef[:, 1])


def test_bandpass_attenuates_drift_and_90_hz_by_the_designed_response_and_keeps_10_hz() -> None:
    from scipy.signal import freqz

    sfreq, freqs, planted = 200.0, (0.1, 10.0, 90.0), np.array([50.0, 10.0, 5.0])
    t = np.arange(round(300 * sfreq)) / sfreq
    phases = (0.3, 1.1, 2.0)
    clean = sum(
        a * np.sin(2 * np.pi * f * t + p) for a, f, p in zip(planted, freqs, phases, strict=True)
    )
    recording = np.stack([clean, 0.5 * clean])
    filtered = bandpass_session(recording.copy(), sfreq, SEEDV_BANDPASS_HZ)
    middle = slice(round(60 * sfreq), round(240 * sfreq))  # 18 drift periods, far from the edges
    gain = _amplitudes(filtered[0, middle], sfreq, freqs) / planted
    # the designed response of the filter (MNE's FIR for 0.3-75 Hz at 200 Hz)
    kernel = mne.filter.create_filter(None, sfreq, *SEEDV_BANDPASS_HZ, verbose="error")
    designed = np.abs(freqz(kernel, worN=np.array(freqs), fs=sfreq)[1])
    np.testing.assert_allclose(gain, designed, atol=5e-3)
    assert gain[1] == pytest.approx(1.0, abs=2e-3)  # 10 Hz passes untouched
    assert gain[0] < 0.25 and gain[2] < 0.1  # 0.1 Hz drift -13 dB, 90 Hz tone -21 dB
    np.testing.assert_allclose(filtered[1], 0.5 * filtered[0], atol=1e-9)  # per channel, linear
    # the very call CBraMod makes on the resampled recording
    raw = mne.io.RawArray(recording * 1e-6, mne.create_info(2, sfreq, "eeg"), verbose=False)
    cbramod = raw.filter(l_freq=0.3, h_freq=75, verbose=False).get_data() * 1e6
    np.testing.assert_allclose(filtered, cbramod, atol=1e-6)
    unfiltered = _amplitudes(recording[0, middle], sfreq, freqs) / planted
    np.testing.assert_allclose(unfiltered, 1.0, atol=1e-9)  # the measure itself is exact


def test_bandpass_refuses_edges_the_recording_cannot_hold() -> None:
    with pytest.raises(ValueError, match=r"upper edge 75 Hz is not below the Nyquist.*10 Hz"):
        bandpass_session(np.zeros((1, 1000)), 20.0, (0.3, 75.0))
    with pytest.raises(ValueError, match="0 < low < high"):
        bandpass_session(np.zeros((1, 1000)), 200.0, (40.0, 4.0))


def test_raw_sessions_are_band_passed_whole_and_provenance_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 20 Hz stand-in needs edges below its 10 Hz Nyquist: 0.5-4 Hz here."""

    def tones(session: int) -> np.ndarray:
        n = round((SEEDV_TRIAL_END_S[session][-1] + 3) * FAKE_SFREQ)
        t = np.arange(n) / FAKE_SFREQ
        out = np.zeros((66, n))
        out[:62] = 100.0 + np.sin(2 * np.pi * 2.0 * t) + np.sin(2 * np.pi * 8.0 * t)
        return out

    _raw_folder(tmp_path)
    monkeypatch.setattr(mne.io, "read_raw_cnt", _fake_reader(tones))
    (cohort,) = iter_seedv_raw(tmp_path, bandpass=(0.5, 4.0))
    band = cohort.meta.provenance["bandpass"]
    assert (band["low_hz"], band["high_hz"]) == (0.5, 4.0) and band["mne"] == mne.__version__
    assert "zero phase" in band["method"] and "after resampling" in band["method"]
    # the loader filters each whole session, then cuts it: the same as doing so by hand
    session = 1
    expected = segment_session(
        bandpass_session(tones(session)[:62], FAKE_SFREQ, (0.5, 4.0)), FAKE_SFREQ, session
    )
    rows = cohort.session == session
    np.testing.assert_allclose(cohort.data[rows], expected.data, atol=1e-4)
    # the 100 uV offset and the 8 Hz tone are gone, the 2 Hz tone stays
    segment = cohort.data[rows][5, 0].astype(float)
    amplitude = _amplitudes(segment, FAKE_SFREQ, (2.0, 8.0))
    assert abs(segment.mean()) < 0.05
    assert amplitude[0] == pytest.approx(1.0, abs=0.01) and amplitude[1] < 0.01


def test_default_bandpass_is_refused_on_a_recording_too_slow_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _raw_folder(tmp_path)
    monkeypatch.setattr(mne.io, "read_raw_cnt", _fake_reader(_code_recording))
    with pytest.raises(DataFormatError, match="75 Hz is not below the Nyquist") as info:
        next(iter_seedv_raw(tmp_path))
    assert info.value.path is not None and info.value.path.suffix == ".cnt"
    assert "--seedv-bandpass off" in str(info.value.fix)
    with pytest.raises(ValueError, match="Nyquist"):  # known before any file is read
        iter_seedv_raw(tmp_path, resample_to=100.0)


def test_command_line_band_pass_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vaxis.cli import app

    _raw_folder(tmp_path)
    monkeypatch.setattr(mne.io, "read_raw_cnt", _fake_reader(_code_recording))
    runner = CliRunner()

    def provenance(*options: str) -> dict[str, Any]:
        result = runner.invoke(app, ["data", "inspect", str(tmp_path), "--json", *options])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["provenance"]

    assert provenance("--seedv-bandpass", "off")["bandpass"] is None
    bands: list[tuple[float, float]] = []  # what reaches the filter (the filter is tested above)

    def spy(data: np.ndarray, sfreq: float, band: tuple[float, float]) -> np.ndarray:
        bands.append(band)
        return data

    monkeypatch.setattr(seedv_raw, "bandpass_session", spy)
    band = provenance("--seedv-bandpass", "0.5,4")["bandpass"]
    assert (band["low_hz"], band["high_hz"]) == (0.5, 4.0) and bands == [(0.5, 4.0)] * 3
    monkeypatch.undo()
    monkeypatch.setattr(mne.io, "read_raw_cnt", _fake_reader(_code_recording))
    for command in (
        ["inspect", str(tmp_path)],
        ["features", str(tmp_path), str(tmp_path / "o.h5")],
    ):
        default = runner.invoke(app, ["data", *command])  # CBraMod's 0.3-75 Hz at 20 Hz
        assert default.exit_code == 2 and "Nyquist" in " ".join(default.output.split())
        bad = runner.invoke(app, ["data", *command, "--seedv-bandpass", "40,4"])
        assert bad.exit_code == 2 and "0 < LOW < HIGH" in " ".join(bad.output.split())
