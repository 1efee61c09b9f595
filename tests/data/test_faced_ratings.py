"""FACED ratings: After_remarks.mat read by field name, play order mapped to clip index."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tests.data.conftest import FacedFolder, planted_ratings, presentation_order
from vaxis.data.datasets import FACED_RATINGS
from vaxis.data.faced import (
    load_faced_features,
    load_faced_ratings,
    read_after_remarks,
    write_after_remarks,
)
from vaxis.data.faced_ratings import load_presentation_orders
from vaxis.errors import DataFormatError


def test_ratings_are_mapped_from_play_order_to_clip_index(faced_folder: FacedFolder) -> None:
    ratings, subjects = load_faced_ratings(faced_folder.root)
    np.testing.assert_array_equal(subjects, [0, 1, 2])
    assert ratings.shape == (3, 28, 12)
    for i, subject in enumerate(subjects):
        np.testing.assert_array_equal(ratings[i], planted_ratings(int(subject)))


def test_known_rating_lands_at_its_clip(tmp_path: Path) -> None:
    order = np.roll(np.arange(28), -16)  # clip 16 is played first, clip 15 last
    ratings = np.zeros((28, 12))
    ratings[16] = np.arange(1, 13)
    path = write_after_remarks(tmp_path, 5, ratings, order)
    raw = scipy.io.loadmat(path)["After_remark"]  # as public code reads the real files
    assert raw.shape == (28, 1) and raw.dtype.names[:3] == ("score", "trial", "vid")
    assert raw[0, 0]["vid"].item() == 17 and raw[0][0][2].item() == 17  # 1-based, like FACED
    np.testing.assert_array_equal(raw[0, 0]["score"].ravel(), np.arange(1, 13))
    loaded = read_after_remarks(path)
    np.testing.assert_array_equal(loaded[16], np.arange(1, 13))
    assert not loaded[np.arange(28) != 16].any()


def test_zero_based_vids_and_cell_arrays_read_the_same(tmp_path: Path) -> None:
    ratings, order = planted_ratings(3), presentation_order(3)
    zero = write_after_remarks(tmp_path / "zero", 3, ratings, order, vid_base=0)
    np.testing.assert_array_equal(read_after_remarks(zero), ratings)
    cells = np.empty((1, 28), dtype=object)
    for i, clip in enumerate(order):
        cells[0, i] = {"score": ratings[clip], "vid": float(clip + 1)}
    path = tmp_path / "cells.mat"
    scipy.io.savemat(path, {"After_remark": cells})
    np.testing.assert_array_equal(read_after_remarks(path), ratings)


@pytest.mark.parametrize(
    ("vid", "message"), [(29.0, r"out of range .*29\.0"), (5.0, r"repeated \[5\.0\]")]
)
def test_bad_vids_fail(tmp_path: Path, vid: float, message: str) -> None:
    path = write_after_remarks(tmp_path, 0, planted_ratings(0), np.arange(28))
    content = scipy.io.loadmat(path)
    content["After_remark"][27, 0]["vid"] = np.array([[vid]])
    scipy.io.savemat(path, {"After_remark": content["After_remark"]})
    with pytest.raises(DataFormatError, match=message) as error:
        read_after_remarks(path)
    assert error.value.path == path


def test_broken_ratings_files(tmp_path: Path) -> None:
    path = write_after_remarks(tmp_path, 0, planted_ratings(0), np.arange(28))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataFormatError, match="cannot read MATLAB file"):
        load_faced_ratings(tmp_path)
    scipy.io.savemat(path, {"other": np.zeros(3)})
    with pytest.raises(DataFormatError, match="no variable 'After_remark'"):
        read_after_remarks(path)
    with pytest.raises(DataFormatError, match=r"missing After_remarks\.mat for: sub001"):
        load_faced_ratings(tmp_path, subjects=[0, 1])
    with pytest.raises(DataFormatError, match="no Data/ folder"):
        load_faced_ratings(tmp_path / "elsewhere")


def test_ratings_attach_to_features_and_partial_sets_warn(
    faced_folder: FacedFolder, tmp_path: Path
) -> None:
    cohort = load_faced_features(faced_folder.root, subjects=[0, 2])
    assert cohort.meta.rating_names == FACED_RATINGS
    np.testing.assert_array_equal(cohort.rating_subjects, [0, 2])
    np.testing.assert_array_equal(cohort.ratings[1], planted_ratings(2))
    shutil.copytree(faced_folder.root / "EEG_Features", tmp_path / "EEG_Features")
    shutil.copytree(faced_folder.root / "Data", tmp_path / "Data")
    (tmp_path / "Data" / "sub001" / "After_remarks.mat").unlink()
    with pytest.warns(UserWarning, match="no After_remarks.mat for sub001"):
        partial = load_faced_features(tmp_path)
    np.testing.assert_array_equal(partial.rating_subjects, [0, 2])


def test_presentation_order_is_the_play_order(faced_folder: FacedFolder) -> None:
    orders = load_presentation_orders(faced_folder.root, [0, 2])
    np.testing.assert_array_equal(orders[0], presentation_order(0))
    np.testing.assert_array_equal(orders[2], presentation_order(2))
    assert not np.array_equal(orders[0], np.arange(28)), "fixture order must be shuffled"
