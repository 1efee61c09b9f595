"""EEG read-out of the V-axis: cohort tensor, linear read-out, honest figures, topography."""
