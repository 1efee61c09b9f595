"""FACED writers: the official file layout, row ordering, and refusals that leave files alone."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.data.conftest import (
    faced_feature_code,
    make_faced_features,
    make_faced_raw,
    planted_ratings,
)
from vaxis.data.faced import (
    load_faced_features,
    load_faced_raw,
    write_after_remarks,
    write_faced_features,
    write_faced_processed,
)


def test_raw_writer_orders_shuffled_rows_by_clip(tmp_path: Path) -> None:
    cohort = make_faced_raw([7], seed=3)
    shuffled = cohort.subset(np.random.default_rng(0).permutation(cohort.n_samples))
    write_faced_processed(shuffled, tmp_path)
    loaded = load_faced_raw(tmp_path, subjects=[7])
    np.testing.assert_array_equal(loaded.data, cohort.data)
    assert loaded.ratings is None and loaded.meta.rating_names == ()


def test_writers_refuse_to_overwrite(tmp_path: Path) -> None:
    cohort = make_faced_features([0])
    (path,) = write_faced_features(cohort, tmp_path)
    before = path.read_bytes()
    changed = cohort.with_data(cohort.data + 1)
    with pytest.raises(FileExistsError, match=r"sub000\.pkl\.pkl.*overwrite=True"):
        write_faced_features(changed, tmp_path)
    assert path.read_bytes() == before
    write_faced_features(changed, tmp_path, overwrite=True)
    np.testing.assert_array_equal(load_faced_features(tmp_path).data, cohort.data + 1)
    write_after_remarks(tmp_path, 0, planted_ratings(0), np.arange(28))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_after_remarks(tmp_path, 0, planted_ratings(0), np.arange(28))


def test_writers_refuse_incomplete_cohorts(tmp_path: Path) -> None:
    cohort = make_faced_features([0])
    with pytest.raises(ValueError, match="each of the 28 clips x 30 windows exactly once"):
        write_faced_features(cohort.subset(cohort.stimulus != 4), tmp_path)
    with pytest.raises(ValueError, match="needs a raw cohort"):
        write_faced_processed(cohort, tmp_path)
    with pytest.raises(ValueError, match="permutation"):
        write_after_remarks(tmp_path, 0, planted_ratings(0), np.zeros(28, dtype=int))
    assert not any(tmp_path.rglob("*.pkl*")) and not any(tmp_path.rglob("*.mat"))


def test_written_feature_file_is_the_official_layout(tmp_path: Path) -> None:
    (path,) = write_faced_features(make_faced_features([1]), tmp_path)
    with path.open("rb") as handle:  # our own file: plain pickle is fine here
        array = pickle.load(handle)
    assert isinstance(array, np.ndarray) and array.dtype == np.float64
    np.testing.assert_array_equal(array, faced_feature_code(1, *np.indices((28, 32, 30, 5))))
    assert path.read_bytes()[:2] == b"\x80\x02"  # pickle protocol 2, like the real files
