"""A study run again in the same folder with other settings (smoke -> full run with other
seeds -> the smoke run again): each training stage reports exactly the runs its current plan
names, never the earlier settings' runs that the sweep stores keep beside them for reuse, and
its figures say SMOKE exactly when the current run is a smoke run (the axis stage stood in for
by the planted positions; about 20 s)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from tests.study.truth_axis import _positions as positions_file
from tests.study.truth_axis import truth_axis
from vaxis.study.config import StudyConfig
from vaxis.study.plan import make_plan
from vaxis.study.results import SMOKE_PREFIX, SMOKE_WARNING
from vaxis.study.run import StudyResult, run_study

STAGES = ["zoo", "align", "saturation", "ensemble"]
#: a plan's costs need a calibration: any rate will do (no time is estimated here)
CALIBRATION = {"flops_per_second": 1e9}


def _config(out: Path, smoke: bool, seeds: tuple[int, int]) -> StudyConfig:
    trained = {"smoke": smoke, "seeds": list(seeds)}
    zoo = {"decoders": ["linear", "mlp"], "epochs": 2, "probe_nulls": 20, "probe_bootstrap": 20}
    ensemble = {"width": 8, "heads": 2, "channel_tokens": 4, "epochs": [1, 2], "batch_size": 64}
    return StudyConfig.model_validate(
        {
            "out": str(out),
            "data": {"subjects": 12, "windows": 10},
            "compute": {"executor": "serial"},
            "stages": {
                "zoo": trained | zoo,
                "align": trained | {"epochs": 2, "interventions": ["aux-mse-0.5"]},
                "saturation": {"bootstrap": 200, "nulls": 20},
                "ensemble": trained | ensemble | {"lr": 0.01},
            },
        }
    )


def _planned(config: StudyConfig) -> dict[str, dict[str, str]]:
    """Training stage -> job id -> label, as ``vaxis study --plan`` names them."""
    with truth_axis(), pytest.MonkeyPatch.context() as patch:
        patch.setattr("vaxis.study.stages.axis.axis_dir", positions_file)  # what the run read
        plan = make_plan(config, STAGES, calibration=CALIBRATION)
    return {s["name"]: {j["id"]: j["label"] for j in s["jobs"]} for s in plan["stages"]}


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


def _check_reports_its_plan(config: StudyConfig, result: StudyResult) -> None:
    """The runs each training stage reports are its plan's; SMOKE exactly on a smoke run."""
    planned, stages = _planned(config), result.out / "stages"
    assert planned["zoo"] and planned["align"] and planned["ensemble"]
    probe = _read(stages / "zoo" / "probe" / "probe.json")
    probed = [p["name"] for p in probe["checkpoints"] + probe["shuffled_label_runs"]]
    assert sorted(name.rsplit("/", 1)[-1] for name in probed) == sorted(planned["zoo"])
    align = _read(stages / "align" / "align.json")["runs"]
    assert sorted(run["key"] for run in align) == sorted(planned["align"])
    saturation = _read(stages / "saturation" / "saturation.json")["runs"]
    arm_seeds = sorted((run["arm"], run["seed"]) for run in align)
    assert sorted((run["arm"], run["seed"]) for run in saturation) == arm_seeds
    ensemble = _read(stages / "ensemble" / "ensemble.json")
    members = {m["name"] for m in ensemble["members"]}
    members |= {name for step in ensemble["cascade"] for name in step["members"]}
    assert members == set(planned["ensemble"].values())
    assert ensemble["sweep"]["total"] == len(planned["ensemble"])

    record = _read(result.results)
    smoke = config.smoke
    assert record["smoke"] is smoke and (SMOKE_WARNING in (record["warning"] or "")) is smoke
    figures = 0
    for stage in record["stages"]:
        labelled = smoke and stage["name"] in STAGES
        assert (stage["notes"][:1] == [SMOKE_WARNING]) is labelled, stage["name"]
        for name, figure in stage["figures"].items():
            assert figure["protocol"].startswith(SMOKE_PREFIX) is labelled, name
            figures += 1
        rows = [row[0] for t in stage["tables"] for row in t["rows"]]
        seeds = {int(c.rsplit("seed", 1)[1]) for c in rows if "/seed" in c}
        assert seeds <= set(config.stages.zoo.seeds), (stage["name"], seeds)
    assert figures
    assert (html.escape(SMOKE_WARNING) in result.report.read_text()) is smoke


def test_a_rerun_with_other_settings_reports_only_its_own_runs_and_labels(
    tmp_path: Path,
) -> None:
    out = tmp_path / "study"
    smoke, full = _config(out, True, (0, 1)), _config(out, False, (2, 3))
    with truth_axis():
        first = run_study(smoke, STAGES, progress=False)
    _check_reports_its_plan(smoke, first)
    with truth_axis():
        second = run_study(full, STAGES, progress=False)
    assert {second.status[s] for s in STAGES} == {"ran"}
    _check_reports_its_plan(full, second)
    with truth_axis():
        again = run_study(smoke, STAGES, progress=False)  # every job reused, every stage re-read
    assert {again.status[s] for s in STAGES} == {"ran"}
    ensemble = _read(out / "stages" / "ensemble" / "ensemble.json")["sweep"]
    assert ensemble["already_done"] == ensemble["total"]
    _check_reports_its_plan(smoke, again)
