"""Stage: the saturation regularity, read from the runs of `vaxis align`.

Basin strength rho = |<PC1 of class-mean features, V>| per checkpoint and per epoch
(:mod:`.basin`, :mod:`.epoch_probe`), the threshold of baseline accuracy above which V-axis
supervision stops helping (:mod:`.threshold`), basin against residual movement
(:mod:`.basin_movement`), gradient shares (:mod:`.gradient_share`) and the directional
ablation of the within-class residual (:mod:`.ablation`); :mod:`.config` (``SaturationSettings``,
the study's ``[stages.saturation]``, and ``SaturationConfig``), :mod:`.stage`
(``plan``, ``run``), :mod:`.records` (the typed ``SaturationReport``, a stage report),
:mod:`.tables` (its figures and tables), :mod:`.plots`, :mod:`.cli` (`vaxis saturation`).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.saturation.config import SaturationConfig, SaturationSettings
    from vaxis.saturation.records import SaturationReport
    from vaxis.saturation.stage import plan, run

_MODULES = {"SaturationConfig": "config", "SaturationSettings": "config"}
__all__ = ["SaturationConfig", "SaturationReport", "SaturationSettings", "plan", "run"]
__getattr__ = lazy_exports(
    __name__, _MODULES | {"SaturationReport": "records", "plan": "stage", "run": "stage"}
)
