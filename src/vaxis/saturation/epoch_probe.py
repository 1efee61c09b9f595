r"""Per-epoch record of the basin geometry and gradient shares (an observer for ``fit``).

:class:`EpochProbe` is passed as ``fit(..., on_epoch_state=EpochProbe(run_dir, class_targets))``
(or ``run_experiment(..., on_epoch_state=...)``). After every epoch it writes ``epochs.npz``
into the run folder with, for the model in its current state (eval mode):

* on the **validation** subjects only (the test subjects are never read): the class means
  (E, K, D) of the penultimate features (plain sample means per class) and the stimulus means
  (E, S, D) (equal subject weights, :class:`~vaxis.probe.measures.StimulusTable`), with the
  epoch's validation balanced accuracy;
* with ``gradients=True``, on a fixed probe batch of ``probe_size`` *training* samples (drawn
  once with ``seed``; training samples because the auxiliary losses index their targets by
  training sample): the share (:mod:`vaxis.saturation.gradient_share`) of the gradient w.r.t.
  the penultimate features of (a) the cross-entropy of the decoder's head and (b) the run's
  auxiliary loss (its weight included), in the *basin* subspace (span of the epoch's centred
  validation class means) and along the *V direction* (needs ``class_targets``: the training
  units -> the V-axis position of each of the decoder's classes, as the alignment losses
  target them, e.g. ``AlignmentTargets.from_positions(positions, train).class_positions``;
  taken as a function so this observer depends on no stage that uses it), and the mean
  per-sample gradient norm of each. Both losses see the same features ``x`` (eval mode, so no
  dropout); the auxiliary loss's gradient flows through ``x`` directly and through the head's
  logits. A loss that recomputes features from the input itself gives zero gradient here
  (share NaN). Runs without an auxiliary loss record NaN for (b).

A resumed run keeps the epochs already written and appends the new ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from vaxis.data.safe_pickle import load_npz
from vaxis.decoders.train import Batch, EpochState, forward_all
from vaxis.probe.measures import StimulusTable
from vaxis.saturation.basin import v_direction
from vaxis.saturation.gradient_share import gradient_share, subspace_basis

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from vaxis.decoders.units import Units

#: training units -> the V-axis position of each of the decoder's classes
ClassTargets = Callable[["Units"], "ArrayLike"]

EPOCHS_NAME = "epochs.npz"
SHARE_KEYS = (
    "share_basin_ce",
    "share_basin_aux",
    "share_v_ce",
    "share_v_aux",
    "grad_norm_ce",
    "grad_norm_aux",
)
_PER_EPOCH = ("epoch", "val_balanced_accuracy", "class_means", "stimulus_means", *SHARE_KEYS)


class EpochProbe:
    """Observer writing ``run_dir/epochs.npz`` after every epoch (module docstring)."""

    def __init__(
        self,
        run_dir: str | Path,
        class_targets: ClassTargets | None = None,
        gradients: bool = True,
        probe_size: int = 256,
        seed: int = 0,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.class_targets = class_targets
        self.gradients = gradients
        self.probe_size = probe_size
        self.seed = seed
        self._rows: dict[str, list[np.ndarray]] | None = None
        self._static: dict[str, np.ndarray] = {}
        self._probe_index: np.ndarray | None = None
        self._class_positions: np.ndarray | None = None

    @property
    def path(self) -> Path:
        return self.run_dir / EPOCHS_NAME

    def __call__(self, state: EpochState) -> None:
        if state.val is None or not len(state.val):
            raise ValueError("the epoch probe reads validation subjects: give the run a val set")
        if self._rows is None:
            self._rows = self._resume(state.record.epoch)
        device = next(state.model.parameters()).device
        x_val = torch.as_tensor(state.val.x, device=device)
        features = forward_all(state.model, x_val)[1].cpu().double().numpy()
        classes = np.unique(state.val.y)
        means = np.stack([features[state.val.y == k].mean(axis=0) for k in classes])
        table = StimulusTable.from_samples(
            features, state.val.subject, state.val.stimulus, state.val.y
        )
        self._static = {
            "classes": classes,
            "stimuli": table.stimuli,
            "stimulus_classes": table.classes,
        }
        score = state.record.val_balanced_accuracy
        row = {
            "epoch": np.int64(state.record.epoch),
            "val_balanced_accuracy": np.float64(np.nan if score is None else score),
            "class_means": means,
            "stimulus_means": table.means(),
            **self._shares(state, means, classes, device),
        }
        for key in _PER_EPOCH:
            self._rows[key].append(np.asarray(row[key]))
        self._write()

    # ------------------------------------------------------------------------ gradients
    def _shares(
        self, state: EpochState, means: np.ndarray, classes: np.ndarray, device: torch.device
    ) -> dict[str, float]:
        shares = dict.fromkeys(SHARE_KEYS, float("nan"))
        if not self.gradients:
            return shares
        grads = feature_gradients(state, self._probe(len(state.train)), device)
        centred = means - means.mean(axis=0)
        bases = {"basin": subspace_basis(centred)}
        positions = self._positions(state)
        if positions is not None:
            target = positions[classes]
            bases["v"] = v_direction(centred, target - target.mean())[:, None]
        for loss, g in grads.items():
            shares[f"grad_norm_{loss}"] = float(np.linalg.norm(g, axis=1).mean())
            for name, basis in bases.items():
                shares[f"share_{name}_{loss}"] = gradient_share(g, basis)
        return shares

    def _probe(self, n: int) -> np.ndarray:
        if self._probe_index is None:
            rng = np.random.default_rng(self.seed)
            self._probe_index = np.sort(rng.choice(n, min(self.probe_size, n), replace=False))
        return self._probe_index

    def _positions(self, state: EpochState) -> np.ndarray | None:
        """Class positions of the decoder's classes (computed once, from the training units)."""
        if self.class_targets is None:
            return None
        if self._class_positions is None:
            self._class_positions = np.asarray(self.class_targets(state.train), dtype=np.float64)
        return self._class_positions

    # --------------------------------------------------------------------------- storage
    def _resume(self, epoch: int) -> dict[str, list[np.ndarray]]:
        """Rows of the epochs before ``epoch`` already on disk (a resumed run)."""
        rows: dict[str, list[np.ndarray]] = {key: [] for key in _PER_EPOCH}
        if self.path.exists():
            saved = load_npz(self.path)
            keep = np.flatnonzero(np.asarray(saved["epoch"]) < epoch)
            for key in _PER_EPOCH:
                rows[key] = [np.asarray(saved[key][i]) for i in keep]
        return rows

    def _write(self) -> None:
        assert self._rows is not None
        arrays = {key: np.stack(values) for key, values in self._rows.items()}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name("epochs.partial.npz")
        arrays |= self._static
        np.savez_compressed(tmp, allow_pickle=False, **arrays)
        os.replace(tmp, self.path)


