"""The saturation and ensemble stages: switched by their config, align's per-epoch probes only
while saturation is on (its cache check unchanged while off), and, slow, both stages end to
end on a tiny synthetic cohort whose valence is planted (the axis stage stood in for by the
planted positions): figures valid against the schema, the published figures labelled, the
report rendered, and a re-run skipped."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.study.chromium import check_page
from tests.study.fakes import CALLS
from tests.study.truth_axis import truth_axis
from vaxis.study import cache
from vaxis.study.config import StudyConfig
from vaxis.study.registry import STAGES, StageResult, StudyContext, StudyError, plan, stage
from vaxis.study.results import schema
from vaxis.study.run import StudyResult, run_study


def _config(tmp_path: Path, **stages: dict[str, Any]) -> StudyConfig:
    return StudyConfig.model_validate(
        {"out": str(tmp_path / "out"), "data": {"subjects": 6}, "stages": stages}
    )


def _optional(config: StudyConfig, context: StudyContext) -> StageResult:
    CALLS["optional"] += 1
    return StageResult()


def test_a_disabled_stage_is_left_out_and_asking_for_it_names_the_key(
    fake_stages: Counter, tmp_path: Path
) -> None:
    enabled = _config(tmp_path)
    switch = lambda config: config.stages.ensemble.enabled  # noqa: E731
    stage("ensemble", "Optional", requires=("first",), enabled=switch)(_optional)
    off = _config(tmp_path, ensemble={"enabled": False})
    assert plan(None, enabled) == ["first", "second", "ensemble"]
    assert plan(None, off) == ["first", "second"]
    with pytest.raises(StudyError, match=r"\[stages.ensemble\] enabled = true"):
        plan(["ensemble"], off)
    assert run_study(off, progress=False).status == {"first": "ran", "second": "ran"}
    assert run_study(enabled, progress=False).status["ensemble"] == "ran"
    assert fake_stages["optional"] == 1


def _align_configs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *configs: StudyConfig
) -> list[Any]:
    """The AlignConfig the align stage's run works on for each config (its run stood in
    for: the config placed where ``compute`` says, as the run does first)."""
    import vaxis.align.stage
    from vaxis.sweep.compute import placed

    seen: list[Any] = []

    def capture(config: Any, compute: Any, progress: bool) -> None:
        seen.append(placed(config, compute))
        raise StopIteration  # enough: the config is what the tests read

    monkeypatch.setattr(vaxis.align.stage, "run", capture)
    for config in configs:
        with pytest.raises(StopIteration):
            STAGES["align"].fn(config, StudyContext(out=tmp_path))
    return seen


def test_saturation_switches_align_epoch_probes_and_only_then_its_cache_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    align = STAGES["align"]
    on = _config(tmp_path, align={"epochs": 2})
    off = _config(tmp_path, align={"epochs": 2}, saturation={"enabled": False})
    other = _config(tmp_path, align={"epochs": 2}, saturation={"bootstrap": 200, "nulls": 5})
    seen = _align_configs(monkeypatch, tmp_path, on, off)
    assert [c.epoch_probe for c in seen] == [True, False]
    assert seen[0].model_dump(exclude={"epoch_probe"}) == seen[1].model_dump(
        exclude={"epoch_probe"}
    )
    keys = {cache.stage_key(align, c) for c in (on, off, other)}
    assert len(keys) == 1  # the saturation section is not part of align's key
    assert align.fingerprint is not None
    assert align.fingerprint(off) == ""  # off: align's cache check is as without saturation
    assert align.fingerprint(on) == align.fingerprint(other) != ""


def test_compute_replaces_the_per_stage_workers_switch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = StudyConfig.model_validate(
        {"out": str(tmp_path), "compute": {"executor": "serial", "workers": 3}}
    )
    seen = _align_configs(monkeypatch, tmp_path, config)
    assert (seen[0].executor, seen[0].workers, seen[0].ray_address) == ("serial", 3, None)
    assert cache.stage_key(STAGES["zoo"], config) == cache.stage_key(
        STAGES["zoo"], StudyConfig(out=str(tmp_path))
    )  # the executor changes no result: no re-run


# --------------------------------------------- end to end (about 6 s: the module's fixture)
def _tiny(root: Path) -> StudyConfig:
    return StudyConfig.model_validate(
        {
            "out": str(root / "study"),
            "data": {"subjects": 12, "windows": 10},
            "compute": {"executor": "serial"},
            "stages": {
                "align": {"epochs": 2, "interventions": ["aux-mse-0.5", "rsa-1"]},
                "saturation": {"bootstrap": 200, "nulls": 20},
                "ensemble": {
                    "width": 8,
                    "heads": 2,
                    "channel_tokens": 4,
                    "epochs": [1, 2],
                    "batch_size": 64,
                    "lr": 0.01,
                },
            },
        }
    )


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StudyConfig, StudyResult]]:
    config = _tiny(tmp_path_factory.mktemp("study"))
    with truth_axis():
        yield config, run_study(config, ["saturation", "ensemble"], progress=False)


def _stages(result: StudyResult) -> dict[str, dict[str, Any]]:
    record = json.loads(result.results.read_text())
    jsonschema.Draft202012Validator(schema()).validate(record)
    return {s["name"]: s for s in record["stages"]}


def test_both_stages_report_valid_synthetic_figures(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    stages = _stages(done[1])
    assert done[1].status == dict.fromkeys(
        ["data", "axis", "align", "saturation", "ensemble"], "ran"
    )
    for name in ("saturation", "ensemble"):
        figures = stages[name]["figures"]
        assert figures and all(f["synthetic"] for f in figures.values())
        assert all(f["ci"] is not None or f["p"] is not None for f in figures.values())
    saturation = stages["saturation"]
    assert {f"ablation z {a}/seed{s}" for a in ("baseline", "rsa-1") for s in (0, 1)} <= set(
        saturation["figures"]
    )
    tables = {t["title"]: t for t in saturation["tables"]}
    per_epoch = tables["basin strength rho per epoch (validation subjects) and saturation epoch"]
    assert len(per_epoch["rows"]) == 6 and per_epoch["columns"][-2:] == ["epoch 1", "epoch 2"]
    crossing = tables["threshold"]["rows"][0]  # 2 align seeds: 2 baselines, 4 pairs
    assert crossing[:3] == ["crossing", crossing[1], "4"] and crossing[-1] in (
        "transition",
        "no transition",
    )
    assert crossing[3] == "-" and "threshold crossing" not in saturation["figures"]  # no CI
    assert "needs 3+ baselines" in tables["threshold"]["note"]


def test_the_ensemble_shows_published_figures_beside_its_own(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    ensemble = _stages(done[1])["ensemble"]
    arms = ensemble["tables"][0]
    published = {r[0]: r[2] for r in arms["rows"] if r[1] == "published, not run here"}
    assert published["CBraMod"] == "0.5720" and published["EMOD (prior best)"] == "0.6287"
    assert published["study: ensemble"] == "0.6948"
    ours = [r[0] for r in arms["rows"] if r[1] == "run here"]
    assert {"uniform ensemble", "best single", "seed ensemble (2)", "residual-diverse (2)"} <= set(
        ours
    )
    figures = ensemble["figures"]
    pairs = [k for k in figures if k.startswith("paired comparisons: ")]
    assert "paired comparisons: residual-diverse (2) - seed ensemble (2)" in pairs
    assert "paired comparisons: residual-diverse (2) - best single" in pairs
    assert all(0 <= figures[k]["p"] <= 1 for k in pairs)
    steps = [r[0] for r in ensemble["tables"][2]["rows"]]
    assert steps == ["depth 1", "+augmentation", "+distillation", "depth 2", "uniform ensemble"]


def test_the_report_renders_the_new_stages_and_a_rerun_skips_them(
    done: tuple[StudyConfig, StudyResult],
) -> None:
    config, result = done
    stages = _stages(result)
    n_plots = sum(len(stages[n]["plots"]) for n in ("saturation", "ensemble"))
    assert n_plots == 6
    text = result.report.read_text()
    assert "Saturation of the valence basin" in text and "published, not run here" in text
    page = check_page(result.report)
    assert page.images == [True] * sum(len(s["plots"]) for s in stages.values())
    assert page.console == []
    with truth_axis():
        again = run_study(config, ["saturation", "ensemble"], progress=False)
    assert set(again.status.values()) == {"skipped (done)"}
