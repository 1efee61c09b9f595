"""`vaxis saturation` end to end on a tiny synthetic `vaxis align` output (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vaxis import align, saturation
from vaxis.align.stage import AlignConfig
from vaxis.core.positions import StimulusPositions
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.errors import DataFormatError
from vaxis.probe.report import target_of
from vaxis.saturation.basin import basin_strength_of_means
from vaxis.saturation.cli import app
from vaxis.saturation.epoch_probe import read_epochs
from vaxis.saturation.stage import SaturationConfig, SaturationReport
from vaxis.sweep import ResultStore

pytestmark = pytest.mark.slow
ARMS, SEEDS = ("baseline", "aux-mse-0.5"), (0, 1, 2)


def align_config(folder: Path) -> AlignConfig:
    """`vaxis align` settings with the epoch probe switched on (writes the cohort)."""
    cohort, truth = synthesize_features(SynthConfig(n_subjects=12, n_windows=10, seed=0))
    path = folder / "s.cohort.h5"
    cohort.save(path)
    truth.save(folder / "s")
    return AlignConfig(
        cohort=path, positions="truth", decoder="mlp", hyper={"hidden": [16]}, epochs=3,
        batch_size=32, lr=1e-2, seeds=SEEDS, interventions=ARMS[1:], executor="serial",
        threads=1, epoch_probe=True, out=folder / "align",
    )  # fmt: skip


def align_with_epoch_probe(folder: Path) -> Path:
    """`vaxis align` (as a library call) with the epoch probe switched on."""
    config = align_config(folder)
    align.run(config)
    return config.out


@pytest.fixture(scope="module")
def align_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return align_with_epoch_probe(tmp_path_factory.mktemp("sat"))


@pytest.fixture(scope="module")
def report(align_out: Path, tmp_path_factory: pytest.TempPathFactory) -> SaturationReport:
    out = tmp_path_factory.mktemp("report")
    return saturation.run(SaturationConfig(align_out=align_out, out=out, bootstrap=200, nulls=20))


def test_report_reads_every_run_and_labels_itself_synthetic(report: SaturationReport) -> None:
    record = json.loads(report.files[0].read_text())
    assert record["synthetic"] is True and "SYNTHETIC" in record["warning"]
    assert record["n_runs"] == 6 and record["protocol"] == "holdout"
    assert record["published"]["status"] == "published, not run here"
    names = {p.name for p in report.files}
    for stem in ("basin_per_epoch", "threshold", "gradient_shares", "ablation"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert all(p.exists() for p in report.files)


def test_curves_are_the_basin_strength_of_the_recorded_epochs(report: SaturationReport) -> None:
    record = json.loads(report.files[0].read_text())  # saturation.json's rows
    runs = {(r["arm"], r["seed"]): r for r in record["runs"]}
    assert set(report.curves) == set(ARMS)
    for arm, by_seed in report.curves.items():
        for seed, curve in by_seed.items():
            assert list(curve.epoch) == [1, 2, 3]
            assert runs[arm, seed]["saturation_epoch"] in (1, 2, 3)
            assert np.isfinite(curve.shares["share_basin_ce"]).all()
            assert np.isfinite(curve.shares["share_basin_aux"]).all() == (arm != "baseline")


def test_threshold_pairs_and_movement_are_the_paired_run_numbers(
    report: SaturationReport,
) -> None:
    runs = {(r.arm, r.seed): r for r in report.runs}
    pairs = report.threshold.pairs
    assert [(p.arm, p.seed) for p in pairs] == [("aux-mse-0.5", s) for s in SEEDS]
    for p in pairs:
        base, arm = runs["baseline", p.seed], runs["aux-mse-0.5", p.seed]
        assert p.x == base.val_balanced_accuracy
        assert p.delta == pytest.approx(arm.test_balanced_accuracy - base.test_balanced_accuracy)
    rho = report.movement.tests["rho"]["aux-mse-0.5"]
    diffs = [runs["aux-mse-0.5", s].rho - runs["baseline", s].rho for s in SEEDS]
    assert rho is not None and rho.n == 3 and rho.effect == pytest.approx(np.mean(diffs))
    z = [found.z for r in report.runs if (found := r.ablated()) is not None]
    assert len(z) == 6
    assert report.ablation is not None and report.ablation.n_checkpoints == 6
    assert report.ablation.mean_z == pytest.approx(np.mean(z))


def test_recorded_class_means_give_the_reported_curve(
    align_out: Path, report: SaturationReport
) -> None:
    store = ResultStore(align_out / "sweep")
    record = next(r for r in store.iter_results() if r["job"]["params"]["arm"] == "baseline")
    seed = record["job"]["params"]["train"]["seed"]
    arrays = read_epochs(store.work_dir(record["key"]))
    assert arrays is not None
    target = target_of(StimulusPositions.model_validate(record["job"]["params"]["positions"]))
    expected = [
        basin_strength_of_means(m, target.class_positions[arrays["classes"]])
        for m in arrays["class_means"]
    ]
    assert report.curves["baseline"][seed].rho == pytest.approx(expected)


def test_cli_writes_the_report_and_refuses_a_folder_without_runs(
    align_out: Path, report: SaturationReport, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, [str(align_out), "-o", str(tmp_path / "o"), "--no-ablation", "--bootstrap", "100"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "saturation.json").exists()
    text = " ".join(result.output.split())
    for table in report.tables():  # the report's tables, as the study has them
        assert table.title in text
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [str(empty), "-o", str(tmp_path / "p")])
    assert result.exit_code == 2 and "no `vaxis align` report here" in result.output
    with pytest.raises(DataFormatError):
        saturation.run(SaturationConfig(align_out=empty, out=tmp_path / "q"))


def test_changed_align_settings_report_only_the_new_runs(tmp_path: Path) -> None:
    """Re-running align into the same folder with other epochs and seeds keeps the old runs in
    its store (for reuse) but saturation reads only the runs the new align.json compares (it
    used to read all and fail on per-epoch curves of unequal length)."""
    config = align_config(tmp_path)
    align.run(config)
    align.run(config.model_copy(update={"epochs": 2, "seeds": (0, 1)}))
    assert len(list(ResultStore(config.out / "sweep").iter_results())) == 10  # 6 old + 4 new
    report = saturation.run(
        SaturationConfig(align_out=config.out, out=tmp_path / "s", bootstrap=100, nulls=5)
    )
    assert sorted((r.arm, r.seed) for r in report.runs) == sorted(
        (a, s) for a in ARMS for s in (0, 1)
    )
    assert all(list(c.epoch) == [1, 2] for by in report.curves.values() for c in by.values())
    legacy = json.loads((config.out / "align.json").read_text())
    del legacy["runs"]  # as written before align.json listed its runs
    (config.out / "align.json").write_text(json.dumps(legacy))
    with pytest.raises(DataFormatError, match=r"(?s)lists no runs.*re-run `vaxis align`"):
        saturation.run(SaturationConfig(align_out=config.out, out=tmp_path / "t"))
