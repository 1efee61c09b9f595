"""vaxis: a shared valence axis across language models and human EEG.

Reproduces and extends "A Shared Valence Axis Across Modern LLMs and Human EEG:
The Saturation Regularity" (arXiv:2606.00129).

The notebook API: every stage's config and its call, the study, and the cohort loaders, as
``vaxis.<name>`` (imported on first use, so ``import vaxis`` stays light)::

    import vaxis
    cohort, truth = vaxis.synthesize_features(vaxis.SynthConfig(n_subjects=12))
    report = vaxis.evaluate_readout(cohort, vaxis.from_truth(truth))

Stages: ``build_axis``/``validate_axis`` (the V-axis), ``evaluate_readout`` (EEG read-out),
``run_experiment`` (one decoder), ``probe_runs`` (rediscovery), ``run_align``
(interventions), ``run_saturation``, ``run_ensemble``; the study: ``load_config``,
``preset``, ``make_plan``, ``run_study``.
"""

from typing import TYPE_CHECKING

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
    "AlignConfig": "align.run",
    "run_align": "align.run",
    "SaturationConfig": "saturation.report",
    "run_saturation": "saturation.report",
    "EnsembleConfig": "ensemble.recipe",
    "run_ensemble": "ensemble.run",
    # the study
    "StudyConfig": "study.config",
    "load_config": "study.config",
    "preset": "study.presets",
    "make_plan": "study.plan",
    "run_study": "study.run",
}

if TYPE_CHECKING:
    from vaxis.align.run import AlignConfig, run_align
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
    from vaxis.ensemble.run import run_ensemble
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import probe_runs
    from vaxis.saturation.report import SaturationConfig, run_saturation
    from vaxis.study.config import StudyConfig, load_config
    from vaxis.study.plan import make_plan
    from vaxis.study.presets import preset
    from vaxis.study.run import run_study

__all__ = [
    "SPLITTERS",
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
    "as_cohort_file",
    "build_axis",
    "convert",
    "evaluate_readout",
    "from_truth",
    "from_valence_groups",
    "load_config",
    "make_plan",
    "open_any",
    "open_features",
    "preset",
    "probe_runs",
    "resolve_positions",
    "run_align",
    "run_ensemble",
    "run_experiment",
    "run_saturation",
    "run_study",
    "synthesize_features",
    "validate_axis",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
