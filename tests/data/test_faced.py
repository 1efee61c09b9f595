"""FACED loaders: official layout round trips, label map, channels, NaN policies, bad input."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import (
    FacedFolder,
    faced_feature_code,
    make_faced_features,
    make_faced_raw,
    planted_ratings,
)
from vaxis.data.cohort import Cohort
from vaxis.data.datasets import (
    FACED_CHANNELS_WITH_MASTOIDS,
    FACED_CLASSES,
    FACED_CLIP_LABELS,
    FACED_SCALP_CHANNELS,
    faced_stimulus_names,
)
from vaxis.data.faced import (
    SYNTHETIC_MARKER,
    iter_faced_raw,
    load_faced_features,
    load_faced_ratings,
    load_faced_raw,
    write_faced_features,
    write_faced_processed,
)
from vaxis.errors import DataFormatError, UnsafePickleError

DE = Path("EEG_Features", "DE")


def _write_pickle(path: Path, value: object, protocol: int = 2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value, protocol=protocol))
    return path


def _de_file(root: Path, subject: int) -> Path:
    return root / DE / f"sub{subject:03d}.pkl.pkl"


def _de_array(subject: int) -> np.ndarray:
    """The official-layout (28, 32, 30, 5) array of a coded subject."""
    clip, channel, second, band = np.indices((28, 32, 30, 5))
    return faced_feature_code(subject, clip, channel, second, band).astype(np.float64)


def _row(cohort: Cohort, subject: int, clip: int, second: int) -> int:
    (row,) = np.flatnonzero(
        (cohort.subject == subject) & (cohort.stimulus == clip) & (cohort.window == second)
    )
    return int(row)


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ------------------------------------------------------------------------------- features
def test_features_every_value_lands_at_its_subject_clip_second(faced_folder: FacedFolder) -> None:
    cohort = load_faced_features(faced_folder.root)
    assert cohort.n_samples == 3 * 28 * 30
    np.testing.assert_array_equal(cohort.subjects, [0, 1, 2])
    expected = faced_feature_code(
        cohort.subject[:, None, None],
        cohort.stimulus[:, None, None],
        np.arange(32)[None, :, None],
        cohort.window[:, None, None],
        np.arange(5)[None, None, :],
    )
    np.testing.assert_array_equal(cohort.data, expected)
    assert cohort.data.dtype == np.float32
    # every (subject, clip, second) exactly once
    keys = (cohort.subject * 28 + cohort.stimulus) * 30 + cohort.window
    np.testing.assert_array_equal(np.sort(keys), np.arange(3 * 28 * 30))
    meta = cohort.meta
    assert (meta.dataset, meta.kind, meta.feature) == ("faced", "features", "de")
    assert (meta.sfreq, meta.window_seconds) == (1.0, 1.0)
    assert meta.channel_names == FACED_CHANNELS_WITH_MASTOIDS
    assert meta.band_names == ("delta", "theta", "alpha", "beta", "gamma")
    assert meta.stimulus_names == faced_stimulus_names()
    assert meta.provenance["files"] == ["sub000.pkl.pkl", "sub001.pkl.pkl", "sub002.pkl.pkl"]
    assert meta.provenance["loader"] == "vaxis.data.faced.load_faced_features"
    assert not meta.synthetic
    assert (cohort.session == 0).all()


def test_label_map_is_the_official_one(faced_folder: FacedFolder) -> None:
    cohort = load_faced_features(faced_folder.root, subjects=[1])
    by_clip = {int(c): int(lab) for c, lab in zip(cohort.stimulus, cohort.label, strict=True)}
    assert FACED_CLASSES[by_clip[15]] == "neutral"
    assert FACED_CLASSES[by_clip[16]] == "amusement"
    assert FACED_CLASSES[by_clip[0]] == "anger"
    assert FACED_CLASSES[by_clip[27]] == "tenderness"
    np.testing.assert_array_equal(cohort.label, np.asarray(FACED_CLIP_LABELS)[cohort.stimulus])
    # docs/REFERENCE.md sec. 2.2: clips 0-11 negative, 12-15 neutral, 16-27 positive
    expected_valence = np.select([cohort.stimulus < 12, cohort.stimulus < 16], [-1, 0], 1)
    np.testing.assert_array_equal(cohort.valence, expected_valence)
    assert np.bincount(cohort.label).tolist() == [90, 90, 90, 90, 120, 90, 90, 90, 90]


@pytest.mark.parametrize("where", ["root", "EEG_Features", "EEG_Features/DE"])
def test_features_root_may_be_any_folder_along_the_path(
    faced_folder: FacedFolder, where: str
) -> None:
    path = faced_folder.root if where == "root" else faced_folder.root / where
    cohort = load_faced_features(path, subjects=[0])
    assert cohort.n_samples == 28 * 30
    assert cohort.ratings is not None  # the dataset root was found from below
    assert cohort.meta.provenance["source"] == str((faced_folder.root / DE).absolute())


def test_feature_folder_of_the_other_kind_is_refused(faced_folder: FacedFolder) -> None:
    with pytest.raises(DataFormatError, match="EEG_Features/PSD"):
        load_faced_features(faced_folder.root / DE, feature="psd")
    with pytest.raises(ValueError, match="feature must be"):
        load_faced_features(faced_folder.root, feature="lds")


def test_psd_writes_and_loads_from_its_own_folder(tmp_path: Path) -> None:
    cohort = make_faced_features([4])
    psd = cohort.with_data(cohort.data, feature="psd")
    (path,) = write_faced_features(psd, tmp_path, feature="psd")
    assert path == tmp_path / "EEG_Features" / "PSD" / "sub004.pkl.pkl"
    loaded = load_faced_features(tmp_path, feature="psd", subjects=[4])
    assert loaded.meta.feature == "psd"
    np.testing.assert_array_equal(loaded.data, cohort.data)
    with pytest.raises(ValueError, match="holds 'psd' features"):
        write_faced_features(psd, tmp_path / "other", feature="de")


def test_channels_are_selected_by_name(faced_folder: FacedFolder) -> None:
    scalp = load_faced_features(faced_folder.root, subjects=[0], channels=FACED_SCALP_CHANNELS)
    assert scalp.meta.channel_names == FACED_SCALP_CHANNELS
    full = load_faced_features(faced_folder.root, subjects=[0])
    np.testing.assert_array_equal(scalp.data, full.data[:, :30])
    two = load_faced_features(faced_folder.root, subjects=[0], channels=["cz", "A1"])
    assert two.meta.channel_names == ("Cz", "A1")
    np.testing.assert_array_equal(two.data, full.data[:, [11, 31]])
    with pytest.raises(DataFormatError, match="channels missing: Fpz"):
        load_faced_features(faced_folder.root, subjects=[0], channels=["Fpz"])


def test_thirty_channel_file_is_taken_as_scalp_only(tmp_path: Path) -> None:
    _write_pickle(_de_file(tmp_path, 0), _de_array(0)[:, :30])
    cohort = load_faced_features(tmp_path)
    assert cohort.meta.channel_names == FACED_SCALP_CHANNELS
    np.testing.assert_array_equal(
        cohort.data[0, :, 0], faced_feature_code(0, 0, np.arange(30), 0, 0)
    )


def test_subjects_come_from_file_names_and_selection(faced_folder: FacedFolder) -> None:
    cohort = load_faced_features(faced_folder.root, subjects=[2, 0])
    np.testing.assert_array_equal(cohort.subjects, [0, 2])
    # subject 2's values are subject 2's codes: ids were read from the file names
    assert cohort.data[_row(cohort, 2, 5, 9), 7, 3] == faced_feature_code(2, 5, 7, 9, 3)


def test_requested_subjects_missing_or_invalid_are_listed(faced_folder: FacedFolder) -> None:
    with pytest.raises(DataFormatError, match="missing: sub005, sub050"):
        load_faced_features(faced_folder.root, subjects=[0, 5, 50])
    with pytest.raises(DataFormatError, match=r"\[200\] are not FACED subjects"):
        load_faced_features(faced_folder.root, subjects=[0, 200])


def test_gaps_and_extras_are_listed(tmp_path: Path) -> None:
    for subject in (0, 3, 4):
        _write_pickle(_de_file(tmp_path, subject), _de_array(subject))
    with pytest.raises(DataFormatError, match=r"expected sub000..sub004, missing: sub001, sub002"):
        load_faced_features(tmp_path)
    assert load_faced_features(tmp_path, subjects=[0, 3]).subjects.tolist() == [0, 3]
    _write_pickle(_de_file(tmp_path, 123), _de_array(0))
    with pytest.raises(DataFormatError, match="unexpected subject files: sub123"):
        load_faced_features(tmp_path, subjects=[0])


def test_missing_folder_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no FACED folder EEG_Features/DE") as error:
        load_faced_features(tmp_path)
    assert error.value.path == tmp_path and "syn50614194" in str(error.value)
    (tmp_path / DE).mkdir(parents=True)
    with pytest.raises(DataFormatError, match="no subject files") as error:
        load_faced_features(tmp_path)
    assert error.value.path == (tmp_path / DE).absolute()


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((27, 32, 30, 5), r"shape \(27, 32, 30, 5\)"),
        ((28, 31, 30, 5), "holds 31 channels"),
        ((28, 32, 29, 5), r"expected \(28, \*, 30, 5\)"),
    ],
)
def test_wrong_feature_shape_names_the_file(tmp_path: Path, shape: tuple, message: str) -> None:
    path = _write_pickle(_de_file(tmp_path, 0), np.zeros(shape))
    with pytest.raises(DataFormatError, match=message) as error:
        load_faced_features(tmp_path)
    assert error.value.path == path.absolute()


def test_truncated_feature_pickle(tmp_path: Path) -> None:
    path = _write_pickle(_de_file(tmp_path, 0), _de_array(0))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataFormatError, match="truncated") as error:
        load_faced_features(tmp_path)
    assert error.value.path == path.absolute()


def test_pickle_that_is_not_an_array(tmp_path: Path) -> None:
    _write_pickle(_de_file(tmp_path, 0), {"de": [1, 2]})
    with pytest.raises(DataFormatError, match="expected a numeric numpy array, found dict"):
        load_faced_features(tmp_path)


class _Creates:
    """Unpickling this calls ``open(marker, "w")``: a visible side effect if code ever ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("folder", ["features", "raw"])
