"""vaxis: a shared valence axis across language models and human EEG.

Reproduces and extends "A Shared Valence Axis Across Modern LLMs and Human EEG:
The Saturation Regularity" (arXiv:2606.00129).

The notebook API (imported on first use, so ``import vaxis`` stays light)::

    import vaxis
    cohort, truth = vaxis.synthesize_features(vaxis.SynthConfig(n_subjects=12))
    report = vaxis.evaluate_readout(cohort, vaxis.from_truth(truth))

Every stage is a package with one shape (:mod:`vaxis.core.stage`): ``vaxis.<stage>`` exports
its config, ``plan(config)`` (its training jobs and their cost) and ``run(config,
compute=None)`` (its report), for the stages ``cohort``, ``axis``, ``brain``, ``zoo``,
``probe``, ``align``, ``saturation`` and ``ensemble`` (e.g.
``vaxis.align.run(vaxis.AlignConfig(cohort=..., positions=...))``). Besides: the low-level
calls ``build_axis``/``validate_axis`` (the V-axis), ``evaluate_readout`` (EEG read-out),
``run_experiment`` (one decoder) and ``probe_runs`` (rediscovery); the study:
``load_config``, ``preset``, ``make_plan``, ``run_study``; the cohort loaders.
"""

import importlib
from typing import TYPE_CHECKING, Any

from vaxis.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # data
    "Cohort": "data.cohort",
    "open_any": "data.sources",
    "open_features": "data.sources",
    "as_cohort_file": "data.sources",
    "convert": "data.sources",
    "SynthConfig": "data.synthetic",
    "synthesize_features": "data.synthetic",
    "SPLITTERS": "data.splits",
    # positions
    "StimulusPositions": "core.positions",
    "from_truth": "core.positions",
    "from_valence_groups": "core.positions",
    "resolve_positions": "axis.positions",
    # stages
    "AxisBuildConfig": "axis.build",
    "build_axis": "axis.build",
    "validate_axis": "axis.validate",
    "ReadoutConfig": "brain.mapping",
    "evaluate_readout": "brain.mapping",
    "TrainConfig": "decoders.train",
    "InputConfig": "decoders.experiment",
    "run_experiment": "decoders.experiment",
    "ProbeConfig": "probe.nulls",
    "probe_runs": "probe.report",
    "AlignConfig": "align.config",
    "SaturationConfig": "saturation.config",
    "EnsembleConfig": "ensemble.recipe",
    # the study
    "StudyConfig": "study.config",
    "load_config": "study.config",
    "preset": "study.presets",
    "make_plan": "study.plan",
    "run_study": "study.run",
}

if TYPE_CHECKING:
    from vaxis import align, axis, brain, cohort, ensemble, probe, saturation, zoo
    from vaxis.align.config import AlignConfig
    from vaxis.axis.build import AxisBuildConfig, build_axis
    from vaxis.axis.positions import resolve_positions
    from vaxis.axis.validate import validate_axis
    from vaxis.brain.mapping import ReadoutConfig, evaluate_readout
    from vaxis.core.positions import StimulusPositions, from_truth, from_valence_groups
    from vaxis.data.cohort import Cohort
    from vaxis.data.sources import as_cohort_file, convert, open_any, open_features
    from vaxis.data.splits import SPLITTERS
    from vaxis.data.synthetic import SynthConfig, synthesize_features
    from vaxis.decoders.experiment import InputConfig, run_experiment
    from vaxis.decoders.train import TrainConfig
    from vaxis.ensemble.recipe import EnsembleConfig
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import probe_runs
    from vaxis.saturation.config import SaturationConfig
    from vaxis.study.config import StudyConfig, load_config
    from vaxis.study.plan import make_plan
    from vaxis.study.presets import preset
    from vaxis.study.run import run_study

__all__ = [
    "SPLITTERS",
    "STAGES",
    "AlignConfig",
    "AxisBuildConfig",
    "Cohort",
    "EnsembleConfig",
    "InputConfig",
    "ProbeConfig",
    "ReadoutConfig",
    "SaturationConfig",
    "StimulusPositions",
    "StudyConfig",
    "SynthConfig",
    "TrainConfig",
    "__version__",
    "align",
    "as_cohort_file",
    "axis",
    "brain",
    "build_axis",
    "cohort",
    "convert",
    "ensemble",
    "evaluate_readout",
    "from_truth",
    "from_valence_groups",
    "load_config",
    "make_plan",
    "open_any",
    "open_features",
    "preset",
    "probe",
    "probe_runs",
    "resolve_positions",
    "run_experiment",
    "run_study",
    "saturation",
    "synthesize_features",
    "validate_axis",
    "zoo",
]
#: the stage packages, ``vaxis.<name>`` (each: its config, ``plan``, ``run``, its report)
STAGES = ("cohort", "axis", "brain", "zoo", "probe", "align", "saturation", "ensemble")
_export = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    """A stage package or an exported name, imported on first use."""
    if name in STAGES:
        return importlib.import_module(f"{__name__}.{name}")
    return _export(name)
