"""Stimulus-labelled EEG from MNE / BIDS: epochs -> cohort, and `vaxis data import`.

The BIDS dataset is written by mne-bids in the test itself (tiny SYNTHETIC signals): white
noise plus, during every "happy" stimulus, a 10 Hz sine, so the alpha band's DE must rise by
the closed-form amount in happy epochs and no other band may move.
"""

from __future__ import annotations

import json
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from vaxis.cli import app
from vaxis.data.cohort import Cohort
from vaxis.data.features import band_kernels
from vaxis.data.mne_import import cohort_from_epochs, read_event_mapping
from vaxis.errors import DataFormatError

mne_bids = pytest.importorskip("mne_bids")
pytest.importorskip("pybv")  # mne-bids writes EEG as BrainVision through pybv

runner = CliRunner()
SFREQ = 100.0
CHANNELS = ("Fz", "Cz", "Pz", "Oz")
EPOCH_S = 4.0
NOISE_UV, SINE_UV = 10.0, 20.0
#: ~10 Hz with a zero at an epoch's first and last sample: the band-pass's odd-reflection
#: padding then continues the sine, so no edge transient leaks power into other bands
SINE_HZ = 40 / (EPOCH_S - 1 / SFREQ)
#: (event name, onset s): two happy and two sad stimuli per subject, and one unmapped event
EVENTS = (("happy-a", 2.0), ("sad-a", 8.0), ("happy-b", 14.0), ("sad-b", 20.0), ("rest", 26.0))
MAPPING = (
    "event,stimulus,label,class,valence,description\n"
    "happy-a,0,1,happy,1,sunny film\n"
    "sad-a,1,0,sad,-1,rainy film\n"
    "happy-b,2,1,happy,1,party film\n"
    "sad-b,3,0,sad,-1,funeral film\n"
)


def _raw(seed: int, sfreq: float = SFREQ) -> mne.io.RawArray:
    """30 s of SYNTHETIC EEG (volts): noise, plus a sine during each happy event."""
    rng = np.random.default_rng(seed)
    n = int(30 * sfreq)
    data = rng.normal(0, NOISE_UV, (len(CHANNELS), n))
    t = np.arange(n) / sfreq
    for name, onset in EVENTS:
        if name.startswith("happy"):
            inside = (t >= onset) & (t < onset + EPOCH_S)
            data[:, inside] += SINE_UV * np.sin(2 * np.pi * SINE_HZ * (t[inside] - onset))
    raw = mne.io.RawArray(data * 1e-6, mne.create_info(list(CHANNELS), sfreq, "eeg"), verbose=0)
    names = [name for name, _ in EVENTS]
    raw.set_annotations(mne.Annotations([o for _, o in EVENTS], [EPOCH_S] * len(EVENTS), names))
    return raw


@pytest.fixture(scope="module")
def bids_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bids")
    for k, label in enumerate(("01", "02", "05")):
        path = mne_bids.BIDSPath(subject=label, task="films", datatype="eeg", root=root)
        mne_bids.write_raw_bids(
            _raw(seed=k), path, format="BrainVision", allow_preload=True, verbose=False
        )
    return root


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(MAPPING)
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_a_bids_root_becomes_a_cohort_with_one_command(
    bids_root: Path, mapping: Path, tmp_path: Path
) -> None:
    out = tmp_path / "films.cohort.h5"
    code, text = run(
        "data", "import", str(bids_root), str(out), "--events", str(mapping), "--tmax", "4"
    )
    assert code == 0, text
    assert "3 subject(s)" in text and "12 epochs" in text and "ignored): rest" in text
    cohort = Cohort.load(out)
    assert cohort.meta.dataset == "custom" and cohort.meta.kind == "raw"
    assert cohort.data.shape == (12, len(CHANNELS), int(EPOCH_S * SFREQ))
    assert cohort.meta.channel_names == CHANNELS and cohort.meta.sfreq == SFREQ
    assert cohort.subjects.tolist() == [1, 2, 5]
    per_subject = [cohort.stimulus[cohort.subject == s].tolist() for s in (1, 2, 5)]
    assert per_subject == [[0, 1, 2, 3]] * 3
    assert cohort.label.tolist() == [1, 0, 1, 0] * 3
    assert cohort.valence.tolist() == [1, -1, 1, -1] * 3
    assert cohort.meta.label_names == ("sad", "happy")
    assert cohort.meta.stimulus_names == ("sunny film", "rainy film", "party film", "funeral film")
    # the planted signal is where the mapping says: happy epochs carry the sine's power
    power = (cohort.data.astype(float) ** 2).mean(axis=(1, 2))
    expected = NOISE_UV**2 + np.where(cohort.label == 1, SINE_UV**2 / 2, 0)
    np.testing.assert_allclose(power, expected, rtol=0.1)


