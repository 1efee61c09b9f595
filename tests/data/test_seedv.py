"""SEED-V DE feature files: loader, writer, and every bad-input error."""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.filesafety import digest
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import (
    SEEDV,
    SEEDV_CHANNELS,
    seedv_stimulus_names,
)
from vaxis.data.seedv import (
    FEATURE_DIR,
    TRIAL_LABELS,
    load_seedv_features,
    save_seedv_npz,
    seedv_feature_meta,
    seedv_session_protocol,
    write_seedv_features,
)
from vaxis.errors import DataFormatError, UnsafePickleError

# ------------------------------------------------------------------------------ builders


def tiny_cohort(subjects: tuple[int, ...] = (1, 2), synthetic: bool = True) -> Cohort:
    """All 45 trials for each subject, 1-3 windows per trial, random DE values."""
    rng = np.random.default_rng(7)
    rows = [
        (s, trial, w) for s in subjects for trial in range(45) for w in range(1 + (trial + s) % 3)
    ]
    subject, stimulus, window = (np.array(col) for col in zip(*rows, strict=True))
    label = TRIAL_LABELS[stimulus]
    return Cohort(
        data=rng.normal(size=(len(rows), 62, 5)).astype(np.float32),
        subject=subject,
        stimulus=stimulus,
        window=window,
        label=label,
        valence=np.asarray(SEEDV.class_valence)[label],
        session=stimulus // 15,
        meta=seedv_feature_meta(synthetic=synthetic, provenance={"made_by": "test"}),
    )


def trial_dicts(n_windows: int = 2, width: int = 310) -> tuple[dict[int, Any], dict[int, Any]]:
    """Official-layout data/label dicts of zeros with the official labels."""
    data = {k: np.zeros((n_windows, width)) for k in range(45)}
    label = {k: np.full(n_windows, TRIAL_LABELS[k]) for k in range(45)}
    return data, label


def write_file(root: Path, subject: int, data: dict[Any, Any], label: dict[Any, Any]) -> Path:
    return save_seedv_npz(root / FEATURE_DIR / f"{subject}_123.npz", data, label)


# ------------------------------------------------------------------------ feature files


def test_round_trip_write_then_load_is_exact(tmp_path: Path) -> None:
    cohort = tiny_cohort()
    written = write_seedv_features(cohort, tmp_path)
    assert [p.name for p in written] == ["1_123.npz", "2_123.npz"]
    loaded = load_seedv_features(tmp_path)
    np.testing.assert_array_equal(loaded.data, cohort.data)
    assert loaded.data.dtype == np.float32
    for name in ("subject", "stimulus", "window", "label", "valence", "session"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(cohort, name))
    meta = loaded.meta
    assert (meta.dataset, meta.kind, meta.feature, meta.sfreq) == ("seedv", "features", "de", 0.25)
    assert meta.window_seconds == 4.0 and meta.channel_names == SEEDV_CHANNELS
    assert meta.band_names == ("delta", "theta", "alpha", "beta", "gamma")
    assert meta.stimulus_names == seedv_stimulus_names()
    assert meta.synthetic and meta.provenance["synthetic_origin"]["subjects"] == [1, 2]


def test_real_format_is_pickled_bytes_readable_the_way_public_loaders_read_it(
    tmp_path: Path,
) -> None:
    """torcheeg reads the files as ``pickle.loads(np.load(f)['data'])`` without allow_pickle."""
    (path,) = write_seedv_features(tiny_cohort(subjects=(3,)), tmp_path)
    with np.load(path) as npz:
        data, label = pickle.loads(npz["data"]), pickle.loads(npz["label"])
    assert sorted(data) == list(range(45)) and data[17].shape[1] == 310
    assert all((label[k] == TRIAL_LABELS[k]).all() for k in range(45))


