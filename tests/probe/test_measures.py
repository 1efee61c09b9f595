"""Probe measures on planted penultimate geometry: found where planted, not found where not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA

from vaxis.brain.linear import LinearReadout
from vaxis.data.datasets import FACED
from vaxis.data.synthetic import stimulus_classes
from vaxis.errors import DataFormatError
from vaxis.probe.measures import (
    ResidualReadout,
    StimulusTable,
    class_pc1_alignment,
    has_within_class_variation,
    pc1_scores,
    residual_alignment,
    stimulus_probe,
    within_class_residuals,
)
from vaxis.probe.nulls import (
    ProbeConfig,
    pc1_alignment_nulls,
    probe_checkpoint,
    stimulus_position_draws,
)

CLASSES = stimulus_classes("faced")  # 28 clips in 9 classes
CLASS_V = np.array(FACED.synthetic.class_valence_scores)  # type: ignore[union-attr]


@dataclass(frozen=True, eq=False)
class Planted:
    """Validation and test subjects' features, and the stimulus positions they were built on."""

    val: StimulusTable
    test: StimulusTable
    positions: np.ndarray  # (28,) per-stimulus V-axis positions
    class_positions: np.ndarray  # (9,)
    #: "val" / "test" -> per-sample arrays as a predictions file holds them
    samples: dict[str, dict[str, np.ndarray]]


def planted(
    valence: float = 3.0,
    residual: float = 0.0,
    identity: float = 0.0,
    other: float = 0.3,
    n_subjects: int = 6,
    dim: int = 12,
    seed: int = 0,
) -> Planted:
    """Penultimate features of FACED-shaped held-out samples (3 segments per clip).

    Stimulus mean = ``valence`` V[c] a + ``residual`` r_s b + ``other`` G[c] + ``identity`` u_s:
    class means along a unit direction ``a`` at the V-axis class positions, within-class
    residuals r_s of the positions along ``b`` (orthogonal to ``a``), class structure G
    orthogonal to ``a`` and stimulus identity u_s shared by all subjects; unit noise per sample.
    Validation and test subjects share the stimulus means, not the noise.
    """
    rng = np.random.default_rng(seed)
    positions = CLASS_V[CLASSES] + 0.15 * rng.standard_normal(CLASSES.size)
    r = within_class_residuals(positions[:, None], CLASSES)[:, 0]
    a, b = np.linalg.qr(rng.standard_normal((dim, 2)))[0].T
    g = rng.standard_normal((CLASS_V.size, dim))
    g -= np.outer(g @ a, a)
    u = rng.standard_normal((CLASSES.size, dim))
    mean = valence * np.outer(CLASS_V[CLASSES], a) + residual * np.outer(r, b)
    mean += other * g[CLASSES] + identity * u

    def subjects(ids: np.ndarray) -> dict[str, np.ndarray]:
        subject = np.repeat(ids, CLASSES.size * 3)
        stimulus = np.tile(np.repeat(np.arange(CLASSES.size), 3), ids.size)
        features = mean[stimulus] + rng.standard_normal((stimulus.size, dim))
        return {
            "features": features,
            "subject": subject,
            "stimulus": stimulus,
            "label": CLASSES[stimulus],
        }

    samples = {"val": subjects(np.arange(n_subjects))}
    samples["test"] = subjects(np.arange(n_subjects, 2 * n_subjects))
    val, test = (StimulusTable.from_samples(**samples[part]) for part in ("val", "test"))
    return Planted(val, test, positions, CLASS_V, samples)


def p_value(values: np.ndarray) -> float:
    """Permutation p of column 0 against the other columns."""
    return float((1 + np.count_nonzero(values[1:] >= values[0])) / values.size)


# --------------------------------------------------------------------------- the table
def test_stimulus_table_averages_within_subject_then_over_subjects() -> None:
    features = np.array([[1.0], [3.0], [10.0], [9.0]])
    subject = np.array([0, 0, 0, 1])
    stimulus = np.array([4, 4, 2, 4])
    table = StimulusTable.from_samples(features, subject, stimulus, np.array([1, 1, 0, 1]))
    assert table.stimuli.tolist() == [2, 4] and table.classes.tolist() == [0, 1]
    assert np.isnan(table.per_subject[1, 0, 0])  # subject 1 never saw stimulus 2
    # stimulus 4: subject means 2 and 9 -> 5.5 (the sample mean would be 13 / 3)
    np.testing.assert_allclose(table.means()[:, 0], [10.0, 5.5])
    # subject 1 counted twice: (2 + 9 + 9) / 3; stimulus 2 still only from subject 0
    np.testing.assert_allclose(table.means(np.array([[1, 2]]))[0, :, 0], [10.0, 20 / 3])
    with pytest.raises(DataFormatError, match="two category labels"):
        StimulusTable.from_samples(features, subject, stimulus, np.array([1, 0, 0, 1]))