def test_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path: Path, folder: str) -> None:
    marker = tmp_path / "marker"
    if folder == "features":
        path, load = _de_file(tmp_path, 0), load_faced_features
    else:
        path, load = tmp_path / "Processed_data" / "sub000.pkl", load_faced_raw
    _write_pickle(path, [np.zeros(3), _Creates(marker)])
    with pytest.raises(UnsafePickleError, match=r"refusing to unpickle 'io\.open'"):
        load(tmp_path)
    assert not marker.exists()


def test_nonfinite_features_raise_with_counts_and_locations(tmp_path: Path) -> None:
    array = _de_array(0)
    array[3, 5, 7, 2] = np.nan
    array[20, 0, 29, 4] = np.inf
    _write_pickle(_de_file(tmp_path, 0), array)
    where = r"2 non-finite values .* first at \(clip=3, second=7, channel=5, band=2\)"
    with pytest.raises(DataFormatError, match=where) as error:
        load_faced_features(tmp_path)
    assert "nan-policy drop" in str(error.value)


def test_nonfinite_features_drop_removes_exactly_the_affected_windows(tmp_path: Path) -> None:
    array = _de_array(0)
    array[3, 5, 7, 2] = np.nan
    array[3, 9, 7, 0] = np.nan  # same window: dropped once
    array[20, 0, 29, 4] = -np.inf
    _write_pickle(_de_file(tmp_path, 0), array)
    with pytest.warns(UserWarning, match=r"nan_policy='drop' in sub000.pkl.pkl \(3\)"):
        cohort = load_faced_features(tmp_path, nan_policy="drop")
    gone = {(3, 7), (20, 29)}
    kept = set(zip(cohort.stimulus.tolist(), cohort.window.tolist(), strict=True))
    assert kept == {(c, s) for c in range(28) for s in range(30)} - gone
    assert np.isfinite(cohort.data).all()
    assert cohort.meta.provenance["nonfinite"] == {"sub000.pkl.pkl": 3}


