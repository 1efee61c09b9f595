"""Bidirectional GRU over the seconds of a segment (the one decoder that uses the time axis).

Architecture. Each second's channels x bands DE map is flattened and embedded
(``linear -> GELU``, ``hidden`` values); a ``layers``-deep bidirectional GRU reads the sequence
of seconds; the penultimate representation is the concatenation of the last layer's final
forward and backward hidden states (``2 * hidden`` values, ``hidden`` if unidirectional),
and the head is one linear layer. Input ``(batch, channels, bands)`` is read as one second.

Hyper-parameters: ``hidden`` (64), ``layers`` (1), ``bidirectional`` (True), ``dropout``
(on the embedding and between GRU layers, 0.1).

Reference: Cho et al. 2014, "Learning phrase representations using RNN encoder-decoder for
statistical machine translation", EMNLP; recurrent models over DE sequences for EEG emotion as
in Li et al. 2018, "A bi-hemisphere domain adversarial neural network model for EEG emotion
recognition" (BiDANN), IEEE Trans. Affective Computing 12(2).

Differences from the originals: no hemisphere split and no domain-adversarial branch; one
embedding of the whole scalp map per second.
"""

from __future__ import annotations

import torch
from torch import nn

from vaxis.decoders.base import Decoder, register


@register("gru")
class TemporalGRU(Decoder):
    """GRU over per-second scalp embeddings."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        self.embed = nn.Sequential(
            nn.Linear(n_channels * n_bands, hidden), nn.GELU(), nn.Dropout(dropout)
        )
        self.gru = nn.GRU(
            hidden,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.n_directions = 2 if bidirectional else 1
        self.feature_dim = self.n_directions * hidden
        self.classifier = nn.Linear(self.feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        _, final = self.gru(self.embed(x.flatten(2)))
        # final: (layers * directions, batch, hidden); keep the last layer's directions
        return final[-self.n_directions :].transpose(0, 1).flatten(1)
