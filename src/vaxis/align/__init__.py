"""Alignment interventions compared with the baseline: paired tests, effect sizes, forest plots.

- :mod:`vaxis.align.interventions` (auxiliary losses) and :mod:`vaxis.align.procedures`
  (training procedures): the study's 25 interventions and extra families, with controls.
- :mod:`vaxis.align.run`: `vaxis align` as a library call (:func:`~vaxis.align.run.run_align`).
- :mod:`vaxis.align.stats`: paired tests (the crossed t over runs x subjects that decides,
  the study's paired t over seeds, Wilcoxon signed-rank, sign-flip permutation, Nadeau-Bengio
  corrected t over cross-validation folds) and Holm / Benjamini-Hochberg corrections.
- :mod:`vaxis.align.null_experiment`: false-positive rate and power of every test through real
  training on synthetic cohorts.
- :mod:`vaxis.align.effects`: mean paired difference, Cohen's d_z, bootstrap intervals, and
  :func:`~vaxis.align.effects.compare_to_baseline` (one row per intervention, counts of
  better / no difference / worse beside the study's published 0 / 9 / 16).
- :mod:`vaxis.align.forest`: forest plot of the comparison table.
"""
