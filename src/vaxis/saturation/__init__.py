"""Stage: the saturation regularity, read from the runs of `vaxis align`.

Basin strength rho = |<PC1 of class-mean features, V>| per checkpoint and per epoch
(:mod:`.basin`, :mod:`.epoch_probe`), the threshold of baseline accuracy above which V-axis
supervision stops helping (:mod:`.threshold`), basin against residual movement
(:mod:`.basin_movement`), gradient shares (:mod:`.gradient_share`) and the directional
ablation of the within-class residual (:mod:`.ablation`); :mod:`.report` (``SaturationConfig``,
``run_saturation``, ``SaturationReport``), :mod:`.plots`, :mod:`.cli` (`vaxis saturation`).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.saturation.report import SaturationConfig, SaturationReport, run_saturation

__all__ = ["SaturationConfig", "SaturationReport", "run_saturation"]
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "report"))
