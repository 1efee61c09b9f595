"""The real stages end to end on stand-ins: a tiny random language model reading stories and
texts whose valence is planted in their last word (tests/axis/planted_words.py), and a small
synthetic FACED-shaped cohort with planted valence.

The tiny model's vocabulary is the words w0..w59, so it cannot read FACED's clip descriptions
(every clip would sit at the same position); after the axis stage the test places each clip at
its planted valence, as a perfect axis would, and the downstream stages must find it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from tests.axis.conftest import _build_tiny_model
from tests.axis.planted_words import write_corpus, write_stories
from tests.study.chromium import check_page
from vaxis.core.positions import from_truth
from vaxis.data.synthetic import SynthConfig, load_truth
from vaxis.data.synthetic_files import write_synthetic
from vaxis.study.cli import study
from vaxis.study.config import StudyConfig
from vaxis.study.registry import StudyContext
from vaxis.study.results import schema
from vaxis.study.run import StudyResult, run_study
from vaxis.study.stages.axis import axis_dir
from vaxis.study.stages.data import cohort_path

pytestmark = pytest.mark.slow


def _settings(root: Path) -> dict[str, Any]:
    return {
        "out": str(root / "study"),
        "data": {"subjects": 16, "windows": 10},
        "compute": {"executor": "serial"},
        "model": {
            "name": str(_build_tiny_model(root / "llama", "llama")),
            "cache_dir": str(root / "cache"),
        },
        "stages": {
            "axis": {
                "stories": str(write_stories(root / "stories.csv")),
                "validation_data": [
                    str(write_corpus(root / "planted.csv")),
                    str(write_corpus(root / "null.csv", kind="null")),
                ],
                "n_null": 200,
                "n_boot": 200,
            },
            "brain": {"permutations": 50, "random_directions": 50, "bootstrap": 50},
            "zoo": {"epochs": 2, "probe_nulls": 50, "probe_bootstrap": 50},
            "align": {"epochs": 2, "interventions": ["aux-mse-0.5", "rsa-1"]},
            # tested in test_saturation_ensemble.py; off here (a full run leaves them out)
            "saturation": {"enabled": False},
            "ensemble": {"enabled": False},
        },
    }


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StudyConfig, StudyResult]]:
    root = tmp_path_factory.mktemp("study")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("VAXIS_CACHE", str(root / "cache"))
        config = StudyConfig.model_validate(_settings(root))
        run_study(config, ["data", "axis"], progress=False)
        context = StudyContext(out=Path(config.out))
        truth = load_truth(cohort_path(config, context))
        from_truth(truth).save(axis_dir(context) / "stimulus_positions.csv")
        yield config, run_study(config, progress=False)


def _figures(result: StudyResult) -> dict[str, dict[str, Any]]:
    record = json.loads(result.results.read_text())
    return {s["name"]: s["figures"] for s in record["stages"]}


def test_every_stage_ran_and_the_results_follow_the_schema(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    _, result = done
    assert result.status == {
        "data": "skipped (done)",
        "axis": "skipped (done)",
        "models": "ran",
        "brain": "ran",
        "zoo": "ran",
        "align": "ran",
    }
    record = json.loads(result.results.read_text())
    jsonschema.Draft202012Validator(schema()).validate(record)
    assert record["synthetic"] and record["data"]["n_subjects"] == 16
    assert len(record["model"]["fingerprint"]) >= 16 and record["model"]["architecture"]
    figures = _figures(result)
    assert not any(f["synthetic"] for f in figures["axis"].values())  # real text, no EEG
    assert figures["models"] == {}  # one model: a note, no figure
    for name in ("brain", "zoo", "align"):
        assert figures[name] and all(f["synthetic"] for f in figures[name].values())


def test_planted_valence_is_found_and_the_null_corpus_is_not(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    figures = _figures(done[1])
    planted, null = (
        figures["axis"]["zero-shot auroc planted"],
        figures["axis"]["zero-shot auroc null"],
    )
    assert planted["value"] > 0.9 and planted["p"] < 0.05
    assert null["p"] > 0.05
    loso = figures["brain"]["eeg read-out r loso"]
    assert loso["value"] > 0.5 and loso["p"] < 0.05 and loso["ci"][0] > 0


def test_zoo_probe_and_interventions_report_each_arm(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    config, result = done
    figures = _figures(result)
    assert {"test balanced accuracy linear/plain", "test balanced accuracy mlp/plain"} <= set(
        figures["zoo"]
    )
    record = json.loads(result.results.read_text())
    zoo = next(s for s in record["stages"] if s["name"] == "zoo")
    rediscovery = next(t for t in zoo["tables"] if t["title"].startswith("rediscovery"))
    labels = sorted(row[0] for row in rediscovery["rows"])  # the shuffled-label null is not one
    assert labels == [
        "linear/plain/seed0",
        "linear/plain/seed1",
        "mlp/plain/seed0",
        "mlp/plain/seed1",
    ]
    arms = {k for k in figures["align"]}
    assert arms == {
        f"delta balanced accuracy {i} ({u})"
        for i in config.stages.align.interventions
        for u in ("subject", "seed")
    }


def test_the_report_renders_every_figure(done: tuple[StudyConfig, StudyResult]) -> None:
    record = json.loads(done[1].results.read_text())
    n_plots = sum(len(s["plots"]) for s in record["stages"])
    assert n_plots >= 9
    page = check_page(done[1].report)
    assert page.images == [True] * n_plots
    assert page.console == []


def test_a_cli_rerun_skips_everything_and_says_the_eeg_is_synthetic(
    done: tuple[StudyConfig, StudyResult], tmp_path: Path
) -> None:
    config, _ = done
    path = tmp_path / "study.json.yaml"
    path.write_text(json.dumps(config.model_dump(mode="json")))  # JSON is YAML
    app = typer.Typer()
    app.command()(study)
    run = CliRunner().invoke(app, [str(path), "--no-progress"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert run.output.count("skipped (done)") == 6  # data axis models brain zoo align
    assert "SYNTHETIC" in run.output and "report" in run.output


def test_a_cohort_without_valence_reruns_data_and_brain_only_and_finds_nothing(
    done: tuple[StudyConfig, StudyResult], tmp_path: Path
) -> None:
    config, _ = done
    null = tmp_path / "null.cohort.h5"
    write_synthetic(SynthConfig(n_subjects=16, n_windows=10, plant_valence=False), null)
    other = config.model_copy(update={"data": config.data.model_copy(update={"source": str(null)})})
    result = run_study(other, ["brain"], progress=False)
    assert result.status == {"data": "ran", "axis": "skipped (done)", "brain": "ran"}
    loso = _figures(result)["brain"]["eeg read-out r loso"]
    assert loso["p"] > 0.05


def test_changed_zoo_settings_report_only_the_runs_of_the_new_plan(
    done: tuple[StudyConfig, StudyResult], tmp_path: Path
) -> None:
    """The zoo's sweep store keeps the runs of earlier settings for reuse, but the stage reports
    exactly the runs its current plan names: after epochs 2 -> 3 and dropping the MLP, only the
    linear decoder's new runs are probed, and the old shuffled-label run is not in the null."""
    config, _ = done
    copy = tmp_path / "study"
    shutil.copytree(config.out, copy)
    zoo = config.stages.zoo.model_copy(update={"epochs": 3, "decoders": ("linear",)})
    changed = config.model_copy(
        update={"out": str(copy), "stages": config.stages.model_copy(update={"zoo": zoo})}
    )
    result = run_study(changed, ["zoo"], progress=False)
    assert result.status["zoo"] == "ran"
    record = json.loads(result.results.read_text())
    stage = next(s for s in record["stages"] if s["name"] == "zoo")
    rediscovery = next(t for t in stage["tables"] if t["title"].startswith("rediscovery"))
    assert sorted(row[0] for row in rediscovery["rows"]) == [
        "linear/plain/seed0",
        "linear/plain/seed1",
    ]
    figures = stage["figures"]
    assert not any("mlp" in name for name in figures)
    assert not any(len(part) == 64 for name in figures for part in name.split("/"))  # no raw keys
    probe = json.loads((copy / "stages" / "zoo" / "probe" / "probe.json").read_text())
    assert len(probe["shuffled_label_runs"]) == 1  # the new linear one; the old MLP's is not read
