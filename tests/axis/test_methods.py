"""Every direction method recovers a planted valence direction, with one sign convention."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import vaxis.axis.methods as methods_pkg
from tests.axis.planted import VALENCE, planted
from vaxis.axis.methods import METHODS, DegenerateDirectionError, class_centroids, get_method

ALL_METHODS = sorted(METHODS)
JOY, ANGER = 7, 0


def test_every_method_file_is_registered_and_parametrised() -> None:
    folder = Path(methods_pkg.__file__).parent
    files = {p.stem for p in folder.glob("*.py")} - {"__init__", "base"}
    assert files == set(METHODS) == set(ALL_METHODS)


@pytest.mark.parametrize("name", ALL_METHODS)
def test_recovers_planted_direction_with_sign(name: str) -> None:
    p = planted(seed=1)
    direction = get_method(name)(p.states, p.class_index, VALENCE)
    assert direction.method == name
    assert np.linalg.norm(direction.vector) == pytest.approx(1.0)
    assert direction.vector @ p.u > 0.99  # positive: higher valence projects higher


@pytest.mark.parametrize("name", ALL_METHODS)
def test_sign_reference_class_projects_above_the_mean(name: str) -> None:
    p = planted(seed=2)
    method = get_method(name)
    assert method(p.states, p.class_index, VALENCE, sign_reference=JOY).vector @ p.u > 0.99
    # Anger projects below the mean on the true axis, so asking it to be above flips the sign.
    assert method(p.states, p.class_index, VALENCE, sign_reference=ANGER).vector @ p.u < -0.99


@pytest.mark.parametrize("name", ALL_METHODS)
def test_identical_states_have_no_direction(name: str) -> None:
    p = planted(seed=3)
    flat = np.ones_like(p.states)
    with pytest.raises(DegenerateDirectionError):
        get_method(name)(flat, p.class_index, VALENCE)


def test_centroid_pca_explained_variance_matches_svd() -> None:
    p = planted(seed=4, offset=2.0)
    direction = get_method("centroid_pca")(p.states, p.class_index, VALENCE)
    centroids = np.stack([p.states[p.class_index == c].mean(axis=0) for c in range(9)])
    _, s, vt = np.linalg.svd(centroids - centroids.mean(axis=0))
    assert direction.explained_variance == pytest.approx(s[0] ** 2 / np.sum(s**2))
    assert abs(direction.vector @ vt[0]) == pytest.approx(1.0)


def test_content_direction_fools_centroid_pca_but_not_mean_difference() -> None:
    # Centroids differ mostly along a content direction w that carries no valence
    # (docs/REFERENCE.md sec. 5.3).
    p = planted(seed=5, signal=1.0, content=10.0)
    pca = get_method("centroid_pca")(p.states, p.class_index, VALENCE)
    diff = get_method("mean_difference")(p.states, p.class_index, VALENCE)
    assert abs(pca.vector @ p.u) < 0.5
    assert abs(pca.vector @ p.w) > 0.95
    assert diff.vector @ p.u > 0.95


def test_mean_difference_weighs_classes_equally() -> None:
    p = planted(seed=6)
    # Drop most texts of one positive class: the class-centroid formula must not change.
    keep = (p.class_index != JOY) | (np.arange(len(p.class_index)) % 30 < 3)
    states, index = p.states[keep], p.class_index[keep]
    centroids = class_centroids(states, index, 9)
    expected = centroids[VALENCE > 0].mean(axis=0) - centroids[VALENCE < 0].mean(axis=0)
    got = get_method("mean_difference")(states, index, VALENCE).vector
    assert got == pytest.approx(expected / np.linalg.norm(expected))


def test_class_centroids_of_layered_states() -> None:
    states = np.arange(24, dtype=float).reshape(4, 2, 3)
    centroids = class_centroids(states, np.array([0, 1, 0, 1]), 2)
    assert np.array_equal(centroids[0], (states[0] + states[2]) / 2)
    assert np.array_equal(centroids[1], (states[1] + states[3]) / 2)


def test_unknown_method_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="mean_difference"):
        get_method("pca1")


@pytest.mark.parametrize(
    ("index_change", "valence", "match"),
    [
        (lambda i: i[i != 4], VALENCE, "9 integers"),
        (lambda i: np.where(i == 4, 3, i), VALENCE, r"classes \[4\] have no texts"),
        (lambda i: i.astype(float), VALENCE, "integers"),
        (lambda i: i, VALENCE[:5], "0..4"),
    ],
)
def test_inputs_that_disagree_are_rejected(
    index_change: Callable[[np.ndarray], np.ndarray], valence: np.ndarray, match: str
) -> None:
    p = planted(seed=7, per_class=1)
    with pytest.raises(ValueError, match=match):
        get_method("mean_difference")(p.states, index_change(p.class_index), valence)


@pytest.mark.parametrize("name", ["mean_difference", "lda", "logistic"])
def test_binary_methods_need_both_signs(name: str) -> None:
    p = planted(seed=8)
    with pytest.raises(ValueError, match="valence > 0 and one with < 0"):
        get_method(name)(p.states, p.class_index, np.abs(VALENCE))
