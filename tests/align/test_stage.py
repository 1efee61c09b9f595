"""`vaxis.align.run`: every arm trained on the same split and seeds, compared with the baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from tests.cohorts import write_cohort
from vaxis import align
from vaxis.align.interventions import INTERVENTIONS
from vaxis.align.procedures import PROCEDURES
from vaxis.align.stage import AlignConfig, AlignReport, plan
from vaxis.data.cohort import Cohort
from vaxis.data.splits import subject_holdout
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.sweep import ResultStore
from vaxis.sweep.cost import Rates

ARMS = ["baseline", "aux-mse-0.5", "aux-mse-0.5/permuted", "rsa-5", "rsa-5/permuted"]


def small_config(cohort: Path, out: Path, **changes: Any) -> AlignConfig:
    settings: dict[str, Any] = {
        "cohort": cohort,
        "positions": "truth",
        "decoder": "mlp",
        "hyper": {"hidden": [32]},
        "epochs": 3,
        "batch_size": 32,
        "lr": 1e-2,
        "seeds": (0, 1),
        "interventions": ("aux-mse-0.5", "rsa-5"),
        "controls": ("permuted",),
        "executor": "serial",
        "threads": 1,
        "out": out,
    }
    return AlignConfig(**(settings | changes))


@pytest.fixture(scope="module")
def cohort_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cohort(tmp_path_factory.mktemp("cohort"))


@pytest.fixture(scope="module")
def first_run(
    cohort_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[AlignConfig, AlignReport]:
    config = small_config(cohort_path, tmp_path_factory.mktemp("align"))
    return config, align.run(config)


def test_baseline_appears_once_and_every_other_arm_is_compared(
    first_run: tuple[AlignConfig, AlignReport], cohort_path: Path
) -> None:
    config, report = first_run
    assert config.arms() == ARMS
    held_out = subject_holdout(Cohort.load(cohort_path))[0].held_out_subjects
    assert report.test_subjects == held_out and len(held_out) == 3
    for table, n in ((report.by_subject, len(held_out)), (report.by_seed, 2)):
        assert [row.name for row in table.rows] == ARMS[1:]
        assert all(row.n == n for row in table.rows)
        assert sum(table.counts()) == len(ARMS) - 1
    assert report.by_subject.unit == "subject" and report.by_subject.primary == "crossed_t"
    assert report.by_seed.unit == "seed" and report.by_seed.primary == "paired_t"
    assert report.sweep.succeeded == len(ARMS) * 2 and report.sweep.already_done == 0


def test_tables_are_the_paired_differences_of_the_runs(
    first_run: tuple[AlignConfig, AlignReport],
) -> None:
    """Recompute both tables' mean deltas from the stored runs: per subject (mean over seeds)
    and per seed (test balanced accuracy)."""
    config, report = first_run
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for record in ResultStore(config.out / "sweep").iter_results():
        runs[record["result"]["arm"], record["job"]["params"]["train"]["seed"]] = record["result"]
    assert len(runs) == len(ARMS) * 2

    def per_subject(arm: str) -> np.ndarray:
        return np.mean(
            [
                [runs[arm, seed]["test"]["per_subject_balanced_accuracy"][str(s)]
                 for s in report.test_subjects]
                for seed in (0, 1)
            ],
            axis=0,
        )  # fmt: skip

    def per_seed(arm: str) -> np.ndarray:
        return np.array([runs[arm, seed]["test"]["balanced_accuracy"] for seed in (0, 1)])

    deltas = []
    for row_s, row_t, arm in zip(
        report.by_subject.rows, report.by_seed.rows, ARMS[1:], strict=True
    ):
        delta = per_subject(arm) - per_subject("baseline")
        assert row_s.mean_delta == pytest.approx(delta.mean(), abs=1e-12)
        assert row_t.mean_delta == pytest.approx((per_seed(arm) - per_seed("baseline")).mean())
        deltas.append(delta)
    assert np.abs(deltas).max() > 0  # the arms really differ: the check above can fail


def test_the_plan_lists_exactly_the_jobs_the_run_trained(
    first_run: tuple[AlignConfig, AlignReport],
) -> None:
    config, report = first_run
    rows = plan(config, Rates(cpu=1e9, gpu_peak=1e12))
    assert sorted(row["id"] for row in rows) == sorted(report.runs.values())
    by_label = {row["label"]: row for row in rows}
    baseline = by_label[f"baseline/seed{config.seeds[0]}"]
    assert (baseline["intervention"], baseline["seed"], baseline["epochs"]) == (
        "baseline", config.seeds[0], config.epochs
    )  # fmt: skip
    assert all(row["cpu_seconds"] == pytest.approx(row["flops"] / 1e9) for row in rows)


def test_outputs_are_written_and_labelled(first_run: tuple[AlignConfig, AlignReport]) -> None:
    config, report = first_run
    saved = json.loads((config.out / "align.json").read_text())
    assert saved["synthetic"] is True and saved["positions_source"] == "synthetic-truth"
    assert saved["n_test_subjects"] == 3 and saved["n_seeds"] == 2
    assert saved["protocol"] == "holdout"
    assert saved["weights"] == {"baseline": None, "aux-mse-0.5": 0.5, "aux-mse-0.5/permuted": 0.5,
                                "rsa-5": 5.0, "rsa-5/permuted": 5.0}  # fmt: skip
    assert "the study's test" in saved["by_seed"]["label"]
    assert "test subjects" in saved["by_subject"]["label"]
    for part in ("by_subject", "by_seed"):
        assert saved[part]["published"]["worse"] == 16 and saved[part]["published"]["better"] == 0
        assert sum(saved[part]["counts"].values()) == len(ARMS) - 1
        assert {"p_holm", "p_bh", "ci_low", "d_z"} <= set(saved[part]["rows"][0])
    for stem in ("forest_subjects", "forest_seeds"):
        for suffix in (".png", ".svg"):
            path = config.out / f"{stem}{suffix}"
            assert path in report.files and path.stat().st_size > 1000


def test_a_rerun_trains_nothing_and_gives_the_same_tables(
    first_run: tuple[AlignConfig, AlignReport],
) -> None:
    config, report = first_run
    again = align.run(config)
    assert again.sweep.already_done == again.sweep.total == len(ARMS) * 2
    assert again.sweep.succeeded == 0
    assert again.by_subject.to_dict() == report.by_subject.to_dict()
    assert again.by_seed.to_dict() == report.by_seed.to_dict()


def test_an_intervention_that_cannot_move_the_decoder_changes_nothing(
    cohort_path: Path, tmp_path: Path
) -> None:
    """The linear decoder's features are its input, so a read-out loss on them trains only its
    own head: with the same seeds (same initialisation and batches) every prediction, hence
    every paired difference, is exactly zero."""
    config = small_config(
        cohort_path, tmp_path, decoder="linear", hyper={}, interventions=("aux-mse-0.5",),
        controls=(),
    )  # fmt: skip
    report = align.run(config)
    for table in (report.by_subject, report.by_seed):
        (row,) = table.rows
        assert row.mean_delta == 0 and row.ci_low == row.ci_high == 0
        assert row.verdict == "no difference"


def test_too_few_test_subjects_fail_before_training(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=6)  # holdout tests 1 subject
    with pytest.raises(ValueError, match="tests 1 subject"):
        align.run(small_config(cohort, tmp_path / "out"))
    assert not (tmp_path / "out" / "sweep").exists()


@pytest.mark.parametrize("decoder", ["linear", "mlp"])
def test_a_weight_is_part_of_the_job_and_reaches_the_loss(
    cohort_path: Path, tmp_path: Path, decoder: str
) -> None:
    """A new weight is a new job (the baseline is reused) and the default weight spelled out
    is the same job. The distance-weighted CE acts on the decoder's logits: a vanishing
    weight trains exactly the baseline (the mlp's dropout draws the baseline's random stream:
    arms differ only by their loss), a large one moves it."""
    name = "distance-ce-tau5"  # default weight 1.0
    arms: dict[str, Any] = {"decoder": decoder, "hyper": {}, "interventions": (name,),
                            "controls": ()}  # fmt: skip

    def run(weights: dict[str, float]) -> AlignReport:
        return align.run(small_config(cohort_path, tmp_path, weights=weights, **arms))

    default = run({})
    assert default.sweep.succeeded == 4 and default.weights == {"baseline": None, name: 1.0}
    runs = {weight: run({name: weight}) for weight in (30.0, 1e-12, 1.0)}
    done = {w: (r.sweep.already_done, r.sweep.succeeded) for w, r in runs.items()}
    assert done == {30.0: (2, 2), 1e-12: (2, 2), 1.0: (4, 0)}
    assert runs[1e-12].weights == {"baseline": None, name: 1e-12}
    records = ResultStore(tmp_path / "sweep").iter_results()
    stored = sorted(r["job"]["params"]["weight"] for r in records if r["result"]["arm"] == name)
    assert stored == [1e-12, 1e-12, 1.0, 1.0, 30.0, 30.0]  # two seeds each
    for table in ("by_subject", "by_seed"):
        assert getattr(runs[1e-12], table).rows[0].mean_delta == 0
        assert getattr(runs[30.0], table).rows[0].mean_delta < -0.05


def test_an_address_without_the_ray_executor_fails_before_training(
    cohort_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="an address is for the ray executor, not the serial"):
        align.run(small_config(cohort_path, tmp_path, ray_address="ray://head:10001"))
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weights": {"no-such": 1.0}}, "weight for unknown intervention 'no-such'"),
        ({"weights": {"rsa-5": 0.0}}, r"rsa-5=0 is not allowed \(allowed: a finite weight > 0\)"),
        ({"weights": {"rsa-5": -1.0}}, "rsa-5=-1 is not allowed"),
        ({"weights": {"rsa-5": float("inf")}}, "rsa-5=inf is not allowed"),
        ({"weights": {"rsa-5": float("nan")}}, "rsa-5=nan is not allowed"),
        ({"weights": {"rsa-1": 1.0}}, r"interventions that are not run: \['rsa-1'\]"),
        ({"seeds": (0,)}, "two distinct seeds"),
        ({"seeds": (1, 1)}, "two distinct seeds"),
        ({"interventions": ("no-such",)}, "unknown intervention"),
        ({"interventions": ("rsa-1/shuffled",)}, "unknown control"),
        ({"controls": ("shuffled",)}, "controls"),
        ({"protocol": "no-such"}, "unknown protocol"),
        ({"epochs": 0}, "epochs"),
        ({"decoder": "svm"}, "unknown torch decoder 'svm'"),
        ({"hyper": {"hiden": [8]}}, r"'hiden' of decoder 'mlp' \(allowed: hidden, dropout\)"),
        ({"executor": "dask"}, "executor"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        small_config(Path("c.h5"), Path("out"), **changes)


def test_arms_default_to_every_intervention_and_take_per_arm_controls() -> None:
    every = small_config(Path("c.h5"), Path("out"), interventions=(), controls=())
    procedures = [name for name in PROCEDURES if name != "cross-dataset"]  # needs a source
    assert every.arms() == ["baseline", *INTERVENTIONS, *procedures]
    with_source = small_config(
        Path("c.h5"), Path("out"), interventions=(), controls=(), source_cohort=Path("seedv.h5")
    )
    assert with_source.arms() == ["baseline", *INTERVENTIONS, *PROCEDURES]
    for arm in ("cross-dataset", "cross-dataset/permuted"):
        with pytest.raises(ValueError, match="source_cohort"):
            small_config(Path("c.h5"), Path("out"), interventions=(arm,))
    mixed = small_config(
        Path("c.h5"), Path("out"), interventions=("rsa-1", "kd-1/label-smoothing", "rsa-1"),
        controls=("label-smoothing",),
    )  # fmt: skip
    assert mixed.arms() == ["baseline", "rsa-1", "rsa-1/label-smoothing", "kd-1/label-smoothing"]


@pytest.mark.slow
def test_worker_processes_give_the_serial_results(cohort_path: Path, tmp_path: Path) -> None:
    """Spawned workers find the ``align`` job kind and train exactly what one process does."""
    changes: dict[str, Any] = {"interventions": ("rsa-5",), "controls": ()}
    serial = align.run(small_config(cohort_path, tmp_path / "serial", **changes))
    local = small_config(cohort_path, tmp_path / "local", executor="local", workers=2, **changes)
    parallel = align.run(local)
    assert parallel.sweep.succeeded == 4
    assert parallel.by_subject.to_dict() == serial.by_subject.to_dict()
    assert parallel.by_seed.to_dict() == serial.by_seed.to_dict()


@pytest.mark.slow
def test_training_procedures_and_cross_dataset_run_through_align(
    cohort_path: Path, tmp_path: Path
) -> None:
    """Procedures share the arms' namespace: a PEFT arm, its permuted control and the
    cross-dataset arm (pretrained on a SYNTHETIC SEED-V cohort) are trained and compared."""
    source, truth = synthesize_features(
        SynthConfig(like="seedv", n_subjects=6, n_windows=6, seed=1)
    )
    source_path = tmp_path / "seedv.cohort.h5"
    source.save(source_path)
    truth.save(tmp_path / "seedv")
    arms = ("peft-lora", "peft-lora/permuted", "cross-dataset")
    config = small_config(
        cohort_path, tmp_path / "out", interventions=arms, controls=(), source_cohort=source_path
    )
    report = align.run(config)
    assert [row.name for row in report.by_subject.rows] == list(arms)
    assert report.weights == {"baseline": None, "peft-lora": 0.1, "peft-lora/permuted": 0.1,
                              "cross-dataset": 0.1}  # fmt: skip
    records = {
        r["result"]["arm"]: r for r in ResultStore(tmp_path / "out" / "sweep").iter_results()
    }
    cross = records["cross-dataset"]
    assert cross["job"]["params"]["source_cohort"] == str(source_path.resolve())
    assert "source_cohort" not in records["peft-lora"]["job"]["params"]
    assert cross["result"]["procedure"]["source_dataset"] == "seedv"