def test_nonfinite_features_interpolate_along_seconds(tmp_path: Path) -> None:
    array = _de_array(0)
    array[3, 5, 7, 2] = np.nan  # codes are linear in the second: interpolation is exact
    array[3, 5, 0, 2] = np.nan  # at the edge: takes the nearest finite value
    _write_pickle(_de_file(tmp_path, 0), array)
    with pytest.warns(UserWarning, match="interpolate"):
        cohort = load_faced_features(tmp_path, nan_policy="interpolate")
    assert cohort.data[_row(cohort, 0, 3, 7), 5, 2] == faced_feature_code(0, 3, 5, 7, 2)
    assert cohort.data[_row(cohort, 0, 3, 0), 5, 2] == faced_feature_code(0, 3, 5, 1, 2)
    assert cohort.n_samples == 28 * 30


def test_loading_never_touches_the_files(faced_folder: FacedFolder) -> None:
    before = _snapshot(faced_folder.root)
    load_faced_features(faced_folder.root, nan_policy="interpolate")
    load_faced_raw(faced_folder.root, subjects=[0], nan_policy="interpolate")
    load_faced_ratings(faced_folder.root)
    assert _snapshot(faced_folder.root) == before


def test_synthetic_folders_are_labelled_synthetic(tmp_path: Path) -> None:
    write_faced_features(make_faced_features([0], synthetic=True), tmp_path)
    assert (tmp_path / SYNTHETIC_MARKER).is_file()
    assert load_faced_features(tmp_path).meta.synthetic
    write_faced_features(make_faced_features([0]), tmp_path / "real")
    assert not load_faced_features(tmp_path / "real").meta.synthetic


