"""A reduced paper smoke run, as a script (test helper, no tests here): ``python -m
tests.study.smoke_run OUT`` runs it in OUT (the axis stood in for by planted positions).

Reduced from ``--preset paper --smoke``: 12 subjects and a holdout split instead of FACED's
123 and its fixed split, the EMOD-style axial transformer only (the CBraMod-style one costs
minutes a job) at a small size, four interventions (a loss, a representation loss, a
two-stage procedure, full-data scaling) over two seeds, the ensemble's pool over two seeds at
a small size, and fewer probe resamples. The rest is the paper preset's: regimes, the six
recipe variants, epochs (each job then trains one epoch of a few mini-batches), the cascade,
saturation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vaxis.study.config import StudyConfig
from vaxis.study.presets import paper, with_smoke

INTERVENTIONS = ("aux-mse-0.5", "rsa-1", "peft-lora", "full-data-scaling")
SEEDS = (42, 123)
STAGES = ["zoo", "align", "saturation", "ensemble"]
#: the axial transformer at a test's size (the paper's: depth 6, width 128)
SMALL = {"depth": 1, "width": 16, "heads": 2, "channel_tokens": 4}


def reduced(out: Path) -> StudyConfig:
    """The reduced paper smoke config, written to ``out``."""
    config = with_smoke(paper()).model_dump()
    config["out"] = str(out)
    config["data"] |= {"subjects": 12, "windows": 10}
    config["compute"] |= {"executor": "local", "workers": 2}
    stages = config["stages"]
    for name in ("zoo", "align", "ensemble"):
        stages[name]["protocol"] = "holdout"
    zoo = stages["zoo"]
    zoo |= {"decoders": ["axial"], "probe_nulls": 50, "probe_bootstrap": 50}
    zoo["variants"] = [variant | {"hyper": SMALL} for variant in zoo["variants"]]
    stages["align"] |= {"interventions": list(INTERVENTIONS), "seeds": list(SEEDS)}
    stages["align"]["hyper"] = SMALL
    stages["saturation"] |= {"bootstrap": 200, "nulls": 20}
    stages["ensemble"] |= {"seeds": list(SEEDS), "width": 16, "heads": 2, "channel_tokens": 4}
    stages["ensemble"] |= {"depth": 2, "shallow_depth": 1}
    return StudyConfig.model_validate(config)


def main(out: str) -> None:
    from tests.study.truth_axis import truth_axis
    from vaxis.study.run import run_study

    with truth_axis():
        run_study(reduced(Path(out)), STAGES, progress=False)


if __name__ == "__main__":
    main(sys.argv[1])
