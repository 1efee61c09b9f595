"""The zoo's report: test balanced accuracy per decoder with its interval and its test
against chance, and the probe's rediscovery figures (a :class:`~vaxis.core.stage.StageReport`:
what `vaxis train` prints and the study's ``zoo`` stage keeps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from vaxis.core.reported import Figure, Plot, Table
from vaxis.core.stage import parts_json

if TYPE_CHECKING:
    from vaxis.decoders.chance import ChanceTest
    from vaxis.probe.stage import ProbeStageReport
    from vaxis.sweep import SweepSummary

Results = dict[str, dict[str, Any]]


def groups(results: Results) -> dict[str, list[dict[str, Any]]]:
    """Run label -> metrics, pooled over seeds (``decoder/regime[/variant]``); the
    shuffled-label null is no group."""
    pooled: dict[str, list[dict[str, Any]]] = {}
    for label, result in results.items():
        if "shuffled" not in label:
            pooled.setdefault(label.rsplit("/", 1)[0], []).append(result)
    return pooled


def tested(runs: list[dict[str, Any]]) -> ChanceTest | None:
    """The test against chance of a group, seeds combined (None: a run predates it)."""
    from vaxis.decoders.chance import ChanceTest, combine

    if not all("chance" in run for run in runs):
        return None
    return combine([ChanceTest.from_dict(run["chance"]) for run in runs])


def accuracy_figures(
    results: Results, chance: float, synthetic: bool
) -> tuple[dict[str, Figure], Table]:
    """Per decoder and regime: test balanced accuracy per subject (mean over seeds), with a
    t interval over test subjects and the test against chance at the unit of the claim
    (:mod:`vaxis.decoders.chance`; seeds combined), never a t over subjects against 1/K."""
    figures, rows = {}, []
    for name, runs in groups(results).items():
        per_seed = [run["test"]["per_subject_balanced_accuracy"] for run in runs]
        subjects = sorted(per_seed[0])
        values = np.array([np.mean([seed[s] for seed in per_seed]) for s in subjects])
        mean, n = float(values.mean()), values.size
        test = tested(runs)
        p = None if test is None else test.p
        ci = None
        if n > 1 and np.ptp(values) > 0:
            low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(values))
            ci = (float(low), float(high))
        described = "not recorded (run older than the test)" if test is None else test.describe()
        units = "-" if test is None else f"{test.n_test_units} {test.unit}s"
        rows.append(
            [
                name,
                str(len(runs)),
                str(n),
                units,
                f"{mean:.3f}",
                "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                "-" if p is None else f"{p:.3g}",
                "-" if test is None else test.kind,
            ]
        )
        if ci is None and p is None:
            continue  # no interval and no test: shown, not a figure
        figures[f"test balanced accuracy {name}"] = Figure(
            value=mean,
            protocol=f"balanced accuracy per held-out test subject, mean over {len(runs)} "
            f"seed(s); t 95% CI over {n} test subjects (conditional on the test clips); "
            f"{described}; nominal chance 1/K = {chance:.3f} (not the null)",
            n=n,
            ci=ci,
            ci_level=None if ci is None else 0.95,
            p=p,
            synthetic=synthetic,
        )
    columns = [
        "decoder/regime",
        "seeds",
        "test subjects",
        "test units",
        "balanced accuracy",
        "95% CI",
        "p (> chance, per unit)",
        "chance test",
    ]
    note = (
        "p: permutation test at the unit labels are assigned to (clips; categories for a "
        "coarser target), never a t over subjects against 1/K. refit: decoder refitted on "
        "permuted clip labels; predictions: held-out clips relabelled, the trained model kept; "
        "none: test clips were seen in training and the decoder is not refitted."
    )
    return figures, Table(
        title="decoder zoo: test balanced accuracy", columns=columns, rows=rows, note=note
    )


def chance_table(results: Results, splits: dict[str, str]) -> tuple[Table, list[str]]:
    """The test against chance per split and group (seeds combined) with its unit and its n
    at both levels, and one line per group saying what was tested; ``splits``: run label ->
    the split it ran on."""
    rows, lines = [], []
    for name, runs in groups(results).items():
        label = next(k for k in results if k.rsplit("/", 1)[0] == name)
        split, test = splits[label], tested(runs)
        if test is None:
            rows.append([split, name, str(len(runs)), "-", "-", "-", "-", "not recorded"])
            continue
        kind = test.kind if test.kind == "none" else f"{test.kind} x{len(test.null)}"
        rows.append([split, name, str(len(runs)), str(test.n_subjects),
                     f"{test.n_test_units} of {test.n_units} {test.unit}s",
                     f"{test.statistic:.3f}", "-" if test.p is None else f"{test.p:.3g}",
                     kind])  # fmt: skip
        lines.append(f"{split} {name}: {test.describe()}")
    columns = ["split", "decoder/regime", "seeds", "subjects", "test units", "mean", "p", "test"]
    title = (
        "above chance at the unit of the claim (mean per-subject balanced accuracy, seeds combined)"
    )
    return Table(title=title, columns=columns, rows=rows), lines


def runs_table(results: Results) -> Table:
    """One row per run: its selected epoch and validation and test balanced accuracy."""
    rows = []
    for label, result in results.items():
        val = result.get("val")
        rows.append([label, str(result["training"]["best_epoch"] or "-"),
                     "-" if val is None else f"{val['balanced_accuracy']:.3f}",
                     f"{result['test']['balanced_accuracy']:.3f}"])  # fmt: skip
    columns = ["run", "best epoch", "val", "test"]
    return Table(title="runs (balanced accuracy)", columns=columns, rows=rows)


@dataclass
class ZooReport:
    """The zoo's runs, their figures and the probe (a StageReport)."""

    #: run name -> its metrics.json
    results: Results
    #: run name -> its folder
    folders: dict[str, Path]
    #: run name -> the split it ran on
    splits: dict[str, str]
    #: nominal chance 1/K (named beside each figure, never the null)
    chance: float
    synthetic: bool
    sweep: SweepSummary
    #: the probe of the runs (None: no positions given)
    probe: ProbeStageReport | None = None
    #: lines on the inputs (e.g. what a weights file does), before the figures' notes
    preamble: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Figure]:
        """Test balanced accuracy per decoder/regime, then the probe's figures."""
        figures = accuracy_figures(self.results, self.chance, self.synthetic)[0]
        if self.probe is not None:
            figures |= self.probe.figures()
        return figures

    def tables(self) -> list[Table]:
        tables = [
            accuracy_figures(self.results, self.chance, self.synthetic)[1],
            chance_table(self.results, self.splits)[0],
            runs_table(self.results),
        ]
        if self.probe is not None:
            tables += self.probe.tables()
        return tables

    def plots(self) -> list[Plot]:
        return [] if self.probe is None else self.probe.plots()

    def notes(self) -> list[str]:
        """The inputs' lines, what each test against chance tested, the probe's notes."""
        lines = chance_table(self.results, self.splits)[1]
        probe = [] if self.probe is None else self.probe.notes()
        return [*self.preamble, *lines, *probe]

    def to_json(self) -> dict[str, Any]:
        """The report's parts and each run's folder."""
        folders = {name: str(path) for name, path in self.folders.items()}
        return {**parts_json(self), "runs": folders}