def feature_gradients(
    state: EpochState, index: np.ndarray, device: torch.device
) -> dict[str, np.ndarray]:
    """Per-sample gradients (n, D) w.r.t. the penultimate features of the cross-entropy
    (``ce``) and, when the run has one, the auxiliary loss (``aux``), on training ``index``."""
    model = state.model
    x = torch.as_tensor(state.train.x[index], device=device)
    y = torch.as_tensor(state.train.y[index], device=device)
    with torch.no_grad():
        features = model.features(x)
    with torch.enable_grad():
        features.requires_grad_(True)
        logits = model.head(features)
        ce = F.cross_entropy(logits, y)
        out = {"ce": torch.autograd.grad(ce, features, retain_graph=True)[0]}
        if state.extra_loss is not None:
            batch = Batch(x, y, torch.as_tensor(index, device=device), state.record.epoch)
            aux = state.extra_loss(logits, features, batch)
            grad = None
            if aux.requires_grad:
                grad = torch.autograd.grad(aux, features, allow_unused=True)[0]
            out["aux"] = torch.zeros_like(features) if grad is None else grad
    return {name: g.detach().cpu().double().numpy() for name, g in out.items()}


def read_epochs(run_dir: str | Path) -> dict[str, np.ndarray] | None:
    """The arrays of a run's ``epochs.npz`` (module docstring), or None when it has none."""
    path = Path(run_dir) / EPOCHS_NAME
    return load_npz(path) if path.exists() else None
