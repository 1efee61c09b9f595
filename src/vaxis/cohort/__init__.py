"""The study's first stage: the cohort every other stage reads (synthetic, or the user's
FACED / SEED-V features resolved through :mod:`vaxis.data.sources` into one cohort file).

``run(CohortConfig(...))`` (:mod:`.stage`) makes or reads the cohort and returns a
``CohortReport``; ``[data]`` of a study config is :class:`~.settings.CohortSettings`.
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.cohort.settings import CohortSettings
    from vaxis.cohort.stage import CohortConfig, CohortReport, plan, run

__all__ = ["CohortConfig", "CohortReport", "CohortSettings", "plan", "run"]
__getattr__ = lazy_exports(
    __name__,
    {"CohortSettings": "settings"}
    | {name: "stage" for name in ("CohortConfig", "CohortReport", "plan", "run")},
)