# --------------------------------------------------------------------------- class PC1
def test_pc1_scores_match_sklearn_pca_up_to_sign() -> None:
    means = np.random.default_rng(3).standard_normal((9, 7))
    reference = PCA(n_components=1).fit_transform(means)[:, 0]
    np.testing.assert_allclose(np.abs(pc1_scores(means)), np.abs(reference), atol=1e-10)
    batch = np.stack([means, means])
    batch[1, 0, 0] = np.nan  # a bootstrap draw that lost a stimulus gives NaN, not an error
    scores = pc1_scores(batch)
    np.testing.assert_allclose(np.abs(scores[0]), np.abs(reference), atol=1e-10)
    assert np.isnan(scores[1]).all()


def test_class_pc1_finds_planted_valence_geometry() -> None:
    data = planted(valence=3.0, other=0.3)
    align = class_pc1_alignment(data.test.means(), data.test.classes, data.class_positions)
    assert align > 0.95
    # without valence the class means follow their other (random) structure
    none = planted(valence=0.0, other=1.0)
    assert class_pc1_alignment(none.test.means(), none.test.classes, CLASS_V) < 0.6


def test_class_pc1_false_positive_rate_is_nominal_without_valence() -> None:
    """200 decoders with random class geometry: random-direction p < 0.05 in ~5% of them."""
    hits = {"random directions": 0, "permuted positions": 0, "random feature directions": 0}
    for seed in range(200):
        data = planted(valence=0.0, other=1.0, n_subjects=2, seed=seed)
        means = data.test.means()
        observed = class_pc1_alignment(means, data.test.classes, CLASS_V)
        rng = np.random.default_rng(seed)
        for kind, null in pc1_alignment_nulls(means, data.test.classes, CLASS_V, 200, rng).items():
            hits[kind] += p_value(np.r_[observed, null]) < 0.05
    assert 2 <= hits["random directions"] <= 20
    assert 2 <= hits["permuted positions"] <= 20
    # PC1 of random class means is no more V-aligned than a random feature direction
    assert hits["random feature directions"] <= 20


# -------------------------------------------------------------------------- residuals
@pytest.mark.parametrize("crossed", [False, True])
def test_residual_alignment_finds_a_planted_residual_on_test_subjects(crossed: bool) -> None:
    data = planted(residual=5.0)
    r = residual_alignment(
        data.val.means(), data.test.means(), data.positions, data.test.classes, crossed=crossed
    )
    assert r > 0.8
    none = planted(residual=0.0)
    r0 = residual_alignment(
        none.val.means(), none.test.means(), none.positions, none.test.classes, crossed=crossed
    )
    assert abs(r0) < 0.5


def test_residual_direction_is_learned_on_validation_only() -> None:
    """The study's protocol equals scikit-learn's PLS fitted on validation residuals alone and
    applied to test residuals; the test data never changes the fitted direction."""
    data = planted(residual=2.0, identity=0.5)
    val_r = within_class_residuals(data.val.means(), CLASSES)
    test_r = within_class_residuals(data.test.means(), CLASSES)
    target = within_class_residuals(data.positions[:, None], CLASSES)[:, 0]
    reference = PLSRegression(n_components=1).fit(val_r, target).predict(test_r).ravel()
    expected = np.corrcoef(reference, target)[0, 1]
    got = residual_alignment(data.val.means(), data.test.means(), data.positions, CLASSES)
    assert got == pytest.approx(expected, abs=1e-10)
    readout = ResidualReadout().fit(data.val.means(), data.positions, CLASSES)
    weights = readout.coef_.copy()
    other = planted(residual=0.0, seed=9).test.means()
    readout.score(other, data.positions)
    np.testing.assert_array_equal(readout.coef_, weights)


def test_crossed_residual_never_sees_the_predicted_stimulus() -> None:
    data = planted(residual=2.0)
    val, test = data.val.means(), data.test.means()
    before = ResidualReadout(crossed=True).fit(val, data.positions, CLASSES).predict(test)
    s = 7
    val[s] += 100.0
    moved = data.positions.copy()
    moved[s] += 5.0
    after = ResidualReadout(crossed=True).fit(val, moved, CLASSES).predict(test)
    assert after[s, 0] == pytest.approx(before[s, 0], abs=1e-9)
    assert not np.allclose(np.delete(after, s, 0), np.delete(before, s, 0))