def test_zero_d_object_array_entries_load_like_pickled_bytes(tmp_path: Path) -> None:
    data, label = trial_dicts()
    data[5][1, 7] = 3.5
    write_file(tmp_path / "a", 1, data, label)
    folder = tmp_path / "b" / FEATURE_DIR
    folder.mkdir(parents=True)
    np.savez(
        folder / "1_123.npz",
        data=np.array(data, dtype=object),
        label=np.array(label, dtype=object),
    )
    a, b = load_seedv_features(tmp_path / "a"), load_seedv_features(folder)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.data[(a.stimulus == 5) & (a.window == 1)][0, 1, 2] == 3.5


def test_310_columns_are_channel_major(tmp_path: Path) -> None:
    ch, band = SEEDV_CHANNELS.index("OZ"), SEEDV.band_names.index("alpha")
    data, label = trial_dicts()
    data[20][1, ch * 5 + band] = 9.0
    write_file(tmp_path, 1, data, label)
    cohort = load_seedv_features(tmp_path)
    hits = np.argwhere(cohort.data != 0)
    assert len(hits) == 1
    row, found_ch, found_band = hits[0]
    assert SEEDV_CHANNELS[found_ch] == "OZ" and SEEDV.band_names[found_band] == "alpha"
    assert (cohort.stimulus[row], cohort.window[row], cohort.session[row]) == (20, 1, 1)


def test_sessions_stimuli_and_labels_follow_the_official_table(tmp_path: Path) -> None:
    write_file(tmp_path, 4, *trial_dicts(n_windows=3))
    cohort = load_seedv_features(tmp_path)
    assert (cohort.subject == 4).all()
    np.testing.assert_array_equal(cohort.stimulus, np.repeat(np.arange(45), 3))
    np.testing.assert_array_equal(cohort.window, np.tile(np.arange(3), 45))
    np.testing.assert_array_equal(cohort.session, np.repeat([0, 1, 2], 45))
    # spot checks against the published lists: s1 t1 happy, s2 t1 sad, s3 t15 disgust
    classes = SEEDV.classes
    assert [classes[cohort.label[cohort.stimulus == s][0]] for s in (0, 15, 44)] == [
        "happy",
        "sad",
        "disgust",
    ]
    valence = cohort.valence[cohort.window == 0]
    np.testing.assert_array_equal(valence, [SEEDV.class_valence[y] for y in TRIAL_LABELS])
    assert [name.split("-")[1] for name in cohort.meta.stimulus_names] == [
        classes[y] for y in TRIAL_LABELS
    ]


