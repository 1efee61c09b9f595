"""Alignment interventions compared with the baseline: paired tests, effect sizes, forest plots.

- :mod:`vaxis.align.stats`: paired tests (the study's paired t over seeds, Wilcoxon
  signed-rank, sign-flip permutation, Nadeau-Bengio corrected t over cross-validation folds)
  and Holm / Benjamini-Hochberg corrections.
- :mod:`vaxis.align.effects`: mean paired difference, Cohen's d_z, bootstrap intervals, and
  :func:`~vaxis.align.effects.compare_to_baseline` (one row per intervention, counts of
  better / no difference / worse beside the study's published 0 / 9 / 16).
- :mod:`vaxis.align.forest`: forest plot of the comparison table.
"""
