"""Shared loader checks: shapes, channel selection by name, the NaN/Inf policies."""

from __future__ import annotations

import numpy as np
import pytest

from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.data.validation import (
    apply_nan_policy,
    check_shape,
    handle_nonfinite,
    select_channels,
)
from vaxis.errors import DataFormatError, NonFiniteError


def test_check_shape_names_file_and_expected_shape() -> None:
    check_shape(np.zeros((28, 32, 7500)), (28, 32, None), "sub000.pkl", "clip array")
    with pytest.raises(
        DataFormatError, match=r"sub001\.pkl: clip array has shape \(27, 32, 7500\)"
    ):
        check_shape(np.zeros((27, 32, 7500)), (28, 32, None), "sub001.pkl", "clip array")
    with pytest.raises(DataFormatError, match=r"expected \(28, 32, \*\)"):
        check_shape(np.zeros((28, 32)), (28, 32, None), "x", "clip array")


def test_select_channels_by_name_in_any_order() -> None:
    names = ["Fp1", "A2", "Oz", "A1", "Cz"]
    np.testing.assert_array_equal(select_channels(names, ["CZ", "oz", "Fp1"], "f"), [4, 2, 0])
    with pytest.raises(DataFormatError, match="channels missing: Pz, O2"):
        select_channels(names, ["Cz", "Pz", "O2"], "f")


def test_nan_policy_raise_reports_count_and_location() -> None:
    x = np.ones((3, 2, 10))
    x[1, 0, 4] = np.nan
    x[2, 1, 0] = np.inf
    with pytest.raises(
        DataFormatError, match=r"2 non-finite values .* \(trial=1, channel=0, t=4\)"
    ):
        handle_nonfinite(x, "f", "raise", ("trial", "channel", "t"))


def test_nan_policy_drop_marks_only_affected_rows_and_leaves_input_alone() -> None:
    x = np.ones((4, 2, 10))
    x[2, 1, 3] = np.nan
    before = x.copy()
    out, keep = handle_nonfinite(x, "f", "drop", ("trial", "channel", "t"))
    np.testing.assert_array_equal(keep, [True, True, False, True])
    np.testing.assert_array_equal(x, before)
    assert out is x


def test_nan_policy_interpolate_is_linear_along_time() -> None:
    t = np.arange(10, dtype=float)
    x = np.stack([np.stack([2 * t, t + 1])])  # (1, 2, 10)
    x[0, 0, [3, 4]] = np.nan
    x[0, 1, 0] = np.nan  # edge: takes the nearest finite value
    out, keep = handle_nonfinite(x, "f", "interpolate", ("trial", "channel", "t"))
    assert keep.all()
    np.testing.assert_allclose(out[0, 0], 2 * t)
    assert out[0, 1, 0] == 2.0
    assert np.isnan(x[0, 0, 3]), "input must not be modified"


def test_interpolate_refuses_an_all_nan_series() -> None:
    x = np.ones((1, 2, 5))
    x[0, 1] = np.nan
    with pytest.raises(DataFormatError, match="whole series"):
        handle_nonfinite(x, "f", "interpolate", ("trial", "channel", "t"))


def _shuffled_features() -> Cohort:
    """A small feature cohort with its rows out of order (the policy must not rely on it)."""
    cohort, _ = synthesize_features(SynthConfig(n_subjects=4, n_windows=5, seed=1))
    return cohort.subset(np.random.default_rng(0).permutation(cohort.n_samples))


def test_apply_nan_policy_raises_drops_or_interpolates_along_a_trials_windows() -> None:
    cohort = _shuffled_features()
    trial = np.flatnonzero((cohort.subject == 2) & (cohort.stimulus == 7))
    trial = trial[np.argsort(cohort.window[trial])]  # windows 0..4 of one clip
    other = int(np.flatnonzero(cohort.subject == 0)[0])
    data = cohort.data.copy()
    data[trial[2], 3, 1], data[other, 0, 4] = np.nan, np.inf
    broken = cohort.with_data(data)
    refused = r"(?s)2 non-finite values .*--nan-policy drop"
    with pytest.raises(NonFiniteError, match=refused) as caught:
        apply_nan_policy(broken, "raise", "x.cohort.h5")
    assert "x.cohort.h5" in str(caught.value)
    dropped = apply_nan_policy(broken, "drop", None)
    assert dropped.n_samples == cohort.n_samples - 2 and np.isfinite(dropped.data).all()
    kept = set(zip(dropped.subject, dropped.stimulus, dropped.window, strict=True))
    assert (2, 7, int(cohort.window[trial[2]])) not in kept
    filled = apply_nan_policy(broken, "interpolate", None)
    assert filled.n_samples == cohort.n_samples and np.isfinite(filled.data).all()
    expected = (data[trial[1], 3, 1] + data[trial[3], 3, 1]) / 2  # linear between neighbours
    assert filled.data[trial[2], 3, 1] == pytest.approx(expected, rel=1e-6)
    untouched = np.isfinite(data)
    np.testing.assert_array_equal(filled.data[untouched], data[untouched])
    assert np.isnan(broken.data[trial[2], 3, 1])  # the input is not modified
    assert filled.meta.provenance["nan_policy"] == "interpolate"
    assert apply_nan_policy(cohort, "raise", None) is cohort  # nothing to do: the same cohort
