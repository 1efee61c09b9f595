"""`vaxis.ensemble.run` end to end on a tiny synthetic cohort (tiny axial members, 1-2 epochs).

The shared run trains 10 members (~15 s on 2 busy cores): its tests are marked slow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.cohorts import write_cohort
from vaxis import ensemble
from vaxis.core.stage import StageReport
from vaxis.data.synthetic import SynthConfig, synthesize_features
from vaxis.ensemble.combine import average_probs, balanced_accuracy
from vaxis.ensemble.members import load_part
from vaxis.ensemble.recipe import EnsembleConfig
from vaxis.ensemble.report import EnsembleReport
from vaxis.ensemble.selection import select_members
from vaxis.ensemble.stage import plan
from vaxis.study.registry import StageResult, StudyContext
from vaxis.sweep import ResultStore
from vaxis.sweep.cost import Rates


def tiny(cohort: Path, out: Path, **changes: Any) -> EnsembleConfig:
    settings: dict[str, Any] = {
        "cohort": cohort, "positions": "truth", "depth": 2, "shallow_depth": 1, "width": 8,
        "hyper": {"heads": 2, "channel_tokens": 4}, "seeds": (0, 1), "epochs": (1, 2),
        "batch_size": 32, "lr": 1e-2, "executor": "serial", "threads": 1, "out": out,
    }  # fmt: skip
    return EnsembleConfig(**(settings | changes))


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[EnsembleConfig, EnsembleReport]:
    cohort = write_cohort(tmp_path_factory.mktemp("cohort"), n_subjects=12)
    config = tiny(cohort, tmp_path_factory.mktemp("e"))
    return config, ensemble.run(config)


def member_parts(config: EnsembleConfig, part: str) -> list[Any]:
    """Each pool member's predictions on ``part``, read from the store, in recipe order."""
    store = ResultStore(config.out / "sweep")
    by_name: dict[str, Path] = {}
    for record in store.iter_results():
        train = record["job"]["params"]["train"]
        if record["job"]["kind"] == "train" and train["hyper"]["depth"] == config.depth:
            name = f"d{config.depth}-{config.regime}-e{train['epochs']}-s{train['seed']}"
            by_name[name] = store.work_dir(record["key"])
    names = [f"d2-aug-kd-e{e}-s{s}" for e in config.epochs for s in config.seeds]
    return [load_part(by_name[n], part) for n in names]


@pytest.mark.slow
def test_report_layout_and_honesty(first: tuple[EnsembleConfig, EnsembleReport]) -> None:
    config, _ = first
    data = json.loads((config.out / "ensemble.json").read_text())
    assert data["synthetic"] is True and data["protocol"] == "holdout"
    assert data["n_test_subjects"] == 2 and not set(data["test_subjects"]) & set(
        data["val_subjects"]
    )
    assert data["published"]["status"] == "published, not run here"
    assert data["published"]["figures"]["study: ensemble"] == 0.6948
    assert [s["name"] for s in data["cascade"]] == [
        "depth 1", "+augmentation", "+distillation", "depth 2", "uniform ensemble"
    ]  # fmt: skip
    assert len(data["cascade_steps"]) == 4 and len(data["comparisons"]) == 5
    assert all(row["n_subjects"] == 2 and "Holm" in row["protocol"] for row in data["comparisons"])
    # pool 4 + cascade 3 x 2 seeds; the depth-2 cascade step is the pool's first epoch count
    assert data["sweep"] == {"total": 10, "already_done": 0, "trained": 10}
    for stem in ("cascade", "loo_alignment"):
        assert (config.out / f"{stem}.png").exists() and (config.out / f"{stem}.svg").exists()


@pytest.mark.slow
def test_the_stage_report_gives_each_arm_and_comparison_with_its_ci_and_p(
    first: tuple[EnsembleConfig, EnsembleReport],
) -> None:
    """What `vaxis ensemble` prints and the study keeps: one figure per arm, cascade step and
    comparison, the published rows beside ours, the plots written."""
    config, report = first
    assert isinstance(report, StageReport)
    figures = report.figures()
    uniform = figures["ensembles: uniform ensemble"]
    mean, low, high = report.arms["uniform ensemble"].interval()
    assert (uniform.value, uniform.ci, uniform.n) == (mean, (low, high), 2) and uniform.synthetic
    pair = report.comparisons[0]
    delta = figures[f"paired comparisons: {pair['a']} - {pair['b']}"]
    assert (delta.value, delta.p, delta.n) == (pair["mean_delta"], pair["p_holm"], 2)
    assert len([n for n in figures if n.startswith("cascade steps: ")]) == 4
    arms, pairs, steps, _ = report.tables()
    published = [row for row in arms.rows if row[1] == "published, not run here"]
    assert [row[0] for row in published][-1] == "study: ensemble" and len(pairs.rows) == 5
    assert steps.rows[0][0] == "depth 1"
    assert [Path(p.png).name for p in report.plots()] == ["cascade.png", "loo_alignment.png"]
    kept = StageResult.of(report, StudyContext(out=config.out.parent))
    assert kept.figures == figures and kept.plots[0].png == f"{config.out.name}/cascade.png"
    assert kept.plots[0].svg == f"{config.out.name}/cascade.svg"
    assert report.notes()[0].startswith("4 pool members, protocol holdout")
    payload = report.to_json()
    assert set(payload["figures"]) == set(figures) and payload["ensemble"]["n_test_subjects"] == 2


