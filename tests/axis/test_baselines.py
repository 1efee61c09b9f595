"""Lexicon score, supervised probe and ablation on planted states with known answers."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.axis.planted import VALENCE, planted
from vaxis.assets import AssetMissingError
from vaxis.axis.axis import VAxis
from vaxis.axis.baselines import ablation, lexicon_scores, lexicon_sum, probe


def test_lexicon_sum_reads_words_through_punctuation_and_emoticons() -> None:
    valence = {"good": 2.0, "bad": -1.5, ":)": 1.0, "not": 0.0}
    texts = ["A good, GOOD film :)", "bad... not good!", "nothing here"]
    assert lexicon_sum(texts, valence) == pytest.approx([5.0, 0.5, 0.0])


def test_simplified_lexicon_needs_the_vader_asset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if importlib.util.find_spec("vaderSentiment") is not None:
        pytest.skip("vaderSentiment is installed: the full VADER score is used instead")
    monkeypatch.setenv("VAXIS_DATA", str(tmp_path))  # an empty data folder
    with pytest.raises(AssetMissingError, match="vaxis assets fetch vader"):
        lexicon_scores(["a good film"])


def _labelled(
    seed: int, n: int = 300, d: int = 24, signal: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Texts whose label lives only on the unit direction ``u`` of ``planted(seed, d=d)``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    u = planted(seed, d=d).u
    states = rng.normal(size=(n, d)) + signal * (2 * labels[:, None] - 1) * u
    return states, labels


def test_probe_finds_planted_valence_and_nothing_in_noise() -> None:
    states, labels = _labelled(0)
    assert probe(states, labels, "auroc") > 0.95
    noise = np.random.default_rng(1).normal(size=states.shape)
    assert probe(noise, labels, "auroc") == pytest.approx(0.5, abs=0.08)
    ratings = states @ np.ones(states.shape[1]) + np.random.default_rng(2).normal(size=300)
    assert probe(states, ratings, "spearman") > 0.9


def test_ablating_the_planted_axis_drops_the_probe_to_chance() -> None:
    stories = planted(0, d=24)  # nine classes, valence along the same ``u`` as the texts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        axis = VAxis(method="mean_difference").fit(
            stories.states[:, None], stories.class_index, VALENCE
        )
    assert axis.directions_[0] @ stories.u > 0.99
    states, labels = _labelled(0)
    before = probe(states, labels, "auroc")
    result = ablation(axis, states, labels, stories.states, stories.class_index, before)
    assert result.probe_before > 0.95
    assert result.probe_after == pytest.approx(0.5, abs=0.1)  # nothing left off the axis
    assert result.probe_after_random > 0.95  # removing another direction changes nothing
    # a difference of means is exactly what was removed: the refit finds no direction
    assert result.refit_after is None and "no direction" in result.refit_note
    assert "0.505" in result.protocol


def test_refitted_pca_axis_on_ablated_stories_finds_the_content_direction() -> None:
    # Stories with valence along u and a large content direction w: PCA-1 is valence, and
    # after removing it PCA-1 of the ablated stories is w, which says nothing about the texts.
    stories = planted(2, d=24, content=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        axis = VAxis(method="centroid_pca").fit(
            stories.states[:, None], stories.class_index, VALENCE
        )
    assert axis.directions_[0] @ stories.u > 0.99
    states, labels = _labelled(2)
    result = ablation(
        axis, states, labels, stories.states, stories.class_index, probe(states, labels, "auroc")
    )
    assert result.refit_after == pytest.approx(0.5, abs=0.1)
    assert "cosine" in result.refit_note
