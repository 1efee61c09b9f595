"""run_study's orchestration on two stand-in stages: order, prerequisites, caching (skipped
when done, re-run when its config or an input changed, re-run after a failure), results.json
against its schema, and a report that renders in headless Chromium."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tests.study.chromium import check_page, chromium
from tests.study.fakes import FAIL
from tests.test_folder_lock import hold_in_another_process
from vaxis.folder_lock import FolderInUseError
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StudyError, plan
from vaxis.study.results import schema
from vaxis.study.run import run_study


def _config(tmp_path: Path, **brain: int) -> StudyConfig:
    return StudyConfig.model_validate(
        {"out": str(tmp_path / "out"), "data": {"subjects": 6}, "stages": {"brain": brain}}
    )


def test_prerequisites_run_first_and_unknown_stages_are_named(fake_stages: Counter) -> None:
    assert plan(["second"]) == ["first", "second"]
    assert plan(None) == ["first", "second"]
    with pytest.raises(StudyError, match=r"unknown stage\(s\) \['brian'\] \(allowed: first"):
        plan(["brian"])


def test_a_rerun_skips_what_is_done_and_says_so(fake_stages: Counter, tmp_path: Path) -> None:
    said: list[str] = []
    first = run_study(_config(tmp_path), progress=False, say=said.append)
    assert first.status == {"first": "ran", "second": "ran"}
    again = run_study(_config(tmp_path), progress=False, say=said.append)
    assert again.status == {"first": "skipped (done)", "second": "skipped (done)"}
    assert fake_stages == {"first": 1, "second": 1}
    assert "[1/2] first: skipped (done)" in said and "[2/2] second: skipped (done)" in said


def test_a_changed_section_reruns_its_stage_and_what_depends_on_it(
    fake_stages: Counter, tmp_path: Path
) -> None:
    run_study(_config(tmp_path), progress=False)
    changed = run_study(_config(tmp_path, permutations=7), progress=False)
    assert changed.status == {"first": "skipped (done)", "second": "ran"}
    other_data = _config(tmp_path, permutations=7).model_copy(
        update={"data": StudyConfig().data.model_copy(update={"subjects": 9})}
    )
    assert run_study(other_data, progress=False).status == {"first": "ran", "second": "ran"}
    record = json.loads((tmp_path / "out" / "results.json").read_text())
    assert record["stages"][1]["figures"]["permutations"]["value"] == 7


def test_a_failed_stage_runs_again_and_a_partial_run_reports_earlier_stages(
    fake_stages: Counter, tmp_path: Path
) -> None:
    FAIL.add("second")
    with pytest.raises(RuntimeError, match="on purpose"):
        run_study(_config(tmp_path), progress=False)
    FAIL.clear()
    assert run_study(_config(tmp_path), ["second"], progress=False).status["second"] == "ran"
    alone = run_study(_config(tmp_path), ["first"], progress=False)
    record = json.loads(alone.results.read_text())
    assert [s["status"] for s in record["stages"]] == ["skipped (done)", "done earlier"]


def test_results_follow_the_schema_and_the_schema_can_fail(
    fake_stages: Counter, tmp_path: Path
) -> None:
    result = run_study(_config(tmp_path), progress=False)
    record = json.loads(result.results.read_text())
    validator = jsonschema.Draft202012Validator(schema())
    validator.validate(record)
    assert record["synthetic"] and "SYNTHETIC" in record["warning"]
    assert set(record["software"]) >= {"python", "vaxis", "numpy", "torch", "transformers"}
    plot = record["stages"][0]["plots"][0]
    assert (result.out / plot["png"]).is_file() and (result.out / plot["svg"]).is_file()
    figure = record["stages"][1]["figures"]["permutations"]
    figure["p"] = None  # neither CI nor p: not a reportable figure
    assert not validator.is_valid(record)
    with pytest.raises(ValueError, match="needs a CI or a p-value"):
        Figure(value=1.0, protocol="x", n=3, synthetic=False)


def test_the_report_is_self_contained_and_renders(fake_stages: Counter, tmp_path: Path) -> None:
    result = run_study(_config(tmp_path), progress=False)
    text = result.report.read_text()
    assert 'id="synthetic-banner"' in text and "SYNTHETIC EEG" in text
    assert "&lt;x&gt;" in text  # table cells are escaped
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # no external URL
    page = check_page(result.report)
    assert page.images == [True]  # the one plot, decoded
    assert page.console == []


def test_the_page_check_sees_a_broken_figure(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
        "<script>console.error('boom')</script></body></html>"
    )
    check = check_page(page)
    assert check.images == [False]
    assert any("boom" in line for line in check.console)


def test_a_missing_browser_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium here
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        chromium()


def test_a_second_study_on_a_held_folder_is_refused_and_does_no_work(
    fake_stages: Counter, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    config = StudyConfig.model_validate({"out": str(out), "data": {"subjects": 6}})
    other = hold_in_another_process(out)
    try:
        with pytest.raises(FolderInUseError, match=rf"in use by process {other.pid} \(vaxis study"):
            run_study(config, progress=False)
        assert sum(fake_stages.values()) == 0  # no stage ran beside the other process
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    assert run_study(config, progress=False).status == {"first": "ran", "second": "ran"}
