"""Stage: probing trained decoders for the V-axis (the study's rediscovery).

Class-PC1 alignment and within-class residual alignment of every checkpoint's penultimate
features with the V-axis, against random-direction and shuffled-label nulls, and their
correlation with balanced accuracy across checkpoints. :mod:`.stage` (``ProbeStageConfig``,
``plan``, ``run`` and the ``ProbeStageReport``: `vaxis probe` as a library call),
:mod:`.measures` (pure measures), :mod:`.nulls` (``ProbeConfig``: how the probe is computed;
nulls, bootstrap), :mod:`.report` (``probe_runs``, the ``ProbeReport`` it returns, and
``probe.json``), :mod:`.cli` (`vaxis probe`).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import ProbeReport, probe_runs
    from vaxis.probe.stage import ProbeStageConfig, ProbeStageReport, plan, run

_MODULES = {"ProbeConfig": "nulls", "ProbeReport": "report", "probe_runs": "report"}
__all__ = [
    "ProbeConfig",
    "ProbeReport",
    "ProbeStageConfig",
    "ProbeStageReport",
    "plan",
    "probe_runs",
    "run",
]
__getattr__ = lazy_exports(
    __name__,
    _MODULES | {name: "stage" for name in ("ProbeStageConfig", "ProbeStageReport", "plan", "run")},
)