def test_shared_stimulus_identity_biases_the_study_residual_not_its_p_value() -> None:
    """No valence, strong clip identity shared by all subjects: the same-stimuli protocol's r is
    far above 0 (so its raw value is no evidence), yet its permutation p stays nominal; the
    crossed protocol is centred on 0. 200 cohorts, 100 permutations each."""
    r: dict[bool, list[float]] = {False: [], True: []}
    hits = {False: 0, True: 0}
    for seed in range(200):
        data = planted(residual=0.0, identity=1.0, n_subjects=3, seed=seed)
        rng = np.random.default_rng(seed)
        draws = stimulus_position_draws(data.positions, CLASSES, 100, rng)["permuted positions"]
        targets = np.column_stack([data.positions, draws])
        for crossed in (False, True):
            readout = ResidualReadout(crossed=crossed).fit(data.val.means(), targets, CLASSES)
            scores = readout.score(data.test.means(), targets)
            r[crossed].append(scores[0])
            hits[crossed] += p_value(scores) < 0.05
    assert np.mean(r[False]) > 0.4 and abs(np.mean(r[True])) < 0.05
    assert 2 <= hits[False] <= 20 and 2 <= hits[True] <= 20


def test_class_constant_positions_have_no_residual() -> None:
    assert not has_within_class_variation(CLASS_V[CLASSES], CLASSES)
    assert has_within_class_variation(planted().positions, CLASSES)


# --------------------------------------------------------------------- stimulus probe
def test_stimulus_probe_is_leave_one_stimulus_out() -> None:
    data = planted(valence=1.0, residual=2.0)
    means = data.test.means()
    r, pred = stimulus_probe(means, data.positions)
    assert r[0] > 0.8
    s = 11
    others = np.delete(np.arange(CLASSES.size), s)
    reference = LinearReadout("ridge").fit(means[others], data.positions[others])
    assert pred[s, 0] == pytest.approx(reference.predict(means[[s]])[0], abs=1e-8)
    moved = data.positions.copy()
    moved[s] += 10.0
    assert stimulus_probe(means, moved)[1][s, 0] == pytest.approx(pred[s, 0], abs=1e-9)


def test_stimulus_probe_finds_nothing_without_valence() -> None:
    hits = 0
    for seed in range(60):
        data = planted(valence=0.0, other=1.0, identity=1.0, n_subjects=2, seed=seed)
        rng = np.random.default_rng(seed)
        draws = stimulus_position_draws(data.positions, CLASSES, 100, rng)["permuted positions"]
        r, _ = stimulus_probe(data.test.means(), np.column_stack([data.positions, draws]))
        hits += p_value(r) < 0.05
    assert hits <= 8  # nominal: 3 of 60


# -------------------------------------------------------------------------- checkpoint
def test_probe_checkpoint_reports_every_measure_with_ci_and_nulls() -> None:
    data = planted(valence=3.0, residual=3.0)
    config = ProbeConfig(n_null=200, n_bootstrap=100)
    probe = probe_checkpoint(
        "run", 0.6, data.test, data.val, data.positions, CLASS_V, "given", config,
        np.random.default_rng(0),
    )  # fmt: skip
    assert set(probe.stats) == {"class_pc1", "residual", "residual_crossed", "stimulus_probe"}
    for key, stat in probe.stats.items():
        assert stat.ci_low is not None and stat.ci_high is not None, key
        assert stat.ci_low < stat.ci_high and stat.ci_low <= stat.value, key
        assert stat.p_value == pytest.approx(1 / 201), key  # beyond every null draw
        assert stat.null is not None and stat.null.kind == "random directions"
        assert {t.summary.kind for t in probe.nulls[key]} >= {"permuted positions"}
    assert "held-out test subjects and stimuli" in probe.stats["residual_crossed"].protocol
    assert probe.stats["class_pc1"].n == 9 and probe.stats["residual"].n == 28
    # no validation set: the residual measures are skipped with the reason
    alone = probe_checkpoint(
        "run", 0.6, data.test, None, data.positions, CLASS_V, "given", config,
        np.random.default_rng(0),
    )  # fmt: skip
    assert "validation" in alone.skipped["residual"] and "residual" not in alone.stats