def test_session_protocol_blocks_hold_every_emotion_once() -> None:
    stimulus = np.arange(45)
    fold = seedv_session_protocol(stimulus)
    np.testing.assert_array_equal(fold[:15], np.repeat([0, 1, 2], 5))
    for session in range(3):
        for block in range(3):
            members = (stimulus // 15 == session) & (fold == block)
            assert sorted(TRIAL_LABELS[members]) == [0, 1, 2, 3, 4]


def test_subjects_selects_files_and_root_may_be_the_feature_folder(tmp_path: Path) -> None:
    write_seedv_features(tiny_cohort(subjects=(1, 2, 10)), tmp_path)
    cohort = load_seedv_features(tmp_path / FEATURE_DIR, subjects=[10, 2])
    assert list(dict.fromkeys(cohort.subject)) == [10, 2]
    assert set(cohort.subject) == {2, 10}


def test_real_cohorts_are_not_marked_synthetic(tmp_path: Path) -> None:
    write_seedv_features(tiny_cohort(synthetic=False), tmp_path)
    assert not load_seedv_features(tmp_path).meta.synthetic


def test_writer_refuses_to_overwrite(tmp_path: Path) -> None:
    cohort = tiny_cohort()
    write_seedv_features(cohort, tmp_path)
    before = digest(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_seedv_features(cohort, tmp_path)
    assert digest(tmp_path) == before
    write_seedv_features(cohort.with_data(cohort.data + 1), tmp_path, overwrite=True)
    np.testing.assert_array_equal(load_seedv_features(tmp_path).data, cohort.data + 1)


def test_writer_refuses_labels_that_disagree_with_the_table(tmp_path: Path) -> None:
    cohort = tiny_cohort()
    cohort.label[cohort.stimulus == 3] = (TRIAL_LABELS[3] + 1) % 5
    with pytest.raises(ValueError, match="official"):
        write_seedv_features(cohort, tmp_path)


# ------------------------------------------------------------------- feature-file errors


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="folder not found"):
        load_seedv_features(tmp_path / "nowhere")
    (tmp_path / FEATURE_DIR).mkdir()
    with pytest.raises(DataFormatError, match=r"no SEED-V feature files") as info:
        load_seedv_features(tmp_path)
    assert info.value.path == tmp_path / FEATURE_DIR and info.value.fix


def test_missing_subjects_are_listed(tmp_path: Path) -> None:
    write_seedv_features(tiny_cohort(subjects=(1, 2)), tmp_path)
    with pytest.raises(DataFormatError, match=r"subject\(s\) \[3, 16\].*found \[1, 2\]"):
        load_seedv_features(tmp_path, subjects=[1, 3, 16])


def test_dict_without_45_keys_lists_missing_and_unexpected_keys(tmp_path: Path) -> None:
    data, label = trial_dicts()
    del data[7], data[30]
    data["extra"] = np.zeros((2, 310))
    path = write_file(tmp_path, 1, data, label)
    with pytest.raises(DataFormatError, match=r"missing trial keys: \[7, 30\].*'extra'") as info:
        load_seedv_features(tmp_path)
    assert info.value.path == path


def test_string_trial_keys_are_accepted(tmp_path: Path) -> None:
    data, label = trial_dicts()
    write_file(tmp_path, 1, {str(k): v for k, v in data.items()}, label)
    assert load_seedv_features(tmp_path).n_samples == 90


def test_wrong_feature_width(tmp_path: Path) -> None:
    write_file(tmp_path, 1, *trial_dicts(width=300))
    with pytest.raises(DataFormatError, match=r"data\[0\] has shape \(2, 300\).*310"):
        load_seedv_features(tmp_path)


def test_window_count_mismatch_between_data_and_label(tmp_path: Path) -> None:
    data, label = trial_dicts()
    label[12] = label[12][:1]
    write_file(tmp_path, 1, data, label)
    with pytest.raises(DataFormatError, match=r"trial 12: data has 2 windows but label"):
        load_seedv_features(tmp_path)


def test_missing_label_entry(tmp_path: Path) -> None:
    folder = tmp_path / FEATURE_DIR
    folder.mkdir()
    np.savez(folder / "1_123.npz", data=pickle.dumps(trial_dicts()[0]))
    with pytest.raises(DataFormatError, match=r"no 'label' entry \(entries: data\)"):
        load_seedv_features(tmp_path)


def test_truncated_file(tmp_path: Path) -> None:
    path = write_file(tmp_path, 1, *trial_dicts())
    payload = path.read_bytes()
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataFormatError, match="truncated") as info:
        load_seedv_features(tmp_path)
    assert info.value.path == path


def test_truncated_pickle_inside_a_valid_archive(tmp_path: Path) -> None:
    folder = tmp_path / FEATURE_DIR
    folder.mkdir()
    data, label = trial_dicts()
    np.savez(folder / "1_123.npz", data=pickle.dumps(data)[:-50], label=pickle.dumps(label))
    with pytest.raises(DataFormatError, match="truncated or not a pickle"):
        load_seedv_features(tmp_path)


