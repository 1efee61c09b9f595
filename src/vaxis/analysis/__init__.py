"""Analyses of trained decoders: probing them for the V-axis (:mod:`vaxis.analysis.probe`)."""