# ------------------------------------------------------------------------------------ raw
def test_raw_round_trip_one_subject_at_a_time(faced_folder: FacedFolder) -> None:
    stream = iter_faced_raw(faced_folder.root)
    first = next(stream)
    assert first.subjects.tolist() == [0]
    np.testing.assert_array_equal(first.data, faced_folder.raw.for_subjects([0]).data)
    np.testing.assert_array_equal(first.stimulus, np.arange(28))
    np.testing.assert_array_equal(first.label, FACED_CLIP_LABELS)
    assert (first.meta.kind, first.meta.sfreq, first.data.shape) == ("raw", 250.0, (28, 32, 7500))
    assert first.meta.channel_names == FACED_CHANNELS_WITH_MASTOIDS
    assert first.ratings is not None and first.ratings.shape == (1, 28, 12)
    np.testing.assert_array_equal(first.ratings[0], planted_ratings(0))
    second = next(stream)
    assert second.subjects.tolist() == [1]
    np.testing.assert_array_equal(second.data, faced_folder.raw.for_subjects([1]).data)
    assert next(stream, None) is None


def test_raw_problems_surface_per_subject_while_streaming(tmp_path: Path) -> None:
    write_faced_processed(make_faced_raw([0, 1]), tmp_path)
    bad = tmp_path / "Processed_data" / "sub001.pkl"
    bad.write_bytes(bad.read_bytes()[:1000])
    stream = iter_faced_raw(tmp_path)  # files are listed and checked up front ...
    assert next(stream).subjects.tolist() == [0]  # ... but read one subject at a time
    with pytest.raises(DataFormatError, match="truncated"):
        next(stream)
    with pytest.raises(DataFormatError, match="missing: sub002"):
        iter_faced_raw(tmp_path, subjects=[0, 2])  # raised at the call, before iterating


