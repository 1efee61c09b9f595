"""The training engine: a hand-computed AdamW run, determinism, resume, selection, hooks."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.decoders.planted import planted_units
from vaxis.decoders import build_decoder
from vaxis.decoders.augment import Augmentation
from vaxis.decoders.distill import Distillation
from vaxis.decoders.train import Batch, EpochState, TrainConfig, evaluate, fit, warmup_cosine
from vaxis.errors import DataFormatError

SMALL_MLP = {"hidden": [16], "dropout": 0.3}


def config(**changes: object) -> TrainConfig:
    base: dict[str, object] = {
        "decoder": "mlp", "hyper": SMALL_MLP, "epochs": 4, "batch_size": 32, "lr": 1e-2,
        "warmup_epochs": 1, "num_threads": 1,
    }  # fmt: skip
    return TrainConfig.model_validate(base | changes)


def study_regime(**changes: object) -> TrainConfig:
    return config(augmentation=Augmentation(), distillation=Distillation(), **changes)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_two_full_batch_steps_match_adamw_computed_by_hand() -> None:
    """Linear decoder, whole data in one batch per epoch, warm-up 0, cosine over 2 steps."""
    units = planted_units(n_per_class=4, n_classes=3, shape=(1, 2, 2))
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    model = build_decoder("linear", 2, 2, 3)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.as_tensor(w))
        model.classifier.bias.copy_(torch.as_tensor(b))
    lr, wd, beta1, beta2, eps = 0.1, 0.01, 0.9, 0.999, 1e-8
    settings = TrainConfig(decoder="linear", epochs=2, batch_size=64, lr=lr, weight_decay=wd,
                           warmup_epochs=0, num_threads=1)  # fmt: skip
    result = fit(settings, units, model=model)

    x, onehot = units.x.reshape(len(units), -1).astype(np.float64), np.eye(3)[units.y]
    params, m, v, losses = [w, b], [0.0, 0.0], [0.0, 0.0], []
    for step, factor in enumerate([1.0, 0.5 * (1 + math.cos(math.pi / 2))], start=1):
        z = x @ params[0].T + params[1]
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        losses.append(-np.mean(np.log((p * onehot).sum(1))))
        g = (p - onehot) / len(units)
        grads = [g.T @ x, g.sum(0)]
        for i, grad in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad**2
            m_hat, v_hat = m[i] / (1 - beta1**step), v[i] / (1 - beta2**step)
            step_lr = lr * factor
            params[i] = params[i] * (1 - step_lr * wd) - step_lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(
        result.model.classifier.weight.detach().numpy(), params[0], atol=1e-5
    )
    np.testing.assert_allclose(result.model.classifier.bias.detach().numpy(), params[1], atol=1e-5)
    np.testing.assert_allclose([r.train_loss for r in result.history], losses, rtol=1e-5)
    assert result.selected_by == "last-epoch" and result.best_epoch == 2


def test_warmup_then_cosine_schedule() -> None:
    assert [warmup_cosine(s, warmup=4, total=12) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert warmup_cosine(8, warmup=4, total=12) == pytest.approx(0.5)
    assert warmup_cosine(12, warmup=4, total=12) == pytest.approx(0.0)
    assert warmup_cosine(0, warmup=0, total=10) == 1.0


def test_same_seed_same_weights_and_the_callers_random_state_is_untouched() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    first = fit(study_regime(), train, val)
    assert torch.equal(torch.rand(3), expected_draw)
    second = fit(study_regime(), train, val)
    assert same_weights(first.model, second.model)
    assert [r.train_loss for r in first.history] == [r.train_loss for r in second.history]
    other = fit(study_regime(seed=1), train, val)
    assert not same_weights(first.model, other.model)


def test_interrupted_and_resumed_run_equals_a_straight_run(tmp_path: Path) -> None:
    """Dropout, augmentation, distillation and shuffling all continue where they stopped."""
    train, val = planted_units(seed=0), planted_units(seed=1)
    straight = fit(study_regime(), train, val)
    part = fit(study_regime(checkpoint_every=1), train, val, run_dir=tmp_path, until_epoch=2)
    assert not part.completed and len(part.history) == 2
    resumed = fit(study_regime(checkpoint_every=1), train, val, run_dir=tmp_path)
    assert resumed.completed and resumed.best_epoch == straight.best_epoch
    assert same_weights(straight.model, resumed.model)
    keys = ("train_loss", "val_loss", "val_balanced_accuracy", "lr")
    assert [[getattr(r, k) for k in keys] for r in resumed.history] == [
        [getattr(r, k) for k in keys] for r in straight.history
    ]
    again = fit(study_regime(), train, val, run_dir=tmp_path)  # finished: nothing to train
    assert again.n_trained == 0 and same_weights(again.model, straight.model)


def test_a_checkpoint_is_never_resumed_with_another_config_or_other_data(tmp_path: Path) -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    fit(config(), train, val, run_dir=tmp_path, until_epoch=1)
    with pytest.raises(DataFormatError, match="different config"):
        fit(config(lr=0.5), train, val, run_dir=tmp_path)
    with pytest.raises(DataFormatError, match="different training data"):
        fit(config(), planted_units(seed=5), val, run_dir=tmp_path)
    fit(config(device="cpu", num_threads=1), train, val, run_dir=tmp_path)  # runtime-only change


def test_the_kept_weights_are_those_of_the_best_validation_epoch() -> None:
    train, val = planted_units(separation=0.6, seed=0), planted_units(separation=0.6, seed=1)
    result = fit(config(epochs=8, lr=0.2), train, val)
    scores = [r.val_balanced_accuracy for r in result.history]
    assert result.best_epoch == int(np.argmax(scores)) + 1
    assert result.best_val_balanced_accuracy == max(scores)
    rescored = evaluate(result.model, val)[0].balanced_accuracy
    assert rescored == pytest.approx(result.best_val_balanced_accuracy)
    assert result.history[-1].lr == pytest.approx(0.0, abs=1e-12)  # cosine ends at zero


def test_extra_loss_sees_each_batch_and_changes_training() -> None:
    train = planted_units(n_per_class=5, n_classes=3)  # 15 samples
    seen: list[Batch] = []

    def record(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        seen.append(batch)
        assert features.shape == (len(batch.y), 16)
        return torch.zeros(())

    fit(config(epochs=2, batch_size=7), train, extra_loss=record)
    # 15 = 7 + 7 + a lone sample that is skipped (batch norm cannot train on one)
    assert [len(b.y) for b in seen] == [7, 7, 7, 7] and [b.epoch for b in seen] == [1, 1, 2, 2]
    for batch in seen:
        assert torch.equal(torch.as_tensor(train.y)[batch.index], batch.y)

    def shrink(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        return 10 * logits.pow(2).mean()

    plain, shrunk = fit(config(), train), fit(config(), train, extra_loss=shrink)
    x = torch.as_tensor(train.x)
    assert shrunk.model.eval()(x).abs().mean() < 0.5 * plain.model.eval()(x).abs().mean()


def test_decoder_and_units_must_agree_on_the_input_kind() -> None:
    raw = replace(planted_units(), input_kind="raw")
    with pytest.raises(ValueError, match="takes de input"):
        fit(config(), raw)


def test_config_is_frozen_strict_and_keyed_by_what_changes_results() -> None:
    with pytest.raises(ValueError, match="epochz"):
        TrainConfig.model_validate({"epochz": 3})
    assert config().key() == config(device="cpu", num_threads=2, checkpoint_every=3).key()
    assert config().key() != config(seed=1).key()
    assert hash(config()) == hash(config())
    study = Augmentation(p=0.6, noise_std=0.05, channel_dropout=0.15, time_mask=0.05)
    assert study_regime().augmentation == study


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_runs_on_the_gpu_when_present() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    result = fit(study_regime(device="auto"), train, val)
    assert result.device.startswith("cuda")
    assert evaluate(result.model, val)[0].balanced_accuracy > 0.9


def test_an_auxiliary_loss_with_parameters_is_trained_and_resumed(tmp_path: Path) -> None:
    """fit() optimises a loss module's own parameters and restores them from a checkpoint."""
    units = planted_units(n_per_class=20, n_classes=3, shape=(1, 4, 3))

    class HeadLoss(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = torch.nn.Linear(16, 1)

        def forward(
            self, logits: torch.Tensor, features: torch.Tensor, batch: object
        ) -> torch.Tensor:
            return (self.head(features) ** 2).mean()

    def run(epochs: int, until: int | None, run_dir: Path | None) -> HeadLoss:
        torch.manual_seed(0)
        loss = HeadLoss()
        config = TrainConfig(decoder="mlp", hyper={"hidden": [16]}, epochs=epochs, batch_size=16,
                             warmup_epochs=0, num_threads=1, checkpoint_every=1)  # fmt: skip
        fit(config, units, run_dir=run_dir, until_epoch=until, extra_loss=loss)
        return loss

    torch.manual_seed(0)
    initial = HeadLoss().head.weight.detach().clone()
    straight = run(4, None, tmp_path / "straight")
    assert not torch.equal(straight.head.weight, initial)
    run(4, 2, tmp_path / "resumed")
    resumed = run(4, None, tmp_path / "resumed")
    torch.testing.assert_close(resumed.head.weight, straight.head.weight)


def test_training_without_samples_fails_clearly() -> None:
    empty = planted_units(n_per_class=4, n_classes=3).subset(np.zeros(12, dtype=bool))
    with pytest.raises(ValueError, match="0 training samples"):
        fit(TrainConfig(decoder="mlp", epochs=1), empty)


def test_an_epoch_observer_sees_each_epoch_and_leaves_the_run_bit_identical() -> None:
    """The observer draws random numbers, runs forward and backward passes and leaves
    gradients behind: the weights and history still equal those of a run without it."""
    train, val = planted_units(seed=0), planted_units(seed=1)
    seen: list[tuple[int, bool, torch.Tensor]] = []

    def observe(state: EpochState) -> None:
        torch.rand(5)  # would shift dropout and augmentation draws if not isolated
        x = torch.as_tensor(state.val.x if state.val is not None else state.train.x)
        state.model(x).sum().backward()  # leaves .grad on the parameters
        weight = next(state.model.parameters()).detach().clone()
        seen.append((state.record.epoch, state.model.training, weight))

    plain = fit(study_regime(), train, val)
    observed = fit(study_regime(), train, val, on_epoch_state=observe)
    assert same_weights(plain.model, observed.model)
    assert [r.train_loss for r in plain.history] == [r.train_loss for r in observed.history]
    assert [(epoch, training) for epoch, training, _ in seen] == [(e, False) for e in (1, 2, 3, 4)]
    assert not torch.equal(seen[0][2], seen[-1][2])  # the model in its state of each epoch


def test_smoke_limits_cut_the_run_and_are_keyed_only_when_set() -> None:
    """max_epochs / max_steps_per_epoch (a smoke run): absent from the key at None, distinct
    keys when set; max_epochs stops where until_epoch would; max_steps trains that many batches."""
    train, val = planted_units(seed=0), planted_units(seed=1)  # 120 samples: 4 batches of 32
    assert TrainConfig(max_epochs=None, max_steps_per_epoch=None).key() == TrainConfig().key()
    keys = {config().key(), config(max_epochs=1).key(), config(max_steps_per_epoch=2).key()}
    assert len(keys) == 3
    stopped = fit(config(max_epochs=1), train, val)
    sliced = fit(config(), train, val, until_epoch=1)
    assert same_weights(stopped.model, sliced.model) and len(stopped.history) == 1
    assert stopped.completed and not sliced.completed  # the smoke job is done, the slice is not
    unlimited = fit(config(max_steps_per_epoch=4), train, val)  # as many as there are: no change
    assert same_weights(unlimited.model, fit(config(), train, val).model)
    model = build_decoder("mlp", train.n_channels, train.n_bands, train.n_classes, **SMALL_MLP)
    steps: list[int] = []
    model.register_forward_pre_hook(lambda module, _: steps.append(1) if module.training else None)
    limited = fit(config(max_epochs=1, max_steps_per_epoch=2), train, val, model=model)
    assert len(steps) == 2 and limited.n_trained == 64 and limited.completed
