"""`vaxis probe` over a runs folder: loading, across-checkpoint figures, nulls, outputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from tests.probe.test_measures import CLASS_V, CLASSES, Planted, planted
from vaxis.core.positions import StimulusPositions, from_class_positions, from_truth
from vaxis.data.datasets import DATASETS
from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.decoders.experiment import run_experiment
from vaxis.decoders.train import TrainConfig
from vaxis.errors import DataFormatError
from vaxis.probe.cli import app as probe_app
from vaxis.probe.nulls import ProbeConfig
from vaxis.probe.report import (
    PROBE_FILE,
    correlation_stat,
    probe_runs,
    target_of,
    write_report,
)

SMALL = ProbeConfig(n_null=100, n_bootstrap=30)
#: valence strength and balanced accuracy of each fake checkpoint (accuracy rises with it)
STRENGTHS = (0.0, 0.4, 0.8, 1.2, 2.0, 3.0)
ACCURACIES = (0.12, 0.2, 0.24, 0.35, 0.33, 0.5)


def write_run(folder: Path, data: Planted, accuracy: float, config: dict | None = None) -> Path:
    """A run folder as `vaxis train` writes it (only the fields the probe reads)."""
    folder.mkdir(parents=True)
    metrics = {
        "dataset": "faced",
        "synthetic": True,
        "config": config or {"decoder": "planted"},
        "test": {"balanced_accuracy": accuracy},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    for part, arrays in data.samples.items():
        np.savez(folder / f"{part}_predictions.npz", **arrays)  # type: ignore[arg-type]
    return folder


def positions_of(data: Planted) -> StimulusPositions:
    return StimulusPositions(
        dataset="faced",
        stimuli=tuple(range(CLASSES.size)),
        positions=tuple(data.positions),
        source="test-positions",
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Planted]:
    root = tmp_path_factory.mktemp("probe")
    for i, (strength, accuracy) in enumerate(zip(STRENGTHS, ACCURACIES, strict=True)):
        data = planted(valence=strength, other=1.0, residual=strength, seed=3)
        write_run(root / "runs" / f"planted/plain/seed{i}", data, accuracy)
    write_run(
        root / "runs" / "flagged", planted(valence=0.0, other=1.0, seed=5), 0.11,
        {"decoder": "planted", "shuffle_labels": True},
    )  # fmt: skip
    for i in range(2):
        write_run(root / "nulls" / f"seed{i}", planted(valence=0.0, other=1.0, seed=7 + i), 0.11)
    return root / "runs", root / "nulls", planted(seed=3)


def test_across_checkpoints_matches_scipy_and_shuffled_runs_are_a_null(
    runs: tuple[Path, Path, Planted], tmp_path: Path
) -> None:
    runs_dir, nulls_dir, data = runs
    report = probe_runs(runs_dir, positions_of(data), SMALL, nulls_dir)
    assert [p.name for p in report.checkpoints] == [f"planted/plain/seed{i}" for i in range(6)]
    assert len(report.null_runs) == 3  # the flagged run and the two in the null folder
    accuracy = np.array([p.balanced_accuracy for p in report.checkpoints])
    for key, stat in report.across.items():
        reference = stats.pearsonr(accuracy, report.values(key))
        interval = reference.confidence_interval(0.95)
        assert stat.value == pytest.approx(reference.statistic), key
        assert stat.p_value == pytest.approx(reference.pvalue), key
        assert (stat.ci_low, stat.ci_high) == pytest.approx((interval.low, interval.high))
        assert stat.n == 6
    # planted strength rises with accuracy: alignment tracks accuracy
    assert report.across["class_pc1"].value > 0.6
    strongest = report.checkpoints[-1]
    kinds = [t.summary.kind for t in strongest.nulls["class_pc1"]]
    assert "shuffled labels (3 decoders)" in kinds and "random directions" in kinds
    assert strongest.stats["class_pc1"].p_value == pytest.approx(1 / 101)

    path = write_report(report, tmp_path / "out")
    record = json.loads(path.read_text())
    assert path.name == PROBE_FILE and record["synthetic"] is True and "warning" in record
    assert record["class_positions_from"] == "mean of each class's stimulus positions"
    measure = record["checkpoints"][-1]["measures"]["residual_crossed"]
    assert measure["stat"]["ci_low"] is not None and measure["stat"]["p_value"] is not None
    assert "held-out test subjects and stimuli" in measure["stat"]["protocol"]
    assert record["across_checkpoints"]["class_pc1"]["n"] == 6
    assert record["study_figures"]["r_balanced_accuracy_class_pc1"] == 0.885
    for paths in record["figures"].values():
        assert [Path(p).suffix for p in paths] == [".png", ".svg"]
        assert all(Path(p).stat().st_size > 0 for p in paths)


def test_correlation_stat_needs_three_pairs_and_skips_missing_values() -> None:
    x, y = np.array([1.0, 2.0, 3.0, np.nan, 5.0]), np.array([2.0, 1.0, 4.0, 3.0, 6.0])
    stat = correlation_stat("r", x, y, "test")
    reference = stats.pearsonr([1.0, 2.0, 3.0, 5.0], [2.0, 1.0, 4.0, 6.0])
    assert stat.value == pytest.approx(reference.statistic) and stat.n == 4
    assert np.isnan(correlation_stat("r", x[:2], y[:2], "test").value)


def test_class_positions_come_from_the_axis_when_given() -> None:
    names = DATASETS["faced"].classes
    given = from_class_positions("faced", dict(zip(names, CLASS_V * 2, strict=True)))
    target = target_of(given)
    np.testing.assert_allclose(target.class_positions, CLASS_V * 2)
    assert target.class_source == "the axis's class positions"


def test_only_the_named_runs_are_probed_never_others_in_the_same_folder(
    runs: tuple[Path, Path, Planted],
) -> None:
    runs_dir, _, data = runs
    asked = [runs_dir / f"planted/plain/seed{i}" for i in (1, 3, 5)]
    report = probe_runs(runs_dir, positions_of(data), SMALL, only=asked)
    assert [p.name for p in report.checkpoints] == [f"planted/plain/seed{i}" for i in (1, 3, 5)]
    assert report.null_runs == []  # the flagged shuffled run beside them was not asked for
    assert report.across["class_pc1"].n == 3
    everything = probe_runs(runs_dir, positions_of(data), SMALL)
    assert len(everything.checkpoints) == 6 and len(everything.null_runs) == 1


def test_class_fallback_positions_skip_the_residual_measures(
    runs: tuple[Path, Path, Planted],
) -> None:
    names = DATASETS["faced"].classes
    classes = from_class_positions("faced", dict(zip(names, CLASS_V, strict=True)))
    report = probe_runs(runs[0], classes, SMALL.model_copy(update={"n_bootstrap": 0}))
    probe = report.checkpoints[-1]
    assert "constant within classes" in probe.skipped["residual"]
    assert probe.stats["class_pc1"].ci_low is None  # no bootstrap asked for
    assert np.isnan(report.across["residual"].value)


def test_bad_runs_are_refused_naming_the_file(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "run", planted(), 0.3)
    arrays = dict(np.load(folder / "test_predictions.npz"))
    del arrays["stimulus"]
    np.savez(folder / "test_predictions.npz", **arrays)
    with pytest.raises(DataFormatError, match=r"test_predictions\.npz.*no stimulus"):
        probe_runs(tmp_path, positions_of(planted()), SMALL)
    (folder / "metrics.json").write_text("{")
    with pytest.raises(DataFormatError, match=r"metrics\.json: not a finished run"):
        probe_runs(tmp_path, positions_of(planted()), SMALL)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no finished runs"):
        probe_runs(tmp_path / "empty", positions_of(planted()), SMALL)


def test_cli_probe_writes_probe_json(runs: tuple[Path, Path, Planted], tmp_path: Path) -> None:
    parent = typer.Typer()
    parent.add_typer(probe_app)  # as `vaxis probe`

    @parent.callback()
    def _root() -> None:
        """Parent group."""

    runs_dir, nulls_dir, data = runs
    positions = positions_of(data).save(tmp_path / "positions.json")
    args = ["probe", str(runs_dir), "--positions", str(positions), "-o", str(tmp_path / "o")]
    small = ["--nulls", "50", "--bootstrap", "10", "--null-runs", str(nulls_dir)]
    result = CliRunner().invoke(parent, [*args, *small])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" in result.output and "r(test balanced accuracy" in result.output
    record = json.loads((tmp_path / "o" / PROBE_FILE).read_text())
    assert len(record["shuffled_label_runs"]) == 3
    assert record["positions_source"].startswith("file:")
    truth = CliRunner().invoke(parent, ["probe", str(runs_dir), "--positions", "truth", *args[4:]])
    assert truth.exit_code != 0 and "--cohort" in truth.output


def test_end_to_end_on_trained_decoders(tmp_path: Path) -> None:
    """Two tiny decoders trained on a synthetic cohort with planted valence: the probe reads
    their folders and finds the planted valence in the linear decoder's held-out features."""
    cohort, truth = synthesize_features(SynthConfig(n_subjects=12, n_windows=30, seed=0))
    split = subject_holdout(cohort)[0]
    for decoder, hyper in (("linear", {}), ("mlp", {"hidden": [16]})):
        config = TrainConfig(decoder=decoder, hyper=hyper, epochs=3, warmup_epochs=1, num_threads=1)
        run_experiment(cohort, split, config, tmp_path / "runs" / decoder / "plain" / "seed0")
    report = probe_runs(tmp_path / "runs", from_truth(truth), SMALL)
    assert report.synthetic and [p.name for p in report.checkpoints] == [
        "linear/plain/seed0",
        "mlp/plain/seed0",
    ]
    linear = report.checkpoints[0]
    assert not linear.skipped
    assert linear.stats["class_pc1"].value > 0.9
    for key in ("class_pc1", "residual_crossed", "stimulus_probe"):
        assert (linear.stats[key].p_value or 1.0) < 0.05, key
    assert write_report(report, tmp_path / "out").exists()


def test_random_draws_follow_the_training_identity_never_the_folder_name(tmp_path: Path) -> None:
    """A sweep names run folders by a key that holds the code version: the same checkpoint
    under another folder name gets the same intervals and p-values; another config key gets
    other draws."""
    data = planted(valence=0.8, other=1.0, residual=0.8, seed=3)
    config = {"decoder": "planted"}

    def probed(folder: str, key: str) -> dict:
        root = tmp_path / folder
        run = write_run(root / folder / "run", data, 0.3, config)
        metrics = json.loads((run / "metrics.json").read_text())
        metrics.update(config_key=key, split="holdout", subjects={"test": [0, 1]})
        (run / "metrics.json").write_text(json.dumps(metrics))
        [checkpoint] = probe_runs(root, positions_of(data), SMALL).checkpoints
        return {k: (s.ci_low, s.ci_high, s.p_value) for k, s in checkpoint.stats.items()}

    same = probed("4a47924866", "f8bde5ee7ceb")
    assert probed("d6d8610baa", "f8bde5ee7ceb") == same
    assert probed("d6d8610bab", "0123456789ab") != same
