"""Multi-V: the decoder's features must predict several LLM coordinates of each sample at once.

The study lists "multi-V" (multiple V-axes) among its interventions but does not publish its
formula; this is our definition. A linear head maps the penultimate features to ``m`` outputs,
``t_hat_i = W f_i + b``, and the loss is the MSE averaged over samples and axes,
``mean_i mean_a (t_hat_ia - t_ia)^2``. The ``m`` target coordinates (``n_axes``, default 3: V
and two more; the study does not say how many) of a sample are, in order:

1. its V position (its stimulus's when known, else its class's), as for the auxiliary MSE head;
2. the principal coordinates of the LLM class geometry *orthogonal to the V-axis*: classical
   MDS of the class dissimilarities (:meth:`AlignmentTargets.distances`: ``1 - corr`` between
   class embeddings, a given RDM, or ``|p_i - p_j|``), with the centred class positions
   regressed out, then the principal axes of what remains in decreasing variance. Each is
   scaled to the class positions' standard deviation, so every axis weighs as much as V;
3. only while fewer than ``m`` axes exist: the sample's within-class residual,
   ``v_stimulus - v_class`` (in V units: it is the part of V that the class does not carry).

Without class embeddings or an RDM (``positions=classes`` or ``truth``) the class geometry is
one-dimensional (the V positions themselves), so step 2 adds nothing. With per-stimulus positions
that differ from the class positions (``truth``, per-clip axis positions) the axes are then V and
the within-class residual. When the stimuli sit exactly at their class positions
(``positions=classes``) only V exists and multi-V reduces exactly to the auxiliary MSE head
(:class:`~vaxis.align.interventions.readout.FeatureReadout`); :attr:`MultiVReadout.axis_names`
records which axes a run used.

Default weight 0.5: the study gives no lambda for multi-V; 0.5 is its strongest read-out weight
and the one at which its auxiliary MSE head has the same published effect (-0.043), so with one
axis the two interventions coincide.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch

#: relative size below which a coordinate counts as absent (float round-off)
_TOLERANCE = 1e-6


def principal_coordinates(distances: np.ndarray) -> np.ndarray:
    """Classical (Torgerson) MDS: ``(k, r)`` coordinates whose Euclidean distances best match
    ``distances``, one column per positive eigenvalue of ``-J D^2 J / 2``, largest first."""
    d = np.asarray(distances, dtype=float)
    k = d.shape[0]
    centring = np.eye(k) - np.full((k, k), 1.0 / k)
    gram = -0.5 * centring @ (d**2) @ centring
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    keep = values > _TOLERANCE * max(values.max(initial=0.0), 1e-300)
    return np.asarray(vectors[:, keep] * np.sqrt(values[keep]))


def class_axes(targets: AlignmentTargets, n_axes: int) -> np.ndarray:
    """(k, a) class coordinates of step 2 (see module), ``a <= n_axes``, each scaled to the
    class positions' standard deviation (1 when they are all equal) and signed so that its
    largest entry is positive."""
    positions = np.asarray(targets.class_positions, dtype=float)
    v = positions - positions.mean()
    config = principal_coordinates(targets.distances())
    scale = np.linalg.norm(config)
    if config.size == 0 or scale == 0.0 or n_axes < 1:
        return np.zeros((positions.size, 0))
    if v @ v > 0:
        config = config - np.outer(v, v @ config) / (v @ v)
    left, singular, _ = np.linalg.svd(config, full_matrices=False)
    keep = np.flatnonzero(singular > _TOLERANCE * scale)[:n_axes]
    axes = left[:, keep]
    signs = np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(axes.shape[1])])
    spread = positions.std() or 1.0
    return np.asarray(axes * signs * np.sqrt(positions.size) * spread)


def has_stimulus_residual(targets: AlignmentTargets) -> bool:
    """Whether some known stimulus position is not any class's position (so the within-class
    residual is not zero everywhere)."""
    if targets.stimulus_positions is None:
        return False
    classes = np.asarray(targets.class_positions, dtype=float)
    stimuli = np.asarray(targets.stimulus_positions, dtype=float)
    stimuli = stimuli[np.isfinite(stimuli)]
    gaps = np.abs(stimuli[:, None] - classes[None, :]).min(axis=1)
    return bool((gaps > _TOLERANCE * (classes.std() or 1.0)).any())


class MultiVReadout(AuxLoss):
    """Linear head from the penultimate features to ``n_axes`` LLM coordinates, mean MSE."""

    extra_axes: torch.Tensor

    def __init__(
        self,
        targets: AlignmentTargets,
        weight: float,
        model: Decoder | None = None,
        n_axes: int = 3,
    ) -> None:
        super().__init__(targets, weight)
        model = self.require_model(model, "multi-v")
        if n_axes < 1:
            raise ValueError(f"n_axes must be at least 1, not {n_axes}")
        extra = class_axes(targets, n_axes - 1)
        self.register_buffer("extra_axes", torch.as_tensor(extra, dtype=torch.float32))
        names = ["v"] + [f"geometry-{j + 2}" for j in range(extra.shape[1])]
        self.residual = len(names) < n_axes and has_stimulus_residual(targets)
        if self.residual:
            names.append("stimulus-residual")
        #: which coordinates the head predicts, in order (see the module docstring)
        self.axis_names = tuple(names)
        self.head = nn.Linear(model.feature_dim, len(names))

    def sample_targets(self, batch: Batch) -> torch.Tensor:
        """(n, m) target coordinates of the batch's samples."""
        v = self.sample_positions(batch)
        columns = [v[:, None], self.extra_axes[batch.y]]
        if self.residual:
            columns.append((v - self.class_positions[batch.y])[:, None])
        return torch.cat(columns, dim=1)

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return ((self.head(features) - self.sample_targets(batch)) ** 2).mean()
