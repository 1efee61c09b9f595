"""The read-out: tensors, closed forms against scikit-learn, protocols, planted and null cohorts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vaxis.brain import nulls, subsets
from vaxis.brain.linear import DEFAULT_ALPHAS, LinearReadout
from vaxis.brain.mapping import (
    ReadoutConfig,
    ReadoutReport,
    cohort_tensor,
    evaluate_readout,
    per_subject_tensor,
)
from vaxis.brain.protocols import leave_groups_out, subject_mean, subjects_out
from vaxis.core.positions import from_truth, from_valence_groups
from vaxis.core.reported import permutation_p
from vaxis.data.cohort import Cohort
from vaxis.data.synthetic import GroundTruth, SynthConfig, synthesize_features
from vaxis.errors import DataFormatError

FAST = {"permutations": 200, "random_directions": 0, "bootstrap": 0}


def synth(seed: int = 0, plant: bool = True, subjects: int = 12) -> tuple[Cohort, GroundTruth]:
    config = SynthConfig(n_subjects=subjects, n_windows=5, seed=seed, plant_valence=plant)
    return synthesize_features(config)


@pytest.fixture(scope="module")
def planted() -> tuple[Cohort, GroundTruth]:
    return synth(seed=1)


@pytest.fixture(scope="module")
def planted_report(planted: tuple[Cohort, GroundTruth]) -> ReadoutReport:
    cohort, truth = planted
    config = ReadoutConfig(permutations=200, random_directions=200, bootstrap=100)
    return evaluate_readout(cohort, from_truth(truth), config)


# ------------------------------------------------------------------------------ tensors
def test_tensors_match_a_loop_with_shuffled_rows_and_a_missing_cell() -> None:
    cohort, _ = synth(subjects=3)
    keep = ~((cohort.subject == 1) & (cohort.stimulus == 4))  # subject 1 never saw clip 4
    order = np.random.default_rng(0).permutation(int(keep.sum()))
    cohort = cohort.subset(np.flatnonzero(keep)[order])
    tensor, subjects, stimuli = per_subject_tensor(cohort)
    assert subjects.tolist() == [0, 1, 2] and stimuli.tolist() == list(range(28))
    for i, s in enumerate(subjects):
        for j, t in enumerate(stimuli):
            rows = cohort.data[(cohort.subject == s) & (cohort.stimulus == t)]
            if rows.size == 0:
                assert np.isnan(tensor[i, j]).all()
            else:
                assert tensor[i, j] == pytest.approx(rows.mean(axis=0), abs=1e-6)
    mean = cohort_tensor(cohort)
    assert mean[4] == pytest.approx((tensor[0, 4] + tensor[2, 4]) / 2)  # two subjects only
    assert mean[5] == pytest.approx(tensor[:, 5].mean(axis=0))
    assert cohort_tensor(cohort, subjects=[2]) == pytest.approx(tensor[2])


def test_raw_cohorts_and_other_datasets_are_refused(planted: tuple[Cohort, GroundTruth]) -> None:
    cohort, _ = planted
    raw = cohort.with_data(cohort.data, kind="raw")
    with pytest.raises(DataFormatError, match="feature cohort"):
        per_subject_tensor(raw)
    with pytest.raises(DataFormatError, match="positions are for seedv"):
        evaluate_readout(cohort, from_valence_groups("seedv"), ReadoutConfig(**FAST))


# ----------------------------------------------------------------- closed forms vs sklearn
def _data(seed: int, n: int = 27, p: int = 160) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, p) + rng.normal(size=p)
    return x, x[:, :20].sum(axis=1) * 0.3 + 3.0 * rng.normal(size=n)


@pytest.mark.parametrize("alpha", [0.1, 10.0, 1e4])
def test_ridge_equals_sklearn_standard_scaler_and_ridge(alpha: float) -> None:
    x, y = _data(0)
    test = np.random.default_rng(1).normal(size=(5, 160))
    ours = LinearReadout("ridge", (alpha,)).fit(x, y)
    reference = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y)
    assert ours.predict(test) == pytest.approx(reference.predict(test), abs=1e-6)
    assert ours.weights_ == pytest.approx(reference[-1].coef_, abs=1e-6)


def test_pls_equals_sklearn_one_component_pls() -> None:
    x, y = _data(2)
    test = np.random.default_rng(3).normal(size=(5, 160))
    ours = LinearReadout("pls").fit(x, y)
    reference = PLSRegression(n_components=1).fit(x, y)
    assert ours.predict(test) == pytest.approx(reference.predict(test).ravel(), abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_alpha_is_chosen_by_the_same_leave_one_out_error_as_ridgecv(seed: int) -> None:
    x, y = _data(seed)
    ours = LinearReadout("ridge").fit(x, y)
    reference = RidgeCV(alphas=DEFAULT_ALPHAS).fit(StandardScaler().fit_transform(x), y)
    assert ours.alpha_ == reference.alpha_


def test_leave_one_stimulus_out_equals_a_loop_of_sklearn_fits() -> None:
    x, y = _data(4, n=28)
    protocol = leave_groups_out(x, np.arange(28), "loso", "")
    batched = protocol.predict(y, "ridge", (10.0,))[0, :, 0]
    for i in range(28):
        train = np.arange(28) != i
        model = make_pipeline(StandardScaler(), Ridge(alpha=10.0)).fit(x[train], y[train])
        assert batched[i] == pytest.approx(model.predict(x[[i]])[0], abs=1e-6)


def test_held_out_targets_never_reach_their_own_prediction() -> None:
    x, y = _data(5, n=28)
    categories = np.repeat(np.arange(7), 4)
    per_subject = x[None] + np.random.default_rng(6).normal(size=(6, 28, 160))
    folds = np.arange(6) % 3
    changed = y.copy()
    changed[0] += 100.0  # stimulus 0 (category 0 = stimuli 0-3)
    for protocol, blind in (
        (leave_groups_out(x, np.arange(28), "loso", ""), [0]),
        (leave_groups_out(x, categories, "loco", ""), [0, 1, 2, 3]),
        (subjects_out(per_subject, folds, crossed=True), [0]),
    ):
        before = protocol.predict(y, "ridge", (10.0,))
        after = protocol.predict(changed, "ridge", (10.0,))
        assert after[:, blind] == pytest.approx(before[:, blind]), protocol.key
        assert np.abs(after - before).max() > 1.0, protocol.key  # the others did use it


def test_crossed_subject_protocol_fits_training_subjects_on_other_stimuli() -> None:
    rng = np.random.default_rng(7)
    per_subject = rng.normal(size=(6, 28, 40))
    y = rng.normal(size=28)
    folds = np.array([0, 1, 2, 0, 1, 2])
    pred = subjects_out(per_subject, folds, crossed=True).predict(y, "ridge", (3.0,))
    fit_mean = subject_mean(per_subject[folds != 1])
    held_mean = subject_mean(per_subject[folds == 1])
    others = np.arange(28) != 9
    model = make_pipeline(StandardScaler(), Ridge(alpha=3.0)).fit(fit_mean[others], y[others])
    assert pred[1, 9, 0] == pytest.approx(model.predict(held_mean[[9]])[0], abs=1e-6)


# ------------------------------------------------------------------ planted and null cohorts
def test_planted_valence_is_found_on_held_out_stimuli_and_subjects(
    planted_report: ReadoutReport,
) -> None:
    for name in ("r loso", "r loco", "r subjects_stimuli_out"):
        stat = planted_report.stat(name)
        assert stat.value > 0.7 and stat.p_value is not None and stat.p_value < 0.05, name
    loso = planted_report.stat("r loso")
    assert loso.ci_low is not None and loso.ci_high is not None
    assert 0.5 < loso.ci_low <= loso.ci_high <= 1.0
    assert loso.p_value == pytest.approx(1 / 201)  # nothing in the null reaches it
    assert planted_report.synthetic
    assert planted_report.positions.source == "synthetic-truth"


def test_planted_valence_beats_random_directions(planted_report: ReadoutReport) -> None:
    stat = planted_report.stat("r loso, random-direction null")
    assert stat.p_value is not None and stat.p_value < 0.05
    assert stat.value < 0.1  # the null's mean r: random positions are not predicted


def test_pls_read_out_finds_the_planted_valence_too(planted: tuple[Cohort, GroundTruth]) -> None:
    cohort, truth = planted
    report = evaluate_readout(cohort, from_truth(truth), ReadoutConfig(model="pls", **FAST))
    stat = report.stat("r loso")
    assert stat.value > 0.7 and stat.p_value is not None and stat.p_value < 0.05
    assert report.alpha is None


def test_in_sample_r_is_high_even_without_any_valence() -> None:
    """The study's in-sample figure: 160 features and 28 points correlate whatever the target."""
    cohort, truth = synth(seed=2, plant=False)
    report = evaluate_readout(cohort, from_truth(truth), ReadoutConfig(**FAST))
    in_sample = report.stat("r in_sample")
    assert in_sample.value > 0.8  # optimistic ...
    assert in_sample.null is not None and in_sample.null.mean > 0.8  # ... and so is its null
    assert report.stat("r loso").value < 0.3


