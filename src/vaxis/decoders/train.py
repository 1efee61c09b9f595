"""One training engine for every torch decoder (and later alignment losses and ensembles).

The training tensors live on the device for the whole run; a mini-batch is a slice of a
seeded index permutation gathered in one indexing call, so there is no ``DataLoader``, no
per-sample Python and no collation (``bench/bench_engine.py`` measures the difference).
The recipe is the study's (docs/REFERENCE.md sec. 1.8): AdamW (lr 1e-3, weight decay 1e-2 on every
parameter), a cosine schedule with linear warm-up (stepped per batch), batch 128, optional
augmentation (:mod:`vaxis.decoders.augment`) and distillation towards fixed prototypes
(:mod:`vaxis.decoders.distill`). The weights kept are those of the epoch with the highest
balanced accuracy on the *validation subjects* (the last epoch when there is no validation
set); test subjects never reach :func:`fit`.

Mixed precision, TF32, ``torch.compile`` and worker placement are in
:mod:`vaxis.decoders.accel`; at their defaults (fp32, no TF32, not compiled) a run is exactly
what it was before they existed, and its key is unchanged.

Runs are deterministic given ``seed`` on the CPU (bit-identical weights; some CUDA kernels are
not deterministic unless ``torch.use_deterministic_algorithms(True)``), checkpointed every
``checkpoint_every`` epochs to ``run_dir``, and resumed from there identically. The caller's
random state is left untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.metrics import balanced_accuracy_score
from torch import nn
from torch.nn import functional as F

from vaxis.decoders.accel import (
    autocast,
    checkpointing_requested,
    compile_requested,
    forward_of,
    grad_scaler,
    out_of_memory,
    resolve_device,
    tf32,
)
from vaxis.decoders.augment import Augmentation, augment
from vaxis.decoders.base import Decoder, LoadedWeights, build_decoder
from vaxis.decoders.checkpoint import data_fingerprint, load_checkpoint, save_checkpoint
from vaxis.decoders.distill import Distillation, distillation_loss, soft_targets
from vaxis.decoders.metrics import Metrics, compute_metrics
from vaxis.decoders.numerics import Precision, keyed_only_if_set
from vaxis.decoders.pretrained import file_sha256, load_weights
from vaxis.decoders.units import Units
from vaxis.errors import is_out_of_memory

#: Settings that change how a run executes but not what it computes.
RUNTIME_FIELDS = frozenset(
    {
        "device",
        "num_threads",
        "checkpoint_every",
        "eval_batch_size",
        "compile",
        "checkpoint_activations",
        "weights",
    }
)


class TrainConfig(BaseModel):
    """Everything that determines a training run; defaults are the study's recipe."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decoder: str = "mlp"
    #: decoder hyper-parameters (constructor keywords), e.g. {"hidden": [64]}
    hyper: dict[str, Any] = Field(default_factory=dict)
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=128, ge=2)
    lr: float = Field(default=1e-3, gt=0)
    weight_decay: float = Field(default=1e-2, ge=0)
    warmup_epochs: int = Field(default=5, ge=0)
    augmentation: Augmentation | None = None
    distillation: Distillation | None = None
    seed: int = 0
    #: a null: permute targets between whole stimuli before training (see shuffle_stimulus_labels)
    shuffle_labels: bool = False
    #: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
    device: str = "auto"
    num_threads: int | None = Field(default=None, ge=1)
    #: epochs between checkpoints (0: only when the run stops); needs a run_dir
    checkpoint_every: int = Field(default=0, ge=0)
    eval_batch_size: int = Field(default=1024, ge=1)
    #: "fp32", or the training forward pass and loss autocast to "bf16" / "fp16" (fp32 master
    #: weights; fp16 with loss scaling); see vaxis.decoders.accel
    precision: Precision = "fp32"
    #: TF32 matmuls and convolutions on CUDA (changes the numbers there; none on the CPU)
    tf32: bool = False
    #: train through torch.compile (speed only: not part of the key)
    compile: bool = False
    #: recompute each block's activations in backward instead of keeping them (memory of one
    #: block instead of all, ~1/3 more compute, the same numbers: not part of the key)
    checkpoint_activations: bool = False
    #: stop after this many epochs, the schedule still spanning ``epochs`` (a smoke run: jobs
    #: of different lengths stay distinct); None: train all ``epochs``
    max_epochs: int | None = Field(default=None, ge=1)
    #: train only the first this many mini-batches of each epoch (a smoke run); None: all
    max_steps_per_epoch: int | None = Field(default=None, ge=1)
    #: score only the first this many units of each (subject, stimulus) of the validation and
    #: test parts (a smoke run: every subject and stimulus, fewer samples); None: all
    max_eval_units_per_stimulus: int | None = Field(default=None, ge=1)
    #: a local weights file the decoder starts from (decoders with ``load_pretrained``); the
    #: path is not part of the key, the file's sha256 (filled in from the file) is
    weights: str | None = None
    weights_sha256: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _hash_weights(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("weights") and not data.get("weights_sha256"):
            data = data | {"weights_sha256": file_sha256(Path(data["weights"]))}
        return data

    def identity(self) -> dict[str, Any]:
        """The fields that decide the result (runtime settings, and the later settings at
        their defaults, left out)."""
        return keyed_only_if_set(self.model_dump(mode="json", exclude=set(RUNTIME_FIELDS)))

    def key(self) -> str:
        """Short stable hash of :meth:`identity`: the same run has the same key."""
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def __hash__(self) -> int:
        return hash(self.key())


@dataclass(frozen=True)
class Batch:
    """What an extra loss sees besides logits and features: the batch and where it came from."""

    x: torch.Tensor
    y: torch.Tensor
    #: indices of the batch's samples in the training :class:`Units`
    index: torch.Tensor
    epoch: int


ExtraLoss = Callable[[torch.Tensor, torch.Tensor, Batch], torch.Tensor]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: ``train_loss`` is the mean training objective (with distillation and extra
    losses, on augmented batches); validation scores are on un-augmented validation units."""

    epoch: int
    lr: float
    train_loss: float
    val_loss: float | None
    val_balanced_accuracy: float | None
    train_seconds: float
    eval_seconds: float


@dataclass(frozen=True)
class EpochState:
    """What an observer sees after each epoch (``fit(on_epoch_state=...)``): the model in its
    current (not the selected) state, in eval mode, the run's units and its extra loss."""

    model: Decoder
    record: EpochRecord
    train: Units
    val: Units | None
    extra_loss: ExtraLoss | None


#: An observer of each epoch. It must not change the model's weights; it may run forward and
#: backward passes (see :func:`fit` for how the run is kept identical).
EpochObserver = Callable[[EpochState], None]


@dataclass
class TrainResult:
    """The trained model (holding the selected weights) and how it got there."""

    model: Decoder
    history: list[EpochRecord]
    best_epoch: int
    best_val_balanced_accuracy: float | None
    #: "val-balanced-accuracy" or "last-epoch" (no validation samples)
    selected_by: str
    completed: bool
    device: str
    #: samples trained on, and seconds spent training (evaluation excluded), in this call
    n_trained: int
    train_seconds: float
    #: the selected epoch's validation pass, when it ran in this call (None: re-evaluate)
    val_predictions: Predictions | None = None

    @property
    def samples_per_second(self) -> float:
        return self.n_trained / self.train_seconds if self.train_seconds else float("nan")


@dataclass(frozen=True)
class Predictions:
    logits: np.ndarray
    features: np.ndarray

    @property
    def y_pred(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    @property
    def probs(self) -> np.ndarray:
        return torch.softmax(torch.as_tensor(self.logits), dim=1).numpy()


def initial_model(config: TrainConfig, train: Units) -> tuple[Decoder, LoadedWeights | None]:
    """A fresh ``config.decoder`` for ``train`` (from torch's current random state), with the
    weights of ``config.weights`` loaded when set, and what loading did."""
    model = build_decoder(
        config.decoder, train.n_channels, train.n_bands, train.n_classes, **config.hyper
    )
    if config.weights is None:
        return model, None
    return model, load_weights(model, config.decoder, config.weights, config.weights_sha256)


def warmup_cosine(step: int, warmup: int, total: int) -> float:
    """LR factor at ``step``: linear warm-up over ``warmup`` steps, then cosine decay to 0."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def fit(
    config: TrainConfig,
    train: Units,
    val: Units | None = None,
    *,
    model: Decoder | None = None,
    run_dir: str | Path | None = None,
    until_epoch: int | None = None,
    extra_loss: ExtraLoss | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_epoch_state: EpochObserver | None = None,
) -> TrainResult:
    """Train a decoder on ``train``, select the epoch on ``val``; see the module docstring.

    ``model`` starts from given weights (it is trained in place); by default a fresh
    ``config.decoder`` is built from the seed (with ``config.weights``: :func:`initial_model`).
    ``run_dir`` enables checkpoints and resumes from one found there. ``until_epoch`` stops
    early (checkpointed) for time-sliced jobs.
    ``extra_loss(logits, features, batch)`` is added to the loss (alignment strategies).
    ``on_epoch_state`` observes the model after each epoch (:class:`EpochState`): it runs in
    eval mode under a forked random state, and the model's train/eval mode, its parameter
    gradients and the extra loss's state are restored afterwards, so a run with an observer
    gives the same weights as one without (unless the observer writes to the weights).
    """
    if len(train) < 2:
        raise ValueError(
            f"{len(train)} training samples: nothing to train on (is the segment longer than "
            f"the stimuli? {train.describe()['unit']} units of {train.seconds:g} s)"
        )
    device = resolve_device(config.device)
    with _seeded(config.seed, device), _threads(config.num_threads), tf32(config.tf32, device):
        if model is None:
            model = initial_model(config, train)[0]
        if checkpointing_requested(config.checkpoint_activations):
            model.checkpoint_activations()
        if model.input_kind != train.input_kind:
            raise ValueError(
                f"decoder {type(model).__name__} takes {model.input_kind} input but the units "
                f"hold {train.input_kind}"
            )
        try:
            run = _Run(config, train, val, model.to(device), device, run_dir, extra_loss)
            return run.train(until_epoch, on_epoch, on_epoch_state)
        except RuntimeError as error:
            if not is_out_of_memory(error):
                raise
            raise out_of_memory(
                decoder=config.decoder,
                key=config.key(),
                batch_size=config.batch_size,
                precision=config.precision,
                device=device,
                n_samples=len(train),
                run_dir=run_dir,
                error=error,
            ) from error


class _Run:
    """The state of one training run and its loop (kept private: :func:`fit` is the API)."""

    def __init__(
        self,
        config: TrainConfig,
        train: Units,
        val: Units | None,
        model: Decoder,
        device: torch.device,
        run_dir: str | Path | None,
        extra_loss: ExtraLoss | None,
    ) -> None:
        self.config, self.model, self.device, self.extra_loss = config, model, device, extra_loss
        self.train_units, self.input_kind = train, train.input_kind
        self.x = torch.as_tensor(train.x, device=device)
        self.y = torch.as_tensor(train.y, device=device)
        self.val = val if val is not None and len(val) else None
        self.val_x = None if self.val is None else torch.as_tensor(self.val.x, device=device)
        self.bounds = list(_batch_bounds(len(train), config.batch_size))
        self.bounds = self.bounds[: config.max_steps_per_epoch]
        steps = len(self.bounds)
        self.optimizer = torch.optim.AdamW(
            _trainable(model, extra_loss),
            lr=config.lr,
            weight_decay=config.weight_decay,
            fused=device.type in {"cpu", "cuda"},  # one kernel for all parameters: ~5x faster
        )
        schedule = partial(
            warmup_cosine, warmup=config.warmup_epochs * steps, total=config.epochs * steps
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.scaler = grad_scaler(config.precision, device)
        self.forward = forward_of(model, compile_requested(config.compile))
        order_seed, augment_seed = np.random.SeedSequence(config.seed).generate_state(2)
        self.order_gen = torch.Generator().manual_seed(int(order_seed))
        self.augment_gen = torch.Generator(device=device).manual_seed(int(augment_seed))
        self.targets = None
        if config.distillation is not None:
            self.targets = soft_targets(train.n_classes, config.distillation).to(device)
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.identity = {
            "config": json.dumps(config.identity(), sort_keys=True),
            "training_data": data_fingerprint(train.x, train.y, train.subject),
        }
        self.epoch, self.history = 0, list[EpochRecord]()
        self.best_epoch, self.best_score = 0, -math.inf
        self.best_state = self._snapshot()
        self.best_val: Predictions | None = None
        self.last_val: Predictions | None = None
        if self.run_dir is not None:
            state = load_checkpoint(self.run_dir, self.identity, device)
            if state is not None:
                self._restore(state)

    # ------------------------------------------------------------------------- loop
    def train(
        self,
        until_epoch: int | None,
        on_epoch: Callable[[EpochRecord], None] | None,
        on_epoch_state: EpochObserver | None = None,
    ) -> TrainResult:
        last = min(self.config.epochs, self.config.max_epochs or self.config.epochs)
        stop = min(last, until_epoch or last)
        every = self.config.checkpoint_every
        start_epoch = self.epoch
        while self.epoch < stop:
            self.epoch += 1
            record = self._one_epoch()
            self.history.append(record)
            score = record.val_balanced_accuracy
            if score is not None and score > self.best_score:
                self.best_epoch, self.best_score = self.epoch, score
                self.best_state, self.best_val = self._snapshot(), self.last_val
            if self.run_dir is not None and (
                self.epoch == stop or (every and self.epoch % every == 0)
            ):
                save_checkpoint(self.run_dir, self._state())
            if on_epoch is not None:
                on_epoch(record)
            if on_epoch_state is not None:
                self._observe(on_epoch_state, record)
        new = self.history[start_epoch:]
        if self.val is None:
            self.best_epoch, self.best_state = self.epoch, self._snapshot()
        self.model.load_state_dict(self.best_state)
        return TrainResult(
            model=self.model,
            history=list(self.history),
            best_epoch=self.best_epoch,
            best_val_balanced_accuracy=None if self.val is None else self.best_score,
            selected_by="last-epoch" if self.val is None else "val-balanced-accuracy",
            completed=self.epoch >= last,
            device=str(self.device),
            n_trained=len(new) * sum(stop - start for start, stop in self.bounds),
            train_seconds=sum(r.train_seconds for r in new),
            val_predictions=self.best_val,
        )

    def _one_epoch(self) -> EpochRecord:
        started = time.perf_counter()
        self.model.train()
        order = torch.randperm(len(self.train_units), generator=self.order_gen).to(self.device)
        total, seen = torch.zeros((), device=self.device), 0
        for start, stop in self.bounds:
            index = order[start:stop]
            x, y = self.x[index], self.y[index]
            if self.config.augmentation is not None:
                x = augment(x, self.config.augmentation, self.augment_gen, self.input_kind)
            with autocast(self.config.precision, self.device):
                logits, features = self.forward(x, return_features=True)
                loss = self._loss(logits, features, Batch(x, y, index, self.epoch))
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is None:
                loss.backward()
                self.optimizer.step()
            else:  # fp16: scaled backward; a step with overflowed gradients is skipped
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            self.scheduler.step()
            total += loss.detach() * index.numel()
            seen += index.numel()
        train_loss = float(total) / seen
        trained = time.perf_counter()
        val_loss = val_ba = None
        if self.val is not None and self.val_x is not None:
            logits, features = forward_all(self.model, self.val_x, self.config.eval_batch_size)
            self.last_val = Predictions(logits.cpu().numpy(), features.cpu().numpy())
            target = torch.as_tensor(self.val.y, device=self.device)
            val_loss = float(F.cross_entropy(logits, target))
            val_ba = float(balanced_accuracy_score(self.val.y, logits.argmax(1).cpu().numpy()))
        return EpochRecord(
            epoch=self.epoch,
            lr=float(self.scheduler.get_last_lr()[0]),
            train_loss=train_loss,
            val_loss=val_loss,
            val_balanced_accuracy=val_ba,
            train_seconds=trained - started,
            eval_seconds=time.perf_counter() - trained,
        )

    def _observe(self, observer: EpochObserver, record: EpochRecord) -> None:
        """Call ``observer`` without changing what the run computes (see :func:`fit`)."""
        mode = self.model.training
        grads = [p.grad for p in self.model.parameters()]
        extra = {k: v.clone() for k, v in _module_state(self.extra_loss).items()}
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        self.model.eval()
        try:
            with torch.random.fork_rng(devices=devices):
                observer(
                    EpochState(self.model, record, self.train_units, self.val, self.extra_loss)
                )
        finally:
            self.model.train(mode)
            for param, grad in zip(self.model.parameters(), grads, strict=True):
                param.grad = grad
            if isinstance(self.extra_loss, nn.Module):
                self.extra_loss.load_state_dict(extra)

    def _loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        loss = F.cross_entropy(logits, batch.y)
        if self.config.distillation is not None and self.targets is not None:
            loss = loss + distillation_loss(logits, batch.y, self.targets, self.config.distillation)
        if self.extra_loss is not None:
            loss = loss + self.extra_loss(logits, features, batch)
        return loss

    # ------------------------------------------------------------------- state
    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def _state(self) -> dict[str, Any]:
        cuda = torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []
        return self.identity | {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "extra_loss": _module_state(self.extra_loss),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": cuda,
                "order": self.order_gen.get_state(),
                "augment": self.augment_gen.get_state(),
            },
            "best": {"epoch": self.best_epoch, "score": self.best_score, "state": self.best_state},
            "history": [asdict(r) for r in self.history],
        }

    def _restore(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.model.load_state_dict(state["model"])
        if isinstance(self.extra_loss, nn.Module):
            self.extra_loss.load_state_dict(state["extra_loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"].cpu())
        if rng["cuda"]:
            torch.cuda.set_rng_state_all([s.cpu() for s in rng["cuda"]])
        self.order_gen.set_state(rng["order"].cpu())
        self.augment_gen.set_state(rng["augment"].cpu())
        best = state["best"]
        self.best_epoch, self.best_score = int(best["epoch"]), float(best["score"])
        self.best_state = best["state"]
        self.history = [EpochRecord(**r) for r in state["history"]]


def _batch_bounds(n: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """Batch boundaries; a lone last sample is skipped (batch-norm layers cannot train on one)."""
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        if stop - start > 1 or start == 0:
            yield start, stop


@torch.no_grad()
def forward_all(
    model: Decoder, x: torch.Tensor, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and penultimate features of every row of ``x``, in eval mode, batch by batch."""
    model.eval()
    parts = [
        model(x[i : i + batch_size], return_features=True) for i in range(0, len(x), batch_size)
    ]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def predict(model: Decoder, units: Units, batch_size: int = 1024) -> Predictions:
    """Logits and penultimate features of every unit, as numpy arrays."""
    device = next(model.parameters()).device
    logits, features = forward_all(model, torch.as_tensor(units.x, device=device), batch_size)
    return Predictions(logits=logits.cpu().numpy(), features=features.cpu().numpy())


def evaluate(model: Decoder, units: Units, batch_size: int = 1024) -> tuple[Metrics, Predictions]:
    """Metrics of the model on ``units`` and the predictions they were computed from."""
    predictions = predict(model, units, batch_size)
    metrics = compute_metrics(units.y, predictions.y_pred, units.subject, units.n_classes)
    return metrics, predictions


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global generator (dropout, initialisation) without leaking the change."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _trainable(model: nn.Module, extra_loss: ExtraLoss | None) -> list[nn.Parameter]:
    """The decoder's parameters, then those an auxiliary loss owns (heads, projections).

    A loss that wraps the decoder shares its parameters: each is listed once.
    """
    params = list(model.parameters())
    if isinstance(extra_loss, nn.Module):
        seen = {id(p) for p in params}
        params += [p for p in extra_loss.parameters() if id(p) not in seen]
    return params


def _module_state(module: object) -> dict[str, torch.Tensor]:
    return module.state_dict() if isinstance(module, nn.Module) else {}
