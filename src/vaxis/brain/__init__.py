"""EEG read-out of the V-axis: cohort tensor, linear read-out, honest figures, topography.

``run(BrainConfig(cohort=..., positions=..., out=...))`` fits and evaluates the read-out,
writes ``readout.json``, the positions and the plots, and returns a :class:`BrainReport`
(what `vaxis brain map` prints and the study's ``brain`` stage keeps). ``[stages.brain]`` of a
study config is :class:`BrainSettings`. Imported on first use (no numpy on import).
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.brain.mapping import ReadoutConfig, evaluate_readout
    from vaxis.brain.settings import BrainSettings
    from vaxis.brain.stage import BrainConfig, BrainReport, plan, run

__all__ = [
    "BrainConfig",
    "BrainReport",
    "BrainSettings",
    "ReadoutConfig",
    "evaluate_readout",
    "plan",
    "run",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "BrainConfig": "stage",
        "BrainReport": "stage",
        "BrainSettings": "settings",
        "ReadoutConfig": "mapping",
        "evaluate_readout": "mapping",
        "plan": "stage",
        "run": "stage",
    },
)
