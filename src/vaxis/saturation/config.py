"""What `vaxis saturation` and the study's ``[stages.saturation]`` take.

:class:`SaturationSettings` is the science (the study's section, CPU-sized defaults);
:class:`SaturationConfig` adds the folders and positions of one command. Light (no torch):
the study's config imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from vaxis.core.settings import Section


class SaturationSettings(Section):
    """Saturation of the valence basin over align's runs: the study's ``[stages.saturation]``.

    While enabled, the align stage records per-epoch probes (``epoch_probe``) for it.
    """

    enabled: bool = True
    #: the baseline score the threshold's x is read on (val avoids regression to the mean)
    baseline_score: Literal["val", "test"] = "val"
    #: saturation tolerance on rho
    eps: float = Field(default=0.05, gt=0)
    #: bootstrap resamples (of the threshold and of r(delta, baseline rho))
    bootstrap: int = Field(default=500, ge=100)
    #: run the directional ablation
    ablation: bool = True
    #: null directions of the ablation
    nulls: int = Field(default=100, ge=2)
    #: seed of every random draw
    seed: int = 0


class SaturationConfig(SaturationSettings):
    """Everything `vaxis saturation` needs: :class:`SaturationSettings` plus its folders."""

    align_out: Path
    #: ``align``: the positions the align runs were trained with; else an axis folder, a
    #: positions CSV/JSON, ``classes`` or ``truth`` (see vaxis.axis.positions.resolve_positions)
    positions: str = "align"
    out: Path = Path("runs/saturation")
    confidence: float = Field(default=0.95, gt=0, lt=1)

    def record(self) -> dict[str, Any]:
        """The settings as saturation.json has always recorded them (``n_boot``, ``n_random``)."""
        return {
            "align_out": str(self.align_out),
            "positions": self.positions,
            "out": str(self.out),
            "baseline_score": self.baseline_score,
            "eps": self.eps,
            "n_boot": self.bootstrap,
            "ablation": self.ablation,
            "n_random": self.nulls,
            "confidence": self.confidence,
            "seed": self.seed,
        }
