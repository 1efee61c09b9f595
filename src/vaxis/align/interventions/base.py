"""What every alignment intervention shares: the LLM targets, the loss contract, the controls.

An intervention is an auxiliary loss added to the decoder's cross-entropy by the training
engine (:func:`vaxis.decoders.train.fit`, ``extra_loss=``): a callable
``(logits, features, batch) -> scalar`` that is already multiplied by its weight. It is an
``nn.Module`` built once per run from :class:`AlignmentTargets` (the V-axis geometry) and, when
it has parameters of its own (a read-out head, a projection), from the decoder: the loss is then
attached to the decoder as its ``alignment`` sub-module, so the engine's optimiser (built over
``model.parameters()``) trains it and checkpoints save it.

Every family gets two controls, built by :func:`vaxis.align.interventions.build_intervention`:

* ``permuted``: the same loss with the LLM targets permuted across classes (and stimuli) by a
  seeded permutation (:meth:`AlignmentTargets.permuted`): same optimisation pressure, no valence
  information;
* ``label-smoothing``: :class:`LabelSmoothingControl` of the same weight, i.e. a pull towards
  uniform class probabilities with no LLM information at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from vaxis.data.datasets import DATASETS
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch

if TYPE_CHECKING:
    from vaxis.core.positions import StimulusPositions
    from vaxis.decoders.units import Units


@dataclass(frozen=True, eq=False)
class AlignmentTargets:
    """The V-axis geometry an intervention aligns the decoder with.

    ``class_positions`` (k,) are the classes' positions on the axis. ``stimulus_positions``
    (n_stim,) are indexed by stimulus id (NaN where unknown) and ``sample_stimulus`` holds the
    stimulus id of every *training* sample (the engine's ``Batch.index`` indexes it), so losses
    can use per-stimulus positions; without them every sample takes its class's position.
    ``class_embeddings`` (k, m) are optional class vectors (e.g. LLM class centroids) and
    ``class_distances`` (k, k) an optional dissimilarity matrix; by default the distance between
    classes is ``|p_i - p_j|`` (or ``1 - corr`` between embeddings when given).
    """

    class_positions: np.ndarray
    class_names: tuple[str, ...] = ()
    stimulus_positions: np.ndarray | None = None
    sample_stimulus: np.ndarray | None = None
    class_embeddings: np.ndarray | None = None
    class_distances: np.ndarray | None = None
    channel_names: tuple[str, ...] = ()
    band_names: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        k = np.asarray(self.class_positions).size
        if k < 2 or not np.isfinite(self.class_positions).all():
            raise ValueError("class_positions must hold at least two finite numbers")
        if self.class_names and len(self.class_names) != k:
            raise ValueError(f"{len(self.class_names)} class names for {k} class positions")
        if (self.stimulus_positions is None) != (self.sample_stimulus is None):
            raise ValueError("give stimulus_positions and sample_stimulus together")
        if self.class_embeddings is not None and np.shape(self.class_embeddings)[0] != k:
            raise ValueError(f"class_embeddings need {k} rows")
        if self.class_distances is not None and np.shape(self.class_distances) != (k, k):
            raise ValueError(f"class_distances must be ({k}, {k})")

    @property
    def n_classes(self) -> int:
        return int(np.asarray(self.class_positions).size)

    @classmethod
    def from_positions(
        cls,
        positions: StimulusPositions,
        train: Units,
        class_embeddings: np.ndarray | None = None,
        standardize: bool = True,
        channel_names: tuple[str, ...] | None = None,
    ) -> AlignmentTargets:
        """Targets for training on ``train`` from a positions record.

        Class positions are the record's when its classes are the task's (else, e.g. for the
        binary task, the mean position of each class's training samples). With ``standardize``
        every position is z-scored with the class positions' mean and standard deviation, so a
        weight means the same whatever the axis's units. ``channel_names`` default to the
        dataset's when the units have all of its channels (units do not record names, so a
        channel subset must name its channels).
        """
        ids = np.unique(train.stimulus)
        dense = np.full(int(ids.max()) + 1, np.nan)
        dense[ids] = positions.aligned(ids)  # a DataFormatError names any missing stimulus
        same_classes = [n.lower() for n in positions.class_names] == [
            n.lower() for n in train.classes
        ]
        if positions.class_positions and same_classes:
            classes = np.asarray(positions.class_positions, dtype=float)
        else:
            per_sample = dense[train.stimulus]
            classes = np.array([per_sample[train.y == c].mean() for c in range(train.n_classes)])
        if standardize:
            centre, scale = classes.mean(), classes.std() or 1.0
            classes, dense = (classes - centre) / scale, (dense - centre) / scale
        spec = DATASETS[positions.dataset]
        if channel_names is None:
            whole = len(spec.channels) == train.n_channels
            channel_names = spec.channels if whole else ()
        return cls(
            class_positions=classes,
            class_names=train.classes,
            stimulus_positions=dense,
            sample_stimulus=np.asarray(train.stimulus, dtype=np.int64),
            class_embeddings=class_embeddings,
            channel_names=channel_names,
            band_names=spec.band_names if len(spec.band_names) == train.n_bands else (),
            source=positions.source,
        )

    def distances(self) -> np.ndarray:
        """(k, k) class dissimilarities (the LLM's class RDM)."""
        if self.class_distances is not None:
            return np.asarray(self.class_distances, dtype=float)
        if self.class_embeddings is not None:
            return np.asarray(1.0 - np.corrcoef(self.class_embeddings), dtype=float)
        p = np.asarray(self.class_positions, dtype=float)
        return np.asarray(np.abs(p[:, None] - p[None, :]), dtype=float)

    def geometry(self) -> np.ndarray:
        """(k, m) class configuration: the embeddings, else the positions as one column."""
        if self.class_embeddings is not None:
            return np.asarray(self.class_embeddings, dtype=float)
        return np.asarray(self.class_positions, dtype=float)[:, None]

    def permuted(self, seed: int) -> AlignmentTargets:
        """The permuted control's targets: classes (positions, embeddings, distances) permuted
        by one seeded non-identity permutation, stimulus positions by another over the known
        stimuli. Names, channels and the samples' stimuli are unchanged."""
        rng = np.random.default_rng(seed)
        order = _non_identity(rng, self.n_classes)
        changes: dict[str, Any] = {"class_positions": np.asarray(self.class_positions)[order]}
        if self.class_embeddings is not None:
            changes["class_embeddings"] = np.asarray(self.class_embeddings)[order]
        if self.class_distances is not None:
            changes["class_distances"] = np.asarray(self.class_distances)[order][:, order]
        if self.stimulus_positions is not None:
            dense = np.array(self.stimulus_positions, dtype=float)
            known = np.flatnonzero(np.isfinite(dense))
            dense[known] = dense[known[_non_identity(rng, known.size)]]
            changes["stimulus_positions"] = dense
        return replace(self, source=f"permuted(seed={seed}):{self.source}", **changes)


def _non_identity(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random permutation of ``n`` items that moves at least one (identity when n < 2)."""
    if n < 2:
        return np.arange(n)
    while True:
        order = rng.permutation(n)
        if (order != np.arange(n)).any():
            return order


class AuxLoss(nn.Module):
    """Base class: ``forward(logits, features, batch)`` is ``weight * loss(...)``.

    Subclasses implement :meth:`loss`; the targets are kept as buffers (so they follow the
    decoder to its device). Families that read the decoder's ``feature_dim`` (or its
    ``features``) call :meth:`require_model`.
    """

    class_positions: torch.Tensor
    stimulus_positions: torch.Tensor
    sample_stimulus: torch.Tensor

    def __init__(self, targets: AlignmentTargets, weight: float) -> None:
        super().__init__()
        self.weight = float(weight)
        self.targets = targets
        self.register_buffer("class_positions", _tensor(targets.class_positions))
        if targets.stimulus_positions is not None and targets.sample_stimulus is not None:
            self.register_buffer("stimulus_positions", _tensor(targets.stimulus_positions))
            self.register_buffer("sample_stimulus", torch.as_tensor(targets.sample_stimulus))

    def sample_positions(self, batch: Batch) -> torch.Tensor:
        """V position of every batch sample: its stimulus's when known, else its class's."""
        if hasattr(self, "stimulus_positions"):
            return self.stimulus_positions[self.sample_stimulus[batch.index]]
        return self.class_positions[batch.y]

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The un-weighted auxiliary loss (a scalar)."""
        raise NotImplementedError

    def forward(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.weight * self.loss(logits, features, batch)

    @staticmethod
    def require_model(model: Decoder | None, family: str) -> Decoder:
        if model is None:
            raise ValueError(f"intervention family {family!r} needs the decoder (pass model=)")
        return model


class LabelSmoothingControl(AuxLoss):
    """The label-smoothing control: ``weight * H(u, softmax(logits))`` with ``u`` uniform.

    Added to the cross-entropy it gives ``(1 + w) * CE`` with label smoothing ``w / (1 + w)``
    (torch's ``label_smoothing``), the same strength as the intervention it controls and no
    LLM information.
    """

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return -torch.log_softmax(logits, dim=1).mean(dim=1).mean()


def class_means(features: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean feature vector of every class present in the batch, and those classes' ids."""
    present = torch.unique(y)
    onehot = (y[:, None] == present[None, :]).to(features.dtype)
    means = (onehot.T @ features) / onehot.sum(dim=0)[:, None]
    return means, present


def _tensor(values: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32))
