"""V-axis read-out heads: the decoder's features must predict each sample's V position.

* :class:`FeatureReadout` (the study's "auxiliary MSE head"): a linear head on the penultimate
  features, ``v_hat_i = w . f_i + b``, loss ``sum_i a_i (v_hat_i - v_i)^2 / sum_i a_i`` with
  ``v_i`` the sample's stimulus (else class) position and ``a_i`` a per-class weight (1 for
  every class; the "anger-weighted" variant gives anger ``class_weight``).
* :class:`MaskedReadout` (the study's channel-subset read-outs: frontal-channel mask,
  occipital, topography-optimal channels, frontal alpha asymmetry): the same head on the
  decoder's features of a *masked* input, ``v_hat_i = w . phi(M(x_i)) + b``, where ``M`` keeps
  a subset of channels (and bands) and sets the rest to zero (the mean of standardised DE).
  The asymmetry variant keeps only the antisymmetric part of homologous pairs,
  ``M(x)_L = (x_L - x_R) / 2`` and ``M(x)_R = (x_R - x_L) / 2`` (e.g. F3/F4 alpha), the
  classic frontal-alpha-asymmetry index in the decoder's input layout.

The study names these variants but does not publish their formulas: the ones above are our
definitions, the natural ones (an MSE read-out of the V position, restricted to a region),
chosen so that the loss reaches the decoder's weights (a read-out from the raw input alone
would not change the decoder). Regions are read from 10-20 channel names: frontal =
``Fp/AF/F`` prefixes, occipital = ``PO/O/CB``.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch

FRONTAL = ("FP", "AF", "F")
OCCIPITAL = ("PO", "O", "CB")
_NAME = re.compile(r"^([A-Za-z]+?)(\d+|[zZ])$")


class FeatureReadout(AuxLoss):
    """Linear head from the penultimate features to the V position, (class-weighted) MSE."""

    class_weights: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        class_weights: dict[str, float] | None = None,
    ) -> None:
        super().__init__(targets, weight)
        model = self.require_model(model, "readout")
        self.head = nn.Linear(model.feature_dim, 1)
        factors = torch.ones(targets.n_classes)
        for name, value in (class_weights or {}).items():
            if name not in targets.class_names:
                raise ValueError(f"class weight for {name!r}: not one of {targets.class_names}")
            factors[targets.class_names.index(name)] = value
        self.register_buffer("class_weights", factors)

    def predict(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features).squeeze(1)

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        a = self.class_weights[batch.y]
        error = (self.predict(features) - self.sample_positions(batch)) ** 2
        return (a * error).sum() / a.sum()


class MaskedReadout(FeatureReadout):
    """The read-out of the decoder's features of a channel/band-masked input (see module)."""

    mask: torch.Tensor
    mirror: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        regions: tuple[str, ...] = (),
        channels: tuple[str, ...] = (),
        bands: tuple[str, ...] = (),
        asymmetry: bool = False,
    ) -> None:
        super().__init__(targets, weight, model)
        model = self.require_model(model, "readout")
        if not targets.channel_names:
            raise ValueError("a masked read-out needs the targets' channel_names")
        self.encode = model.features  # a bound method, not a sub-module: no cycle
        self.raw = model.input_kind == "raw"
        if bands and self.raw:
            raise ValueError("band masks need DE input")
        keep = select_channels(targets.channel_names, regions, channels, asymmetry)
        mask = torch.zeros(len(targets.channel_names), 1 if self.raw else len(targets.band_names))
        rows = torch.tensor([i for i, _ in keep])
        cols = torch.tensor([_index(targets.band_names, b, "band") for b in bands])
        mask[rows[:, None], cols[None, :] if bands else slice(None)] = 1.0
        self.register_buffer("mask", mask)
        mirror = torch.arange(len(targets.channel_names))
        for i, j in keep:
            mirror[i] = j
        self.register_buffer("mirror", mirror)
        self.asymmetry = asymmetry

    def masked(self, x: torch.Tensor) -> torch.Tensor:
        """``M(x)``: the kept channels/bands (antisymmetric pair parts when ``asymmetry``)."""
        channel_dim = 1 if self.raw else x.dim() - 2
        if self.asymmetry:
            x = 0.5 * (x - x.index_select(channel_dim, self.mirror))
        return x * self.mask

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return super().loss(logits, self.encode(self.masked(batch.x)), batch)


def select_channels(
    names: tuple[str, ...],
    regions: tuple[str, ...] = (),
    channels: tuple[str, ...] = (),
    pairs_only: bool = False,
) -> list[tuple[int, int]]:
    """Indices of the kept channels (named, or whose 10-20 prefix is in ``regions``), each with
    its homologue (odd number <-> next even, e.g. F3 <-> F4; itself when it has none or is a
    midline channel). ``pairs_only`` keeps only channels whose homologue is present."""
    upper = [n.upper() for n in names]
    wanted = {c.upper() for c in channels}
    kept = []
    for i, name in enumerate(upper):
        prefix, number = _split(name)
        if name not in wanted and prefix not in regions:
            continue
        j = i
        if number.isdigit():
            n = int(number)
            partner = f"{prefix}{n + 1 if n % 2 else n - 1}"
            j = upper.index(partner) if partner in upper else i
        if not pairs_only or j != i:
            kept.append((i, j))
    if not kept:
        raise ValueError(f"no channel of {names} is in regions {regions} or named {channels}")
    return kept


def _split(name: str) -> tuple[str, str]:
    match = _NAME.match(name)
    return (match.group(1), match.group(2)) if match else (name, "")


def _index(names: tuple[str, ...], name: str, what: str) -> int:
    lowered = [n.lower() for n in names]
    if name.lower() not in lowered:
        raise ValueError(f"unknown {what} {name!r}; choose from {names}")
    return lowered.index(name.lower())
