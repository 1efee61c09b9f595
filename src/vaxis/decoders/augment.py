"""The study's data augmentation, vectorised over a mini-batch.

Three transforms, each applied to a sample independently with probability ``p`` (0.6 in the
study, docs/REFERENCE.md sec. 1.8):

* Gaussian noise: ``x + noise_std * N(0, 1)`` (0.05; in feature units, i.e. for standardised
  features 5% of a standard deviation).
* Channel dropout: every channel of the sample zeroed with probability ``channel_dropout``
  (0.15), across all its seconds and bands; no rescaling (it is augmentation, not dropout
  regularisation - inferred, the study does not say).
* Temporal masking: one contiguous run of ``L`` seconds set to zero, ``L`` uniform in
  ``1..ceil(time_mask * T)`` for a sample of ``T`` seconds. The study says "up to 5% of
  seconds"; on its 10-s segments no whole second is 5%, so at least one second is masked
  (inferred). Samples of one second (averaged segments, windows) are never time-masked.

Zero is the mean of standardised features. DE input is (batch, seconds, channels, bands); raw
input (batch, channels, samples) is masked along samples. All random draws come from the
``generator`` passed in, so a seeded run is reproducible and resumable.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field


class Augmentation(BaseModel):
    """Augmentation settings; the defaults are the study's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p: float = Field(default=0.6, ge=0, le=1)
    noise_std: float = Field(default=0.05, ge=0)
    channel_dropout: float = Field(default=0.15, ge=0, le=1)
    time_mask: float = Field(default=0.05, ge=0, le=1)


def augment(
    x: torch.Tensor,
    settings: Augmentation,
    generator: torch.Generator,
    input_kind: Literal["de", "raw"] = "de",
) -> torch.Tensor:
    """A new, augmented batch (``x`` is not modified)."""
    n = x.shape[0]
    time_axis, channel_axis = (1, 2) if input_kind == "de" else (2, 1)

    def chosen() -> torch.Tensor:
        """Which samples a transform hits, shaped to broadcast against ``x``."""
        hit = torch.rand(n, generator=generator, device=x.device) < settings.p
        return hit.view(n, *([1] * (x.dim() - 1)))

    def per(axis: int, values: torch.Tensor) -> torch.Tensor:
        """(n, size) values placed on ``axis`` of x, broadcast over the other axes."""
        shape = [n] + [1] * (x.dim() - 1)
        shape[axis] = values.shape[1]
        return values.view(shape)

    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    x = x + chosen() * settings.noise_std * noise
    n_channels = x.shape[channel_axis]
    dropped = torch.rand(n, n_channels, generator=generator, device=x.device)
    x = x * ~(chosen() & per(channel_axis, dropped < settings.channel_dropout))
    steps = x.shape[time_axis]
    longest = math.ceil(settings.time_mask * steps) if steps > 1 else 0
    if longest > 0:
        draws = torch.rand(2, n, generator=generator, device=x.device)
        length = 1 + (draws[0] * longest).long()
        start = (draws[1] * (steps - length + 1)).long()
        t = torch.arange(steps, device=x.device)
        masked = (t >= start[:, None]) & (t < (start + length)[:, None])
        x = x * ~(chosen() & per(time_axis, masked))
    return x
