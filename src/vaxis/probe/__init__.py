"""Stage: probing trained decoders for the V-axis (the study's rediscovery).

Class-PC1 alignment and within-class residual alignment of every checkpoint's penultimate
features with the V-axis, against random-direction and shuffled-label nulls, and their
correlation with balanced accuracy across checkpoints. :mod:`.measures` (pure measures),
:mod:`.nulls` (``ProbeConfig``, nulls, bootstrap), :mod:`.report` (``probe_runs`` and the
``ProbeReport``), :mod:`.cli` (`vaxis probe`).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.probe.nulls import ProbeConfig
    from vaxis.probe.report import ProbeReport, probe_runs

__all__ = ["ProbeConfig", "ProbeReport", "probe_runs"]
__getattr__ = lazy_exports(
    __name__, {"ProbeConfig": "nulls", "ProbeReport": "report", "probe_runs": "report"}
)