def test_de_of_the_imported_cohort_finds_the_planted_alpha_difference_and_nothing_else(
    bids_root: Path, mapping: Path, tmp_path: Path
) -> None:
    raw_file, de_file = tmp_path / "raw.cohort.h5", tmp_path / "de.cohort.h5"
    assert run("data", "import", str(bids_root), str(raw_file), "--events", str(mapping),
               "--tmax", "4")[0] == 0  # fmt: skip
    code, text = run("data", "features", str(raw_file), str(de_file))
    assert code == 0, text
    de = Cohort.load(de_file)
    assert de.meta.kind == "features" and de.meta.band_names == (
        "delta", "theta", "alpha", "beta", "gamma",
    )  # fmt: skip
    assert de.data.shape == (12 * 4, len(CHANNELS), 5)  # 4 one-second windows per epoch
    happy, sad = de.data[de.label == 1].mean(axis=(0, 1)), de.data[de.label == 0].mean(axis=(0, 1))
    # closed form: white noise of variance s2 has band variance s2 * sum(h**2); the sine adds a2/2
    gains = [float(np.sum(h**2)) for h in band_kernels(SFREQ, de.meta.band_edges)]
    alpha = de.meta.band_names.index("alpha")
    noise_alpha = NOISE_UV**2 * gains[alpha]
    expected = 0.5 * np.log1p(SINE_UV**2 / 2 / noise_alpha)
    assert happy[alpha] - sad[alpha] == pytest.approx(expected, rel=0.05)  # 1.31 vs 1.30
    others = [b for b in range(5) if b != alpha]
    assert np.abs(happy[others] - sad[others]).max() < 0.1  # nothing planted: noise, <= 0.05
    # --features de writes the same DE directly
    direct = tmp_path / "direct.cohort.h5"
    code, text = run("data", "import", str(bids_root), str(direct), "--events", str(mapping),
                     "--tmax", "4", "--features", "de")  # fmt: skip
    assert code == 0, text
    np.testing.assert_allclose(Cohort.load(direct).data, de.data, atol=1e-5)


