"""Alignment interventions compared with the baseline: paired tests, effect sizes, forest plots.

- :mod:`vaxis.align.interventions` (auxiliary losses) and :mod:`vaxis.align.procedures`
  (training procedures): the study's 25 interventions and extra families, with controls.
- :mod:`vaxis.align.config`: ``AlignSettings`` (the study's ``[stages.align]``) and
  ``AlignConfig`` (those plus the paths and plumbing of one command).
- :mod:`vaxis.align.stage`: `vaxis align` as a library call (:func:`~vaxis.align.stage.run`,
  returning an :class:`~vaxis.align.report.AlignReport`, a stage report: figures, tables,
  plots; :func:`~vaxis.align.stage.plan` lists its jobs and their cost).
- :mod:`vaxis.align.null_experiment`: false-positive rate and power of every test through real
  training on synthetic cohorts.
- :mod:`vaxis.align.forest`: forest plot of the comparison table.

The paired tests (the crossed t over runs x subjects that decides, the study's paired t over
seeds, Wilcoxon, sign-flip, Nadeau-Bengio) and the comparison table are shared with the
ensemble and live in the core: :mod:`vaxis.core.stats`, :mod:`vaxis.core.effects`.
"""

from typing import TYPE_CHECKING

from vaxis.lazy import lazy_exports

if TYPE_CHECKING:
    from vaxis.align.config import AlignConfig, AlignSettings
    from vaxis.align.report import AlignReport
    from vaxis.align.stage import plan, run

_MODULES = {"AlignConfig": "config", "AlignSettings": "config", "AlignReport": "report"}
__all__ = ["AlignConfig", "AlignReport", "AlignSettings", "plan", "run"]
__getattr__ = lazy_exports(__name__, _MODULES | {"plan": "stage", "run": "stage"})
