"""Layer scores find the layers where valence was planted, and only from training material."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.axis.planted import VALENCE, planted_layers
from vaxis.axis.axis import VAxis
from vaxis.axis.diagnostics import AxisWarning
from vaxis.axis.layers import LayerScores, choose_layer, fit_directions, score_layers
from vaxis.axis.methods import METHODS, class_centroids, get_method

PLANTED = (3, 4)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_auto_picks_a_planted_layer(method: str) -> None:
    p = planted_layers(seed=3, n_layers=6, valence_layers=PLANTED)
    scores = score_layers(p.states, p.class_index, VALENCE, method=method)
    assert choose_layer(scores, "auto") in PLANTED
    others = [i for i in range(6) if i not in PLANTED]
    assert scores.held_out[list(PLANTED)].min() > 0.95
    assert scores.held_out[list(PLANTED)].min() > scores.held_out[others].max()


def test_content_layers_fool_centroid_pca_in_held_out_scores() -> None:
    # Grouped by paraphrase, each story's content stays in training: only valence is tested.
    p = planted_layers(seed=2, n_layers=4, valence_layers=(1, 2, 3), signal=1.0, content=10.0)
    pca = score_layers(p.states, p.class_index, VALENCE, p.groups, method="centroid_pca")
    diff = score_layers(p.states, p.class_index, VALENCE, p.groups, method="mean_difference")
    assert np.all(pca.held_out[1:] < 0.5)
    assert np.all(diff.held_out[1:] > 0.9)


def test_nothing_found_in_pure_noise() -> None:
    rng = np.random.default_rng(3)
    class_index = np.repeat(np.arange(9), 20)
    offsets = rng.normal(size=(9, 5, 48))  # story content, unrelated to valence
    states = offsets[class_index] + 0.3 * rng.normal(size=(len(class_index), 5, 48))
    scores = score_layers(states, class_index, VALENCE, method="mean_difference")
    # In-sample, the positive stories sit above the negative ones by construction ...
    assert scores.ordering.mean() > 0.5
    # ... held out, nothing is left.
    assert abs(scores.held_out.mean()) < 0.4


def test_held_out_positions_match_a_hand_loop() -> None:
    p = planted_layers(seed=4, n_layers=2, valence_layers=(1,), per_class=4, d=8)
    groups = p.groups % 2  # two folds, every class in both
    scores = score_layers(p.states, p.class_index, VALENCE, groups=groups, method="lda")
    expected = np.zeros((2, 9))
    for layer in range(2):
        for g in (0, 1):
            train, test = groups != g, groups == g
            x = p.states[:, layer]
            v = get_method("lda")(x[train], p.class_index[train], VALENCE).vector
            centre = class_centroids(x[train], p.class_index[train], 9).mean(axis=0)
            for c in range(9):
                expected[layer, c] += np.sum((x[test & (p.class_index == c)] - centre) @ v)
    expected /= 4
    assert scores.held_out_positions == pytest.approx(expected)
    assert scores.n_folds == 2
    assert scores.grouping == "groups"


def test_many_groups_are_dealt_into_folds() -> None:
    p = planted_layers(seed=5, n_layers=2, valence_layers=(1,))
    by_paraphrase = score_layers(p.states, p.class_index, VALENCE, groups=p.groups, max_folds=7)
    assert by_paraphrase.n_folds == 7
    by_class = score_layers(p.states, p.class_index, VALENCE)
    assert (by_class.n_folds, by_class.grouping) == (9, "class")


def test_a_layer_without_a_direction_gets_zeros_and_is_never_chosen() -> None:
    p = planted_layers(seed=6, n_layers=3, valence_layers=(1, 2))
    states = p.states.copy()
    states[:, 0] = 1.0  # e.g. last-token embeddings identical for every text
    directions, explained = fit_directions(states, p.class_index, VALENCE, "centroid_pca")
    assert not directions[0].any()
    assert np.isnan(explained[0])
    assert np.linalg.norm(directions[1:], axis=1) == pytest.approx([1.0, 1.0])
    scores = score_layers(states, p.class_index, VALENCE, method="centroid_pca")
    assert np.isnan(scores.held_out[0])
    assert choose_layer(scores) in (1, 2)


def _scores(
    held_out: list[float], ordering: list[float] | None = None, passes: list[bool] | None = None
) -> LayerScores:
    n = len(held_out)
    return LayerScores(
        ordering=np.array(ordering if ordering is not None else [0.0] * n),
        held_out=np.array(held_out),
        held_out_positions=np.zeros((n, 9)),
        passes=np.array(passes if passes is not None else [False] * n),
        n_folds=9,
        grouping="class",
    )


def test_choose_layer_rules() -> None:
    scores = _scores([0.1, np.nan, 0.8, 0.8, 0.2], ordering=[0.0, 0.0, 0.5, 0.9, 0.0])
    assert choose_layer(scores, "auto") == 3  # tie on held-out, better in-sample ordering
    assert choose_layer(_scores([0.8, 0.8])) == 0  # full tie: lower index
    assert choose_layer(scores, "penultimate") == 3
    assert choose_layer(scores, 2) == 2
    assert choose_layer(scores, -1) == 4
    for bad in (5, -6, True, "middle"):
        with pytest.raises(ValueError, match="'auto', 'penultimate' or an index"):
            choose_layer(scores, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no layer has a finite held-out score"):
        choose_layer(_scores([np.nan, np.nan]))


def test_auto_only_picks_among_passing_layers() -> None:
    scores = _scores([0.95, 0.8, 0.75], passes=[False, False, True])
    assert choose_layer(scores, "auto") == 2
    assert scores.passing_layers == [2]
    assert choose_layer(scores, 0) == 0  # an explicit layer is taken as given


def _graded_layers(layer_scores: list[np.ndarray], seed: int = 0) -> np.ndarray:
    """(n, L, d) states whose class centroids lie at ``layer_scores[l]`` along a unit direction
    of each layer, plus small isotropic noise: held out, class ``c`` lands at about its score."""
    rng = np.random.default_rng(seed)
    class_index = np.repeat(np.arange(9), 20)
    layers = []
    for scores in layer_scores:
        u = rng.normal(size=16)
        u /= np.linalg.norm(u)
        noise = 0.05 * rng.normal(size=(len(class_index), 16))
        layers.append(scores[class_index, None] * u + noise)
    return np.stack(layers, axis=1)


def _swap(values: np.ndarray, a: int, b: int) -> np.ndarray:
    out = values.copy()
    out[[a, b]] = out[[b, a]]
    return out


def test_a_layer_that_orders_the_classes_beats_a_higher_scoring_one_that_does_not() -> None:
    # Layer 1: sadness and amusement traded (Spearman 1 - 6 * 8 / 720 = 0.93) puts a negative
    # class above a positive one. Layer 2: anger and sadness traded (1 - 6 * 18 / 720 = 0.85)
    # keeps every positive class above every negative one. Layer 0: no valence.
    rng = np.random.default_rng(1)
    planted = [rng.normal(size=9), _swap(VALENCE, 3, 5), _swap(VALENCE, 0, 3)]
    class_index = np.repeat(np.arange(9), 20)
    scores = score_layers(_graded_layers(planted), class_index, VALENCE, method="ridge_score")
    assert scores.held_out[1:] == pytest.approx([1 - 48 / 720, 1 - 108 / 720], abs=1e-9)
    assert scores.passes.tolist() == [False, False, True]
    assert choose_layer(scores, "auto") == 2  # the best held-out score alone would pick 1


def test_when_no_layer_passes_the_rule_says_so() -> None:
    rng = np.random.default_rng(2)
    planted = [rng.normal(size=9), _swap(VALENCE, 3, 5)]  # noise; a negative above a positive
    class_index = np.repeat(np.arange(9), 20)
    states = _graded_layers(planted, seed=2)
    scores = score_layers(states, class_index, VALENCE, method="ridge_score")
    assert scores.passing_layers == []
    assert choose_layer(scores, "auto") == 1  # the best held-out score, flagged below
    with pytest.warns(AxisWarning, match="no layer passes this diagnosis with ridge_score"):
        axis = VAxis().fit(states, class_index, VALENCE)
    assert axis.layer_ == 1 and not axis.diagnosis_.ok
    assert "try method='lda', a larger model" in axis.diagnosis_.warnings[-1]
    with pytest.warns(AxisWarning, match="try method='ridge_score' or method='lda', a larger"):
        VAxis(method="mean_difference").fit(states, class_index, VALENCE)


def test_a_fixed_layer_that_fails_names_the_layers_that_pass() -> None:
    planted = [np.random.default_rng(3).normal(size=9), VALENCE.copy()]
    class_index = np.repeat(np.arange(9), 20)
    with pytest.warns(AxisWarning, match="layers 1 pass with ridge_score: try layer='auto'"):
        axis = VAxis(layer=0).fit(_graded_layers(planted, seed=3), class_index, VALENCE)
    assert axis.layer_ == 0 and axis.layer_scores_.passing_layers == [1]


def test_scores_round_trip_through_json() -> None:
    scores = _scores([0.1, np.nan, 0.8], passes=[False, False, True])
    again = LayerScores.from_dict(json.loads(json.dumps(scores.to_dict(), allow_nan=False)))
    assert np.array_equal(again.held_out, scores.held_out, equal_nan=True)
    assert np.array_equal(again.ordering, scores.ordering)
    assert again.passes.tolist() == [False, False, True]
    assert (again.n_folds, again.grouping) == (9, "class")


def test_one_group_cannot_be_held_out() -> None:
    p = planted_layers(seed=7, n_layers=2, valence_layers=(1,))
    with pytest.raises(ValueError, match="at least two groups"):
        score_layers(p.states, p.class_index, VALENCE, groups=np.zeros(len(p.class_index)))


def test_holding_out_the_only_negative_class_is_explained() -> None:
    p = planted_layers(seed=8, n_layers=2, valence_layers=(1,))
    valence = np.where(VALENCE < 0, 0.0, VALENCE)
    valence[0] = -1.0  # anger is the only negative class
    with pytest.raises(ValueError, match="every valence sign needs two classes"):
        score_layers(p.states, p.class_index, valence, method="mean_difference")
    scores = score_layers(p.states, p.class_index, valence, groups=p.groups)
    assert scores.grouping == "groups"