def test_raw_channel_selection_and_concatenation(faced_folder: FacedFolder) -> None:
    cohort = load_faced_raw(faced_folder.root, channels=FACED_SCALP_CHANNELS)
    assert cohort.meta.channel_names == FACED_SCALP_CHANNELS
    np.testing.assert_array_equal(cohort.data, faced_folder.raw.data[:, :30])
    np.testing.assert_array_equal(cohort.subject, np.repeat([0, 1], 28))
    assert cohort.meta.provenance["files"] == ["sub000.pkl", "sub001.pkl"]
    assert cohort.meta.provenance["loader"] == "vaxis.data.faced.load_faced_raw"
    assert cohort.ratings is not None and cohort.rating_subjects.tolist() == [0, 1]


def test_raw_channel_counts(tmp_path: Path) -> None:
    folder = tmp_path / "Processed_data"
    _write_pickle(folder / "sub000.pkl", np.zeros((28, 32, 7500), np.float32))
    _write_pickle(folder / "sub001.pkl", np.ones((28, 30, 7500), np.float32))
    with pytest.raises(DataFormatError, match="differ in channel count"):
        load_faced_raw(tmp_path)
    cohort = load_faced_raw(tmp_path, channels=FACED_SCALP_CHANNELS)
    assert cohort.data.shape == (56, 30, 7500) and cohort.data[28:].min() == 1.0
    assert next(iter_faced_raw(tmp_path, subjects=[1])).meta.channel_names == FACED_SCALP_CHANNELS
    _write_pickle(folder / "sub001.pkl", np.ones((28, 31, 7500), np.float32))
    with pytest.raises(DataFormatError, match="holds 31 channels"):
        load_faced_raw(tmp_path, subjects=[1])


@pytest.mark.parametrize("shape", [(27, 32, 7500), (28, 32, 7499)])
def test_wrong_raw_shape_names_the_file(tmp_path: Path, shape: tuple) -> None:
    path = _write_pickle(tmp_path / "Processed_data" / "sub000.pkl", np.zeros(shape, np.float32))
    with pytest.raises(DataFormatError, match=r"expected \(28, \*, 7500\)") as error:
        load_faced_raw(tmp_path)
    assert error.value.path == path.absolute()


def test_nonfinite_raw_policies(tmp_path: Path) -> None:
    ramp = np.broadcast_to(np.arange(7500, dtype=np.float32), (28, 32, 7500)).copy()
    ramp[4, 6, 100] = np.nan
    ramp[9, 0, 7499] = np.inf
    _write_pickle(tmp_path / "Processed_data" / "sub000.pkl", ramp)
    with pytest.raises(
        DataFormatError, match=r"2 non-finite .* at \(clip=4, channel=6, sample=100\)"
    ):
        load_faced_raw(tmp_path)
    with pytest.warns(UserWarning):
        dropped = load_faced_raw(tmp_path, nan_policy="drop")
    np.testing.assert_array_equal(dropped.stimulus, [c for c in range(28) if c not in (4, 9)])
    np.testing.assert_array_equal(dropped.label, np.asarray(FACED_CLIP_LABELS)[dropped.stimulus])
    with pytest.warns(UserWarning):
        filled = load_faced_raw(tmp_path, nan_policy="interpolate")
    assert filled.data[4, 6, 100] == 100.0 and filled.data[9, 0, 7499] == 7498.0
    assert filled.meta.provenance["nonfinite"] == {"sub000.pkl": 2}


def test_missing_raw_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no FACED folder Processed_data"):
        next(iter_faced_raw(tmp_path))