class _Payload:
    """Unpickling this calls ``open(marker, 'w')``: creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _, label = trial_dicts()
    evil = pickle.dumps({k: _Payload(marker) for k in range(45)})
    for handle in pickle.loads(evil).values():  # the payload works: plain pickle runs it ...
        handle.close()
    assert marker.exists()
    marker.unlink()
    folder = tmp_path / FEATURE_DIR
    folder.mkdir()
    np.savez(folder / "1_123.npz", data=evil, label=pickle.dumps(label))
    with pytest.raises(UnsafePickleError, match=r"unpickle 'io\.open'.*nothing in it was executed"):
        load_seedv_features(tmp_path)
    assert not marker.exists()  # ... the loader does not


def test_labels_outside_0_to_4(tmp_path: Path) -> None:
    data, label = trial_dicts()
    label[9] = np.array([5, 5])
    write_file(tmp_path, 1, data, label)
    with pytest.raises(DataFormatError, match=r"trial 9: 2 labels outside 0..4"):
        load_seedv_features(tmp_path)


def test_labels_disagreeing_with_the_official_table(tmp_path: Path) -> None:
    data, label = trial_dicts()
    label[16], label[17] = label[17], label[16]  # two trials swapped (fear <-> neutral)
    write_file(tmp_path, 1, data, label)
    with pytest.raises(DataFormatError, match=r"trial 16 .*labelled \[3\].*official table says 1"):
        load_seedv_features(tmp_path)


def test_float_labels_and_column_labels_are_accepted(tmp_path: Path) -> None:
    data, label = trial_dicts()
    label = {k: v.astype(float)[:, None] for k, v in label.items()}
    write_file(tmp_path, 1, data, label)
    np.testing.assert_array_equal(load_seedv_features(tmp_path).label, np.repeat(TRIAL_LABELS, 2))


def _with_nonfinite(tmp_path: Path) -> None:
    data, label = trial_dicts(n_windows=4)
    for k in range(45):
        data[k][:] = np.arange(4)[:, None] + k  # linear in the window index
    data[2][1, 0] = np.nan
    data[40][3, 309] = np.inf
    write_file(tmp_path, 1, data, label)


def test_nonfinite_values_are_reported_with_counts_and_trials(tmp_path: Path) -> None:
    _with_nonfinite(tmp_path)
    with pytest.raises(DataFormatError, match=r"2 non-finite.*in trials \[2, 40\]") as info:
        load_seedv_features(tmp_path)
    assert "window=9, channel=0, band=0" in info.value.problem
    assert "nan_policy='drop'" in str(info.value.fix)


def test_nonfinite_drop_policy_drops_only_affected_windows(tmp_path: Path) -> None:
    _with_nonfinite(tmp_path)
    cohort = load_seedv_features(tmp_path, nan_policy="drop")
    assert cohort.n_samples == 45 * 4 - 2 and np.isfinite(cohort.data).all()
    assert list(cohort.window[cohort.stimulus == 2]) == [0, 2, 3]
    assert list(cohort.window[cohort.stimulus == 40]) == [0, 1, 2]


def test_nonfinite_interpolate_policy_fills_along_the_trial(tmp_path: Path) -> None:
    _with_nonfinite(tmp_path)
    cohort = load_seedv_features(tmp_path, nan_policy="interpolate")
    assert cohort.n_samples == 180
    trial2 = cohort.data[cohort.stimulus == 2]
    assert trial2[1, 0, 0] == pytest.approx(3.0)  # midway between windows 0 and 2 (2 and 4)
    assert cohort.data[cohort.stimulus == 40][3, 61, 4] == pytest.approx(42.0)  # edge: nearest


def test_loading_never_modifies_files(tmp_path: Path) -> None:
    write_seedv_features(tiny_cohort(), tmp_path)
    _with_nonfinite(tmp_path / "bad")
    before = digest(tmp_path)
    load_seedv_features(tmp_path)
    for policy in ("raise", "drop", "interpolate"):
        with contextlib.suppress(DataFormatError):
            load_seedv_features(tmp_path / "bad", nan_policy=policy)  # type: ignore[arg-type]
    assert digest(tmp_path) == before
