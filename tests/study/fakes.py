"""Two tiny stages registered in place of the real ones (test helper, no tests here).

``first`` (uses ``[data]``) draws a plot and reports one figure with a CI; ``second``
requires ``first`` and uses ``[stages.brain]``. Each call is counted, so tests can tell a stage
that ran from one that was skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from matplotlib.figure import Figure as Drawing

from vaxis.plotting import save_figure
from vaxis.study import registry
from vaxis.study.config import StudyConfig
from vaxis.study.registry import Figure, StageResult, StudyContext, Table, stage

CALLS: Counter[str] = Counter()
FAIL: set[str] = set()


def _first(config: StudyConfig, context: StudyContext) -> StageResult:
    CALLS["first"] += 1
    drawing = Drawing(figsize=(3, 2))
    drawing.add_subplot().plot([0, 1], [0, config.data.subjects])
    png, _ = save_figure(drawing, context.folder("first") / "line")
    figure = Figure(
        value=0.5,
        protocol="planted",
        n=config.data.subjects,
        ci=(0.4, 0.6),
        ci_level=0.95,
        synthetic=config.data.synthetic,
    )
    data = {
        "source": config.data.source,
        "dataset": "faced",
        "synthetic": True,
        "n_subjects": config.data.subjects,
        "n_stimuli": 28,
    }
    return StageResult(
        figures={"half": figure},
        tables=[Table(title="t", columns=["a", "b"], rows=[["<x>", "1"]])],
        plots=[context.plot("a line", png)],
        provenance={"data": data},
    )


def _second(config: StudyConfig, context: StudyContext) -> StageResult:
    CALLS["second"] += 1
    if "second" in FAIL:
        raise RuntimeError("second fails on purpose")
    figure = Figure(
        value=config.stages.brain.permutations, protocol="count", n=1, p=0.5, synthetic=True
    )
    return StageResult(figures={"permutations": figure})


@pytest.fixture
def fake_stages() -> Iterator[Counter[str]]:
    """Replace the registry's stages by ``first`` and ``second`` for one test."""
    saved = dict(registry.STAGES)
    registry.STAGES.clear()
    CALLS.clear()
    FAIL.clear()
    stage("first", "First stage", uses=("data",))(_first)
    stage("second", "Second stage", requires=("first",), uses=("stages.brain",))(_second)
    try:
        yield CALLS
    finally:
        registry.STAGES.clear()
        registry.STAGES.update(saved)
