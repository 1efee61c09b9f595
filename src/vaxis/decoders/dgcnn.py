r"""DGCNN: Chebyshev graph convolution over the channels with a learned adjacency.

Architecture. Nodes are channels, node features their ``n_bands`` DE values (seconds averaged),
standardised per band by batch normalisation. The adjacency ``W`` is a free parameter, made
symmetric and non-negative (``A = relu((W + W^T) / 2)``) and normalised,
``A_n = D^{-1/2} A D^{-1/2}``. With the scaled Laplacian ``L~ = -A_n`` (``lambda_max = 2``) the
layer is ``H = relu(sum_k T_k(L~) X Theta_k)`` for Chebyshev polynomials ``T_0 = I``,
``T_1 = L~``, ``T_k = 2 L~ T_{k-1} - T_{k-2}``. ``H`` (channels x ``hidden``) is flattened and
passed through ``fc -> relu`` (the penultimate representation, ``fc_dim`` values) and a linear
head.

Hyper-parameters: ``order`` (Chebyshev order K, 2), ``hidden`` (graph-conv features per node,
32), ``fc_dim`` (64), ``dropout`` (before the head, 0.1).

Reference: Song, Zheng, Song & Cui 2018, "EEG emotion recognition using dynamical graph
convolutional neural networks", IEEE Trans. Affective Computing 11(3):532-541.

Differences from the original: one graph-conv layer followed by one hidden fully connected
layer; the adjacency is initialised uniformly on [0, 1) rather than from electrode distances;
no explicit L2 penalty on ``W`` (use the optimiser's weight decay).
"""

from __future__ import annotations

import torch
from torch import nn

from vaxis.decoders.base import Decoder, register


@register("dgcnn")
class DGCNN(Decoder):
    """Graph network over channels whose adjacency is learned with the rest of the model."""

    def __init__(
        self,
        n_channels: int,
        n_bands: int,
        n_classes: int,
        order: int = 2,
        hidden: int = 32,
        fc_dim: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__(n_channels, n_bands, n_classes)
        if order < 1:
            raise ValueError(f"Chebyshev order must be >= 1, got {order}")
        self.order = order
        self.input_norm = nn.BatchNorm1d(n_bands)
        self.adjacency = nn.Parameter(torch.rand(n_channels, n_channels))
        self.theta = nn.Parameter(torch.randn(order, n_bands, hidden) / n_bands**0.5)
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.fc = nn.Sequential(nn.Linear(n_channels * hidden, fc_dim), nn.ReLU())
        self.feature_dim = fc_dim
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(fc_dim, n_classes))

    def chebyshev(self) -> torch.Tensor:
        """(order, channels, channels) stack T_0(L~), ..., T_{K-1}(L~) of the learned graph."""
        a = torch.relu((self.adjacency + self.adjacency.T) / 2)
        inv_sqrt_degree = (a.sum(dim=1) + 1e-6).rsqrt()
        laplacian = -(inv_sqrt_degree[:, None] * a * inv_sqrt_degree[None, :])
        polys = [torch.eye(self.n_channels, device=a.device, dtype=a.dtype), laplacian]
        while len(polys) < self.order:
            polys.append(2 * laplacian @ polys[-1] - polys[-2])
        return torch.stack(polys[: self.order])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_norm(self.pool_seconds(x).transpose(1, 2)).transpose(1, 2)
        h = torch.einsum("kij,bjf,kfh->bih", self.chebyshev(), x, self.theta)
        return self.fc(torch.relu(h + self.bias).flatten(1))
