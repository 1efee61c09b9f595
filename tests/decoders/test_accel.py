"""Precision, TF32, torch.compile, placement and out-of-memory errors of the training engine.

Tests marked ``gpu`` run where CUDA is (bench/device_check.sh runs them); elsewhere they skip.
The pinned keys were computed on main before these settings existed: a run (and a sweep job)
that does not use them keeps its key, so results cached before stay valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.decoders.planted import planted_units
from tests.decoders.test_train import config, same_weights, study_regime
from vaxis.decoders.accel import OutOfMemory, _tf32_flags, resolve_device, tf32
from vaxis.decoders.numerics import DEVICE_VARIABLE
from vaxis.decoders.train import Batch, TrainConfig, evaluate, fit
from vaxis.ensemble.recipe import EnsembleConfig
from vaxis.sweep.jobs import Job

#: TrainConfig().key() and an ensemble member's keys, computed on main before precision existed
DEFAULT_KEY = "0d7911f97f84"
MEMBER_KEY = "379823bfc400"
MEMBER_JOB_KEY = "475819ac135ee13f4448af58e6956d5a647750316a970d2b0a785dfce6fde26f"
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def _member_job(ensemble: EnsembleConfig) -> Job:
    params = {"cohort": "/data/c.h5", "split": "holdout", "fold": 0, "inputs": {"task": "faced9"},
              "regime": "aug-kd", "train": ensemble.train_params(6, 100, 42)}  # fmt: skip
    return Job(kind="train", params=params, code_version="pinned")


def test_default_keys_are_those_computed_before_precision_existed() -> None:
    assert TrainConfig().key() == DEFAULT_KEY
    assert TrainConfig(precision="fp32", tf32=False, compile=False).key() == DEFAULT_KEY
    ensemble = EnsembleConfig(cohort=Path("/data/c.h5"))
    assert TrainConfig(**ensemble.train_params(6, 100, 42)).key() == MEMBER_KEY
    assert _member_job(ensemble).key() == MEMBER_JOB_KEY
    assert "precision" not in ensemble.train_params(6, 100, 42)


def test_settings_that_change_numbers_are_keyed_and_speed_settings_are_not() -> None:
    keys = {TrainConfig(precision=p).key() for p in ("fp32", "bf16", "fp16")}
    assert len(keys) == 3 and TrainConfig(tf32=True).key() != DEFAULT_KEY
    for speed in ({"compile": True}, {"device": "cuda:1"}, {"num_threads": 3}):
        assert TrainConfig.model_validate(speed).key() == DEFAULT_KEY
    bf16 = EnsembleConfig(cohort=Path("/data/c.h5"), precision="bf16")
    assert _member_job(bf16).key() != MEMBER_JOB_KEY
    placed = EnsembleConfig(
        cohort=Path("/data/c.h5"), devices=("cuda:0", "cuda:1"), jobs_per_device=4, compile=True
    )
    assert _member_job(placed).key() == MEMBER_JOB_KEY


def test_explicit_fp32_and_cpu_tf32_train_exactly_as_the_default() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    default = fit(study_regime(), train, val)
    for same in (study_regime(precision="fp32"), study_regime(tf32=True)):  # tf32: CUDA only
        run = fit(same, train, val)
        assert same_weights(default.model, run.model)
        assert [r.train_loss for r in run.history] == [r.train_loss for r in default.history]


def test_bf16_trains_the_planted_task_close_to_fp32_and_is_really_bf16() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    exact = fit(config(epochs=6), train, val)
    half = fit(config(epochs=6, precision="bf16"), train, val)
    assert not same_weights(exact.model, half.model)  # autocast did change the arithmetic
    exact_ba = evaluate(exact.model, val)[0].balanced_accuracy
    half_ba = evaluate(half.model, val)[0].balanced_accuracy
    assert exact_ba > 0.9 and abs(half_ba - exact_ba) <= 0.05
    for a, b in zip(exact.history, half.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=0.05, abs=0.02)
    weights = next(half.model.parameters())
    assert weights.dtype == torch.float32  # master weights stay fp32


def test_fp16_scales_the_loss_trains_and_resumes_identically(tmp_path: Path) -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    fp16 = config(epochs=4, precision="fp16", checkpoint_every=1)
    try:
        straight = fit(fp16, train, val)
    except RuntimeError as error:  # an old CPU autocast without fp16
        pytest.skip(f"fp16 autocast unavailable on this CPU: {error}")
    assert evaluate(straight.model, val)[0].balanced_accuracy > 0.9
    fit(fp16, train, val, run_dir=tmp_path, until_epoch=2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert state["scaler"]["scale"] > 0  # the loss scale is checkpointed
    resumed = fit(fp16, train, val, run_dir=tmp_path)
    assert same_weights(straight.model, resumed.model)


@pytest.mark.slow
def test_compiled_training_agrees_with_eager_within_rounding() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    eager = fit(config(epochs=2), train, val)
    try:
        compiled = fit(config(epochs=2, compile=True), train, val)
    except Exception as error:  # no working compiler toolchain here
        pytest.skip(f"torch.compile unavailable: {type(error).__name__}: {str(error)[:200]}")
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
    for (name, a), b in zip(
        eager.model.state_dict().items(), compiled.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4, msg=name)


def test_auto_is_the_device_a_worker_was_placed_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEVICE_VARIABLE, raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto") == torch.device(expected)
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu:1")
    assert resolve_device("auto") == torch.device("cpu:1")
    assert resolve_device("cpu") == torch.device("cpu")  # an explicit device wins
    assert fit(config(epochs=1), planted_units()).device == "cpu:1"


def test_tf32_switches_cuda_matmuls_only_inside_its_context() -> None:
    before = [getattr(owner, name) for owner, name, _ in _tf32_flags()]
    with tf32(True, torch.device("cuda")):
        assert [getattr(o, n) for o, n, _ in _tf32_flags()] == [v for _, _, v in _tf32_flags()]
    assert [getattr(owner, name) for owner, name, _ in _tf32_flags()] == before
    with tf32(True, torch.device("cpu")), tf32(False, torch.device("cuda")):
        assert [getattr(owner, name) for owner, name, _ in _tf32_flags()] == before


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
    ],
)
def test_out_of_memory_names_the_run_and_what_to_change(
    error: RuntimeError, tmp_path: Path
) -> None:
    def exhaust(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise error

    settings = config(batch_size=64)
    with pytest.raises(OutOfMemory) as caught:
        fit(settings, planted_units(), run_dir=tmp_path, extra_loss=exhaust)
    message = str(caught.value)
    for part in (settings.key(), str(tmp_path), "batch_size (now 64)", "jobs_per_device", "bf16"):
        assert part in message
    assert "Tried to allocate" in message or "out of memory" in message
    assert caught.value.__cause__ is error


def test_other_runtime_errors_are_not_taken_for_out_of_memory() -> None:
    def broken(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch") as caught:
        fit(config(), planted_units(), extra_loss=broken)
    assert not isinstance(caught.value, OutOfMemory)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("changes", [{"precision": "bf16"}, {"precision": "fp16"}, {"tf32": True}])
def test_on_cuda_each_setting_trains_the_planted_task_close_to_fp32(
    changes: dict[str, object],
) -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    flags = [getattr(owner, name) for owner, name, _ in _tf32_flags()]
    exact = fit(config(epochs=6, device="cuda"), train, val)
    fast = fit(config(epochs=6, device="cuda", **changes), train, val)
    assert fast.device.startswith("cuda")
    assert [getattr(owner, name) for owner, name, _ in _tf32_flags()] == flags  # restored
    exact_ba = evaluate(exact.model, val)[0].balanced_accuracy
    assert exact_ba > 0.9
    assert abs(evaluate(fast.model, val)[0].balanced_accuracy - exact_ba) <= 0.05
    for a, b in zip(exact.history, fast.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=0.05, abs=0.02)


@pytest.mark.gpu
@needs_cuda
def test_a_real_cuda_out_of_memory_names_the_run_and_the_fix(tmp_path: Path) -> None:
    def allocate(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        torch.empty(2**50, dtype=torch.uint8, device=logits.device)  # a PiB: never fits
        return torch.zeros((), device=logits.device)

    with pytest.raises(OutOfMemory, match="ran out of memory on cuda") as caught:
        fit(config(device="cuda"), planted_units(), run_dir=tmp_path, extra_loss=allocate)
    assert "jobs_per_device" in str(caught.value) and str(tmp_path) in str(caught.value)


@pytest.mark.gpu
@needs_cuda
def test_compiled_training_on_cuda_agrees_with_eager() -> None:
    train, val = planted_units(seed=0), planted_units(seed=1)
    eager = fit(config(epochs=2, device="cuda"), train, val)
    compiled = fit(config(epochs=2, device="cuda", compile=True), train, val)
    for a, b in zip(eager.history, compiled.history, strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-3)


def test_smoke_adds_its_limits_to_every_member_and_only_when_on() -> None:
    smoke = EnsembleConfig(cohort=Path("/data/c.h5"), smoke=True)
    params = smoke.train_params(6, 100, 42)
    limits = ("max_epochs", "max_steps_per_epoch", "max_eval_units_per_stimulus", "epochs")
    assert tuple(params[k] for k in limits) == (1, 2, 1, 100)
    assert _member_job(smoke).key() != MEMBER_JOB_KEY
    assert "max_epochs" not in EnsembleConfig(cohort=Path("/data/c.h5")).train_params(6, 100, 42)
