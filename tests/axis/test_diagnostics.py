"""The diagnosis passes a planted valence axis and flags content, reversal and noise."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tests.axis.planted import NAMES, VALENCE, planted, planted_layers
from vaxis.axis.axis import VAxis
from vaxis.axis.diagnostics import (
    MIN_SPEARMAN,
    AxisDiagnosis,
    AxisWarning,
    centroid_variance_share,
    diagnose,
)
from vaxis.axis.methods import class_centroids, get_method

FACED_SIGNS = np.array([-1, -1, -1, -1, 0, 1, 1, 1, 1], dtype=float)


def _diagnose(positions: np.ndarray, valence: np.ndarray = VALENCE) -> AxisDiagnosis:
    return diagnose(positions, valence, 0.5, NAMES, layer=29, method="centroid_pca")


def test_variance_share_by_hand() -> None:
    centroids = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])  # total 10
    assert centroid_variance_share(centroids, np.array([1.0, 0.0])) == pytest.approx(0.2)
    assert centroid_variance_share(centroids, np.array([0.0, 1.0])) == pytest.approx(0.8)
    diagonal = np.array([1.0, 1.0]) / np.sqrt(2)  # projections +-1/sqrt2, +-2/sqrt2: 5 of 10
    assert centroid_variance_share(centroids, diagonal) == pytest.approx(0.5)
    assert np.isnan(centroid_variance_share(np.ones((3, 2)), diagonal))


def test_variance_share_of_pc1_is_its_explained_variance() -> None:
    p = planted(seed=1, offset=2.0)
    pca = get_method("centroid_pca")(p.states, p.class_index, VALENCE)
    centroids = class_centroids(p.states, p.class_index, 9)
    assert centroid_variance_share(centroids, pca.vector) == pytest.approx(pca.explained_variance)


def test_perfect_order_is_ok() -> None:
    d = _diagnose(VALENCE * 2.0 + 1.0)
    assert (d.spearman, d.kendall) == pytest.approx((1.0, 1.0))
    assert d.positives_above_negatives is True
    assert d.ok and d.warnings == ()
    # FACED's tied valence signs: ranks 1..9 against 2.5 x4, 5, 7.5 x4 give 50 / sqrt(60 * 50).
    signs = _diagnose(np.arange(9.0), FACED_SIGNS)
    assert signs.spearman == pytest.approx(50 / np.sqrt(3000)) and signs.ok


def test_content_order_is_flagged_with_a_hint() -> None:
    content = np.array([0.3, -1.0, 2.0, 0.1, -0.5, 1.2, -2.0, 0.0, 0.9])  # not valence
    d = _diagnose(content)
    assert not d.ok
    assert d.spearman < MIN_SPEARMAN
    assert d.positives_above_negatives is False
    assert "centroid_pca at layer 29 does not order the 9 classes by valence" in d.warnings[0]
    assert "follows story content; try method='ridge_score'" in d.warnings[0]
    # Negative classes above the lowest positive class (inspiration, -2.0): all four.
    assert "anger, disgust, fear, sadness" in d.warnings[1]
    assert "positive class inspiration" in d.warnings[1]


def test_one_swap_breaks_positive_above_negative() -> None:
    positions = VALENCE.copy()
    positions[[3, 5]] = positions[[5, 3]]  # sadness and amusement trade places
    d = _diagnose(positions)
    assert d.spearman >= MIN_SPEARMAN
    assert not d.ok
    assert (
        len(d.warnings) == 1
        and "sadness project at or above the positive class amusement" in d.warnings[0]
    )


def test_reversed_axis_and_constant_positions() -> None:
    reversed_ = _diagnose(-VALENCE)
    assert "reversed; check sign_reference" in reversed_.warnings[0]
    flat = _diagnose(np.zeros(9))
    assert np.isnan(flat.spearman) and not flat.ok


def test_no_negative_class_leaves_separation_undecided() -> None:
    d = _diagnose(VALENCE, np.abs(VALENCE))
    assert d.positives_above_negatives is None


def test_round_trip_through_json() -> None:
    d = _diagnose(np.zeros(9))
    again = AxisDiagnosis.from_dict(json.loads(json.dumps(d.to_dict(), allow_nan=False)))
    assert again.warnings == d.warnings and np.isnan(again.spearman) and again.ok == d.ok


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match="one entry per class"):
        _diagnose(np.zeros(8))


def test_vaxis_warns_for_content_pca_but_not_for_mean_difference() -> None:
    # Centroids differ mostly along story content (docs/REFERENCE.md sec. 5.3). Grouped by
    # paraphrase, so each story's content stays in training and only the valence ordering is tested.
    p = planted_layers(seed=2, n_layers=3, valence_layers=(0, 1, 2), signal=1.0, content=10.0)
    with pytest.warns(AxisWarning, match="follows story content"):
        pca = VAxis(method="centroid_pca", layer=2).fit(p.states, p.class_index, VALENCE, p.groups)
    assert not pca.diagnosis_.ok
    with warnings.catch_warnings():
        warnings.simplefilter("error", AxisWarning)
        diff = VAxis().fit(p.states, p.class_index, VALENCE, p.groups)
    assert diff.diagnosis_.ok
    assert diff.directions_[diff.layer_] @ p.u[diff.layer_] > 0.95


def test_vaxis_warns_when_nothing_was_planted() -> None:
    rng = np.random.default_rng(5)
    class_index = np.repeat(np.arange(9), 20)
    offsets = rng.normal(size=(9, 2, 32))  # stories differ, but not by valence
    states = offsets[class_index] + 0.3 * rng.normal(size=(len(class_index), 2, 32))
    with pytest.warns(AxisWarning, match="does not order the 9 classes"):
        axis = VAxis(layer=1).fit(states, class_index, VALENCE)
    assert axis.diagnosis_.held_out and not axis.diagnosis_.ok
    # In-sample the same axis looks perfect: why the diagnosis uses held-out positions.
    assert diagnose(axis.class_positions_[1], VALENCE, 0.0, NAMES, 1, "mean_difference").ok