@pytest.mark.parametrize(
    ("n_cohorts", "n_permutations"),
    [(30, 100), pytest.param(200, 200, marks=pytest.mark.slow)],
)
def test_null_cohorts_give_false_positives_at_the_nominal_rate(
    n_cohorts: int, n_permutations: int
) -> None:
    """No valence planted: held-out p-values fall below 0.05 in about 5% of cohorts."""
    level = 0.05
    config = ReadoutConfig(**{**FAST, "permutations": n_permutations})
    p_values: dict[str, list[float]] = {}
    for seed in range(n_cohorts):
        cohort, truth = synth(seed=100 + seed, plant=False)
        report = evaluate_readout(cohort, from_truth(truth), config)
        for name in ("r loso", "r loco", "r subjects_stimuli_out"):
            p_values.setdefault(name, []).append(float(report.stat(name).p_value or 1.0))
    bound = stats.binom.ppf(0.999, n_cohorts, level)  # a correct test exceeds it 0.1% of the time
    for name, values in p_values.items():
        assert np.sum(np.array(values) < level) <= bound, name
    for name in ("r loso", "r subjects_stimuli_out"):  # not degenerate (all near 1)
        assert np.mean(np.array(p_values[name]) < 0.5) > 0.15, name


# ---------------------------------------------------------------------- nulls and subsets
def test_permutation_p_counts_the_observed_value_itself() -> None:
    assert permutation_p(0.5, np.array([0.1, 0.5, 0.7, 0.2])) == pytest.approx(3 / 5)
    assert permutation_p(1.0, np.zeros(999)) == pytest.approx(1 / 1000)


