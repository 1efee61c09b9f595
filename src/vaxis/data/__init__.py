"""EEG data layer: one cohort model, dataset loaders, features, synthetic cohorts, splits."""

from vaxis.data.cohort import Cohort, CohortMeta

__all__ = ["Cohort", "CohortMeta"]