def test_inspect_reads_an_imported_cohort(bids_root: Path, mapping: Path, tmp_path: Path) -> None:
    out = tmp_path / "films.cohort.h5"
    assert run("data", "import", str(bids_root), str(out), "--events", str(mapping),
               "--tmax", "4")[0] == 0  # fmt: skip
    result = runner.invoke(app, ["data", "inspect", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["dataset"] == "custom" and summary["n_subjects"] == 3
    assert summary["label_counts"] == {"sad": 6, "happy": 6} and summary["n_stimuli"] == 4


# ------------------------------------------------------------------ Cohort.from_epochs
def _epochs(metadata: pd.DataFrame | None, sfreq: float = SFREQ) -> mne.EpochsArray:
    n = 4 if metadata is None else len(metadata)
    data = np.arange(n * 2 * 200, dtype=float).reshape(n, 2, 200) * 1e-6
    info = mne.create_info(["Cz", "Pz"], sfreq, "eeg")
    return mne.EpochsArray(data, info, metadata=metadata, verbose=0)


def _meta(**changes: list[object]) -> pd.DataFrame:
    columns: dict[str, list[object]] = {
        "stim": [0, 1, 2, 3], "cls": [0, 0, 1, 1], "sub": [7, 7, 8, 8],
    }  # fmt: skip
    return pd.DataFrame(columns | changes)


def test_from_epochs_keeps_every_epoch_in_microvolts_with_its_labels() -> None:
    epochs = _epochs(_meta())
    cohort = Cohort.from_epochs(
        epochs, stimulus="stim", label="cls", subject="sub", label_names=("calm", "tense")
    )
    np.testing.assert_allclose(cohort.data, epochs.get_data() * 1e6, rtol=1e-6)
    assert cohort.stimulus.tolist() == [0, 1, 2, 3] and cohort.label.tolist() == [0, 0, 1, 1]
    assert cohort.subject.tolist() == [7, 7, 8, 8] and cohort.window.tolist() == [0] * 4
    assert cohort.valence.tolist() == [0] * 4 and "unknown" in cohort.meta.provenance["valence"]
    assert cohort.meta.label_names == ("calm", "tense") and cohort.meta.window_seconds == 1.0
    assert cohort.meta.band_edges[-1] == (30.0, 47.0)  # below Nyquist (50 Hz): all five kept


@pytest.mark.parametrize(
    ("metadata", "kwargs", "message"),
    [
        (None, {}, "the epochs carry no metadata"),
        (_meta(), {"label": "emotion"}, "no column 'emotion' (the label column); it has 'stim'"),
        (_meta(cls=[0, None, 1, 1]), {}, "'cls': 1 of 4 values are missing or not numbers "
         "(first at epoch 1: empty (NaN))"),
        (_meta(cls=[0, "sad", 1, 1]), {}, "first at epoch 1: not a number ('sad')"),
        (_meta(cls=[0, 0.5, 1, 1]), {}, "'cls' must hold integers; epoch 1 has 0.5"),
        (_meta(cls=[0, 0, 1, 2]), {"label_names": ("a", "b")},
         "'cls': 1 values outside 0..1 (first at epoch 3: 2)"),
        (_meta(sub=[7, -1, 8, 8]), {}, "'sub': 1 values outside 0 and above (first at epoch 1: "
         "-1)"),
        (_meta(stim=[0, 1, 1, 3]), {}, "stimulus 1 (column 'stim') has several class labels "
         "(0, 1)"),
    ],
)  # fmt: skip
def test_from_epochs_refuses_bad_metadata_naming_the_column(
    metadata: pd.DataFrame | None, kwargs: dict[str, object], message: str
) -> None:
    args = {"stimulus": "stim", "label": "cls", "subject": "sub"} | kwargs
    with pytest.raises(DataFormatError, match="fix:") as error:
        cohort_from_epochs(_epochs(metadata), source="x.fif", **args)  # type: ignore[arg-type]
    assert message in str(error.value) and str(error.value).startswith("x.fif: ")


# ------------------------------------------------------------------ files and the mapping
def _save_raw(raw: mne.io.BaseRaw, path: Path) -> Path:
    raw.save(path, overwrite=True, verbose=0)
    return path


def test_a_folder_of_fif_files_with_trigger_codes_and_a_json_mapping(tmp_path: Path) -> None:
    src = tmp_path / "lab"
    src.mkdir()
    for subject in (3, 4):
        raw = _raw(seed=subject)
        raw.set_annotations(None)
        stim = np.zeros((1, raw.n_times))
        for code, (_, onset) in enumerate(EVENTS, start=11):
            stim[0, int(onset * SFREQ)] = code  # 11 happy-a, 12 sad-a, ..., 15 rest
        raw.add_channels([mne.io.RawArray(stim, mne.create_info(["STI"], SFREQ, "stim"), 0)])
        _save_raw(raw, src / f"s{subject:02d}_films_raw.fif")
    mapping = tmp_path / "codes.json"
    mapping.write_text(json.dumps({"11": {"stimulus": 0, "label": 1}, "12": {"stimulus": 1,
                                   "label": 0}}))  # fmt: skip
    out = tmp_path / "lab.cohort.h5"
    code, text = run("data", "import", str(src), str(out), "--events", str(mapping), "--tmin",
                     "1", "--tmax", "3")  # fmt: skip
    assert code == 0, text
    assert "ignored): 13, 14, 15" in text
    cohort = Cohort.load(out)
    assert cohort.subjects.tolist() == [3, 4] and cohort.stimulus.tolist() == [0, 1, 0, 1]
    assert cohort.data.shape == (4, len(CHANNELS), 200)  # the stim channel is not EEG
    assert cohort.meta.label_names == ("class0", "class1")
    # the window starts 1 s after the trigger: the sine (happy-a) is there, from sample 100
    t = (np.arange(200) + 100) / SFREQ
    sine = SINE_UV * np.sin(2 * np.pi * SINE_HZ * t)
    residual = cohort.data[0, 0] - sine
    assert residual.std() == pytest.approx(NOISE_UV, rel=0.2)  # only the noise is left


def test_mixed_sampling_rates_are_refused_naming_both_files(tmp_path: Path) -> None:
    _save_raw(_raw(seed=0), tmp_path / "sub-01_raw.fif")
    _save_raw(_raw(seed=1, sfreq=2 * SFREQ), tmp_path / "sub-02_raw.fif")
    mapping = tmp_path / "events.csv"
    mapping.write_text(MAPPING)
    code, text = run("data", "import", str(tmp_path), str(tmp_path / "o.cohort.h5"),
                     "--events", str(mapping), "--tmax", "4")  # fmt: skip
    assert code == 2
    assert "sub-02_raw.fif: sampled at 200 Hz but sub-01_raw.fif at 100 Hz" in text
    assert "raw.resample(100)" in text and not (tmp_path / "o.cohort.h5").exists()


def test_different_channels_are_refused_naming_the_missing_ones(tmp_path: Path) -> None:
    _save_raw(_raw(seed=0), tmp_path / "sub-01_raw.fif")
    _save_raw(_raw(seed=1).drop_channels(["Oz"]), tmp_path / "sub-02_raw.fif")
    mapping = tmp_path / "events.csv"
    mapping.write_text(MAPPING)
    code, text = run("data", "import", str(tmp_path), str(tmp_path / "o.cohort.h5"),
                     "--events", str(mapping), "--tmax", "4")  # fmt: skip
    assert code == 2 and "channels differ from sub-01_raw.fif's (missing: ['Oz']" in text


def test_a_recording_without_mapped_events_names_its_events(tmp_path: Path) -> None:
    _save_raw(_raw(seed=0), tmp_path / "sub-01_raw.fif")
    mapping = tmp_path / "events.csv"
    mapping.write_text("event,stimulus,label\nfilm-1,0,0\n")
    code, text = run("data", "import", str(tmp_path / "sub-01_raw.fif"),
                     str(tmp_path / "o.cohort.h5"), "--events", str(mapping))  # fmt: skip
    assert code == 2
    assert "none of this recording's events (happy-a, happy-b, rest, sad-a, sad-b)" in text


def test_epochs_outside_the_recording_are_counted_as_dropped(tmp_path: Path) -> None:
    _save_raw(_raw(seed=0), tmp_path / "sub-01_raw.fif")
    mapping = tmp_path / "events.csv"
    mapping.write_text(MAPPING)
    # sad-b at 20 s: a 0..12 s window runs past the 30 s recording; the others fit
    code, text = run("data", "import", str(tmp_path), str(tmp_path / "o.cohort.h5"),
                     "--events", str(mapping), "--tmax", "12")  # fmt: skip
    assert code == 0, text
    assert "dropped 1 epoch(s)" in text
    assert Cohort.load(tmp_path / "o.cohort.h5").stimulus.tolist() == [0, 1, 2]


def test_a_file_name_without_a_subject_is_refused(tmp_path: Path) -> None:
    _save_raw(_raw(seed=0), tmp_path / "films_raw.fif")
    mapping = tmp_path / "events.csv"
    mapping.write_text(MAPPING)
    code, text = run("data", "import", str(tmp_path / "films_raw.fif"),
                     str(tmp_path / "o.cohort.h5"), "--events", str(mapping))  # fmt: skip
    assert code == 2 and "cannot tell the subject from the file name" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("event,stimulus\na,0\n", "no column label"),
        ("event,stimulus,label\na,0,0\na,1,1\n", "event 'a' is mapped twice (rows 1 and 2)"),
        ("event,stimulus,label\na,0,0\nb,0,1\n", "stimulus 0 has labels 0 and 1 (row 2)"),
        ("event,stimulus,label\na,0,x\n", "row 1: label:"),
        ("event,stimulus,label,valence\na,0,0,2\n", "row 1: valence:"),
        ("event,stimulus,label,class\na,0,0,sad\nb,1,0,calm\n", "label 0 is called 'sad'"),
        ("event,stimulus,label,valence\na,0,0,1\nb,1,0,\n", "not for row 2"),
        ("[1, 2]", "expected a list of objects"),
    ],
)
def test_a_bad_events_mapping_is_refused_naming_the_row(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / ("events.json" if text.startswith("[") else "events.csv")
    path.write_text(text)
    with pytest.raises(DataFormatError, match="fix:") as error:
        read_event_mapping(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_stored_epochs_are_cropped_to_the_window_and_refused_outside_it(tmp_path: Path) -> None:
    data = np.arange(3 * 2 * 300, dtype=float).reshape(3, 2, 300) * 1e-6
    events = np.array([[0, 0, 1], [300, 0, 2], [600, 0, 1]])
    epochs = mne.EpochsArray(
        data, mne.create_info(["Cz", "Pz"], SFREQ, "eeg"), events, tmin=-1.0,
        event_id={"film": 1, "film/b": 2}, verbose=0,
    )  # fmt: skip
    epochs.save(tmp_path / "sub-09-epo.fif", verbose=0)
    mapping = tmp_path / "events.csv"
    mapping.write_text("event,stimulus,label\nfilm,0,0\nfilm/b,1,1\n")  # 'film' is a tag too
    out = tmp_path / "o.cohort.h5"
    code, text = run("data", "import", str(tmp_path / "sub-09-epo.fif"), str(out), "--events",
                     str(mapping), "--tmin", "0", "--tmax", "1.5")  # fmt: skip
    assert code == 0, text
    cohort = Cohort.load(out)
    assert cohort.subjects.tolist() == [9] and cohort.stimulus.tolist() == [0, 1, 0]
    # t = 0 is sample 100 of each stored epoch (tmin -1 s); 1.5 s keeps 150 samples
    np.testing.assert_allclose(cohort.data, data[:, :, 100:250] * 1e6, rtol=1e-6)
    mapping.write_text("event,stimulus,label\nfilm,0,0\n")  # MNE's epochs["film"] has film/b
    code, text = run("data", "import", str(tmp_path / "sub-09-epo.fif"), str(out), "--events",
                     str(mapping), "--tmax", "1.5", "--overwrite")  # fmt: skip
    assert code == 0 and "ignored): film/b" in text, text
    assert Cohort.load(out).stimulus.tolist() == [0, 0]
    code, text = run("data", "import", str(tmp_path / "sub-09-epo.fif"), str(out), "--events",
                     str(mapping), "--tmax", "5", "--overwrite")  # fmt: skip
    assert code == 2 and "the epochs span -1..1.99 s, not --tmin 0 --tmax 5" in text


def test_a_file_mne_cannot_read_is_named_without_mne_s_text(tmp_path: Path) -> None:
    (tmp_path / "sub-01_raw.fif").write_bytes(b"not a fif file at all")
    mapping = tmp_path / "events.csv"
    mapping.write_text(MAPPING)
    code, text = run("data", "import", str(tmp_path), str(tmp_path / "o.cohort.h5"),
                     "--events", str(mapping))  # fmt: skip
    assert code == 2 and "sub-01_raw.fif: MNE cannot read this file" in text
    assert "Traceback" not in text and not (tmp_path / "o.cohort.h5").exists()