def test_nulls_keep_the_class_structure_of_the_positions() -> None:
    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(4), 3)
    class_level = classes * 1.0
    per_stimulus = class_level + 0.1 * rng.normal(size=12)
    for draw in (nulls.random_positions, nulls.permuted_positions):
        draws = draw(class_level, classes, 50, rng)
        assert "per class" in draws.kind or "across classes" in draws.kind
        assert np.ptp(draws.values.reshape(4, 3, 50), axis=1).max() == 0
        draws = draw(per_stimulus, classes, 50, rng)
        assert np.ptp(draws.values.reshape(4, 3, 50), axis=1).min() > 0
    # hierarchical: every draw is a permutation of y whose class means permute the class means
    means = per_stimulus.reshape(4, 3).mean(axis=1)
    shuffled = nulls.permuted_positions(per_stimulus, classes, 20, rng).values
    assert (np.sort(shuffled, axis=0) != np.sort(per_stimulus)[:, None]).any()  # not a shuffle
    assert np.sort(shuffled.reshape(4, 3, 20).mean(axis=1), axis=0) == pytest.approx(
        np.sort(means)[:, None] * np.ones(20)
    )
    # ... and the deviations keep their classes
    deviations = per_stimulus - np.repeat(means, 3)
    drawn = shuffled - np.repeat(shuffled.reshape(4, 3, 20).mean(axis=1), 3, axis=0)
    for k in range(4):
        rows = slice(3 * k, 3 * k + 3)
        assert np.sort(drawn[rows], axis=0) == pytest.approx(
            np.sort(deviations[rows])[:, None] * np.ones(20)
        )
    stimuli = nulls.permuted_positions(per_stimulus, classes, 20, rng, "stimuli").values
    assert (np.sort(stimuli, axis=0) == np.sort(per_stimulus)[:, None]).all()
    # random directions copy the observed between / within spread
    draws = nulls.random_positions(per_stimulus, classes, 4000, rng).values
    assert draws.reshape(4, 3, -1).mean(axis=1).std() == pytest.approx(means.std(), rel=0.1)


