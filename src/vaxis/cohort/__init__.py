"""The study's first stage: the cohort every other stage reads (synthetic, or the user's
FACED / SEED-V features resolved through :mod:`vaxis.data.sources` into one cohort file)."""
