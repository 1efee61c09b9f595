"""Every stage package keeps the one contract (vaxis.core.stage): a typed, frozen config,
``plan(config)`` and ``run(config, compute=None) -> Report``, all exported by the package;
``compute`` places a training stage's jobs without touching a job's key."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import vaxis
from vaxis.sweep.compute import Compute, placed

REPORT_METHODS = ("figures", "tables", "plots", "notes", "to_json")


def _exported(package: object, annotation: object) -> object:
    """The class a (string) annotation of a stage's ``run`` names, from the package."""
    assert isinstance(annotation, str), annotation
    assert annotation in package.__all__, f"{annotation} is not exported"  # type: ignore[attr-defined]
    return getattr(package, annotation)


@pytest.mark.parametrize("name", vaxis.STAGES)
def test_every_stage_package_exports_config_plan_run_and_report(name: str) -> None:
    package = getattr(vaxis, name)
    assert package is importlib.import_module(f"vaxis.{name}")
    assert package.__doc__ and len(package.__doc__.split()) > 10  # says what the stage does
    assert {"plan", "run"} <= set(package.__all__)
    run = inspect.signature(package.run)
    config_name, compute, *rest = run.parameters.values()
    assert compute.name == "compute" and compute.default is None
    assert all(p.default is not inspect.Parameter.empty for p in rest)  # options, not inputs
    config = _exported(package, config_name.annotation)
    assert isinstance(config, type) and issubclass(config, BaseModel)
    assert config.model_config.get("frozen") and config.model_config.get("extra") == "forbid"
    report = _exported(package, run.return_annotation)
    assert all(callable(getattr(report, method, None)) for method in REPORT_METHODS)
    plan = inspect.signature(package.plan)
    assert next(iter(plan.parameters.values())).annotation == config_name.annotation


def test_stages_that_train_nothing_plan_no_jobs(tmp_path: Path) -> None:
    empty = str(tmp_path)
    configs = {
        "brain": vaxis.brain.BrainConfig(cohort=empty, positions="classes", out=empty),
        "probe": vaxis.probe.ProbeStageConfig(runs=empty, positions="classes", out=empty),
        "saturation": vaxis.SaturationConfig(align_out=empty, out=empty),
    }
    for name, config in configs.items():
        assert getattr(vaxis, name).plan(config) == [], name


def test_compute_places_the_jobs_and_leaves_the_science_alone(tmp_path: Path) -> None:
    config = vaxis.AlignConfig(cohort=tmp_path / "c.cohort.h5", positions="classes", seeds=(0, 1))
    compute = Compute(executor="serial", devices=("cpu",), jobs_per_device=2, compile=True)
    moved = placed(config, compute)
    assert (moved.executor, moved.devices, moved.jobs_per_device, moved.compile) == (
        "serial",
        ("cpu",),
        2,
        True,
    )
    assert moved.workers is None  # with devices: one worker per device slot
    fields = set(compute.executor_fields())
    assert moved.model_dump(exclude=fields) == config.model_dump(exclude=fields)
    assert placed(config, None) is config


def test_the_study_compute_section_is_a_compute() -> None:
    from vaxis.study.config import ComputeSettings

    study = ComputeSettings()
    assert isinstance(study, Compute) and study.workers == 2  # the study's default
    with pytest.raises(ValidationError, match="address is for executor = 'ray'"):
        Compute(executor="local", address="ray://head:10001")