def _class_structured_null(seed: int) -> tuple[Cohort, GroundTruth]:
    """No valence, but strong class-level EEG structure that varies from cohort to cohort."""
    arousal = tuple(np.random.default_rng(seed).normal(size=9))
    config = SynthConfig(
        n_subjects=12, n_windows=5, seed=seed, plant_valence=False, class_arousal_scores=arousal,
        arousal_strength=1.0,
    )  # fmt: skip
    return synthesize_features(config)


@pytest.mark.parametrize("kind", ["class positions", "per-stimulus positions"])
def test_class_structured_nulls_keep_the_false_positive_rate(kind: str) -> None:
    """Stimuli in categories are not exchangeable when the EEG has class-level structure: a
    shuffle across clips gives too narrow a null (measured in the nulls module docstring), the
    default hierarchical shuffle does not."""
    n_cohorts, level = 40, 0.05
    config = ReadoutConfig(**{**FAST, "permutations": 100})
    hits = 0
    for seed in range(n_cohorts):
        cohort, truth = _class_structured_null(300 + seed)
        positions = from_valence_groups("faced") if kind == "class positions" else from_truth(truth)
        stat = evaluate_readout(cohort, positions, config).stat("r loso")
        assert stat.null is not None and "across classes" in stat.null.kind
        hits += bool((stat.p_value or 1.0) < level)
    assert hits <= stats.binom.ppf(0.999, n_cohorts, level)


def test_contributions_add_up_to_r_and_subset_r_is_r_on_the_subset() -> None:
    rng = np.random.default_rng(1)
    pred, y = rng.normal(size=28), rng.normal(size=28)
    assert subsets.stimulus_contributions(pred, y).sum() == pytest.approx(
        np.corrcoef(pred, y)[0, 1]
    )
    mask = subsets.subset_mask(np.arange(28) % 9, tuple("abcdefghi"), ("a", "d"))
    assert mask.tolist() == [i % 9 in (0, 3) for i in range(28)]
    expected = np.corrcoef(pred[mask], y[mask])[0, 1]
    assert subsets.subset_r(pred, y, mask) == pytest.approx(expected)
    with pytest.raises(ValueError, match="unknown categories"):
        subsets.subset_mask(np.zeros(3, int), ("a",), ("z",))


def test_report_lists_every_figure_with_its_protocol(planted_report: ReadoutReport) -> None:
    record = planted_report.to_dict()
    assert record["synthetic"] is True
    names = [s["name"] for s in record["stats"]]
    assert "r in_sample" in names and "r loso within anger+amusement+tenderness" in names
    assert all(s["protocol"] and s["n"] > 0 for s in record["stats"])
    assert "optimistic" in planted_report.stat("r in_sample").protocol
    contributions = record["category_contributions_to_r"]["loso"]
    assert sum(contributions.values()) == pytest.approx(planted_report.stat("r loso").value)
    assert len(record["stimuli"]) == 28 and record["stimuli"][1]["name"] == "anger-2"