@pytest.mark.slow
def test_the_plan_lists_exactly_the_members_the_run_trained(
    first: tuple[EnsembleConfig, EnsembleReport],
) -> None:
    config, _ = first
    rows = plan(config, Rates(cpu=1e9, gpu_peak=1e12))
    trained = {record["key"] for record in ResultStore(config.out / "sweep").iter_results()}
    assert {row["id"] for row in rows} == trained
    assert len(rows) == len(trained)  # a member shared by the cascade and the pool: once
    assert {row["epochs"] for row in rows} == set(config.epochs)


@pytest.mark.slow
def test_uniform_ensemble_is_recomputed_from_the_members_files(
    first: tuple[EnsembleConfig, EnsembleReport],
) -> None:
    config, report = first
    test = member_parts(config, "test")
    pred = average_probs(np.stack([p.probs for p in test])).argmax(axis=1)
    assert report.arms["uniform ensemble"].pooled == pytest.approx(
        balanced_accuracy(test[0].y, pred)
    )
    val = member_parts(config, "val")
    chosen, diversity, _ = select_members(
        np.stack([p.probs for p in val]), [p.features for p in val], val[0].y, config.k
    )
    assert np.allclose(report.diversity["matrix"], diversity, atol=1e-6)
    assert list(report.arms[chosen["diverse"].name].members) == [
        report.diversity["members"][i] for i in chosen["diverse"].members
    ]


@pytest.mark.slow
def test_selection_ignores_test_predictions(
    first: tuple[EnsembleConfig, EnsembleReport], tmp_path: Path
) -> None:
    """Scramble every member's test predictions: nothing is retrained, the selections stay the
    same, only their test scores change."""
    config, report = first
    out = tmp_path / "copy"
    shutil.copytree(config.out, out)
    rng = np.random.default_rng(0)
    for path in (out / "sweep" / "work").glob("*/*/test_predictions.npz"):
        arrays = dict(np.load(path))
        arrays["probs"] = rng.dirichlet(np.ones(arrays["probs"].shape[1]), len(arrays["probs"]))
        arrays["features"] = rng.standard_normal(arrays["features"].shape)
        np.savez_compressed(path, **arrays)
    again = ensemble.run(config.model_copy(update={"out": out}))
    assert again.sweep["trained"] == 0
    assert {n: a.members for n, a in again.arms.items()} == {
        n: a.members for n, a in report.arms.items()
    }
    assert again.diversity["matrix"] == report.diversity["matrix"]
    assert [a.pooled for a in again.arms.values()] != [a.pooled for a in report.arms.values()]


@pytest.mark.slow
def test_path_b_adds_v_axis_members(first: tuple[EnsembleConfig, EnsembleReport]) -> None:
    config, _ = first
    with_b = ensemble.run(config.model_copy(update={"path_b": ("aux-mse-0.5",), "cascade": False}))
    assert with_b.sweep["trained"] == 2  # only the V-axis members are new
    assert with_b.path_b is not None
    members = with_b.path_b["ensemble"]["members"]
    assert len(members) == 6 and sum(m.startswith("V:aux-mse-0.5") for m in members) == 2
    assert with_b.path_b["comparison"][0]["b"] == "uniform ensemble"


def test_bad_configs_fail_before_training(tmp_path: Path) -> None:
    cohort = write_cohort(tmp_path, n_subjects=4)
    with pytest.raises(ValueError, match="test subject"):
        ensemble.run(tiny(cohort, tmp_path / "out"))
    with pytest.raises(ValueError, match="select_k = 9 is not allowed"):
        tiny(cohort, tmp_path / "out", select_k=9)
    with pytest.raises(ValueError, match="a pool of 1 member"):  # leave-one-out needs two
        tiny(cohort, tmp_path / "out", seeds=(0,), epochs=(1,))
    with pytest.raises(ValueError, match="'hieght' of decoder 'axial'"):
        tiny(cohort, tmp_path / "out", hyper={"hieght": 2})


#: a strong class signal, so that tiny members learn it in a few epochs
STRONG = {"valence_strength": 0.6, "noise_std": 0.3, "subject_offset_std": 0.1}
NOTHING = {"plant_valence": False, "plant_residual": False, "arousal_strength": 0.0,
           "stimulus_strength": 0.0}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("planted", "lowest", "highest"), [(True, 0.4, 1.0), (False, 0.0, 0.35)])
def test_seedv_replicates_with_the_same_command(
    tmp_path: Path, planted: bool, lowest: float, highest: float
) -> None:
    """SEED-V through the same call: a planted 5-class signal is found by the uniform ensemble
    (measured 0.59, chance 0.2) and a cohort without one stays near chance (measured 0.17)."""
    changes = STRONG if planted else STRONG | NOTHING
    cohort, truth = synthesize_features(
        SynthConfig(like="seedv", n_subjects=12, n_windows=3, seed=0, **changes)
    )
    cohort.save(tmp_path / "s.cohort.h5")
    truth.save(tmp_path / "s")
    config = tiny(tmp_path / "s.cohort.h5", tmp_path / "out", cascade=False, epochs=(3, 5))
    report = ensemble.run(config)
    assert report.dataset == "seedv" and report.synthetic
    assert report.to_dict()["published"]["figures"]["baselines (about)"] == 0.43
    assert lowest < report.arms["uniform ensemble"].pooled < highest
    assert len(report.comparisons) == 5
