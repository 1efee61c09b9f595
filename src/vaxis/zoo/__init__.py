"""The decoder zoo: train decoders x regimes x recipe variants x seeds (x folds) as one
resumable sweep, report test balanced accuracy per decoder with its interval and its test
against chance, and probe the trained decoders for the V-axis (the study's rediscovery).

- :mod:`vaxis.zoo.config`: ``ZooSettings`` (the study's ``[stages.zoo]``) and ``ZooConfig``
  (those plus the paths and plumbing of one command).
- :mod:`vaxis.zoo.jobs`: the one job builder (``plan_jobs``) and ``plan(config)``, the jobs'
  cost: `vaxis train`, the study and ``vaxis study --plan`` build the same jobs.
- :mod:`vaxis.zoo.stage`: ``run(config) -> ZooReport`` (`vaxis train` prints it, the study's
  ``zoo`` stage keeps it); :mod:`vaxis.zoo.report`: the report and its figures.
- :mod:`vaxis.zoo.cli`: `vaxis train`.

Light to import (no torch): everything loads on first use.
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.zoo.config import ZooConfig, ZooSettings, ZooVariant
    from vaxis.zoo.jobs import plan
    from vaxis.zoo.report import ZooReport
    from vaxis.zoo.stage import run

_MODULES = {
    "ZooConfig": "config",
    "ZooSettings": "config",
    "ZooVariant": "config",
    "ZooReport": "report",
    "plan": "jobs",
    "run": "stage",
}
__all__ = ["ZooConfig", "ZooReport", "ZooSettings", "ZooVariant", "plan", "run"]
__getattr__ = lazy_exports(__name__, _MODULES)
