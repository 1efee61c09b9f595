"""Starting a decoder from a weights file: the official CBraMod layouts, the key of a run that
loads one, and fine-tuning from it (tests/decoders/official_cbramod.py builds the official
layouts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.decoders.official_cbramod import official_backbone, official_finetuned
from vaxis.decoders.base import weights_decoders
from vaxis.decoders.cbramod import CBraMod
from vaxis.decoders.train import Batch, TrainConfig, fit, initial_model
from vaxis.decoders.units import Units
from vaxis.errors import DataFormatError

TINY = {"patch": 200, "width": 50, "depth": 1, "heads": 2, "feedforward": 64}
HYPER = {"patch_size": 200, "width": 50, "depth": 1, "heads": 2, "feedforward": 64}


def tiny(n_samples: int = 400, seed: int = 0, **hyper: object) -> CBraMod:
    torch.manual_seed(seed)
    return CBraMod(4, n_samples, 3, **(HYPER | hyper))  # type: ignore[arg-type]


def test_only_cbramod_takes_weights() -> None:
    assert weights_decoders() == ["cbramod"]


def test_the_official_release_layout_loads_every_tensor_exactly(tmp_path: Path) -> None:
    """pretrained_weights.pth at the release's sizes: every encoder tensor is the file's, the
    pre-training-only keys are dropped and the head keeps its initial values."""
    torch.manual_seed(3)
    state = official_backbone().state_dict()
    assert state["patch_embedding.spectral_proj.0.weight"].shape == (200, 101)
    assert state["encoder.layers.11.self_attn_s.in_proj_weight"].shape == (300, 100)
    path = tmp_path / "pretrained_weights.pth"
    torch.save(state, path)
    torch.manual_seed(0)
    model = CBraMod(32, 2000, 9, patch_size=200)
    head = model.classifier.weight.detach().clone()
    loaded = model.load_pretrained(path)
    assert loaded.layout == "encoder"
    assert loaded.dropped == (
        "patch_embedding.mask_encoding",
        "proj_out.0.bias",
        "proj_out.0.weight",
    )
    assert loaded.initialised == ("classifier.bias", "classifier.weight")
    ours = model.state_dict()
    for key, value in state.items():
        if key not in loaded.dropped:
            torch.testing.assert_close(ours[key], value, rtol=0, atol=0)
    assert set(ours) - set(state) == set(loaded.initialised)
    torch.testing.assert_close(model.classifier.weight, head, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("prefix", "head", "indices"),
    [("", "all_patch_reps", (1, 4, 7)), ("module.", "all_patch_reps", (1, 4, 7)),
     ("", "avgpooling_patch_reps", (3,))],
)  # fmt: skip
def test_a_finetuning_checkpoint_maps_its_backbone_and_drops_its_head(
    tmp_path: Path, prefix: str, head: str, indices: tuple[int, ...]
) -> None:
    torch.manual_seed(4)
    source = official_finetuned(head, 4, 2, 9, **TINY)
    state = {prefix + k: v for k, v in source.state_dict().items()}
    path = tmp_path / "finetuned.pth"
    torch.save(state, path)
    model = tiny()
    loaded = model.load_pretrained(path)
    assert loaded.layout == "official fine-tuning"
    head_keys = sorted(f"classifier.{i}.{p}" for i in indices for p in ("bias", "weight"))
    assert loaded.dropped == (*head_keys, "patch_embedding.mask_encoding")
    assert loaded.initialised == ("classifier.bias", "classifier.weight")
    for key, value in source.backbone.state_dict().items():
        if key != "patch_embedding.mask_encoding":
            torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)


def test_a_finetuning_checkpoint_with_other_keys_is_refused_listing_them(tmp_path: Path) -> None:
    state = official_finetuned("avgpooling_patch_reps", 4, 2, 9, **TINY).state_dict()
    state["ema.decay"] = torch.zeros(1)
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(DataFormatError) as error:
        model.load_pretrained(path)
    message = str(error.value)
    assert str(path) in message and "unexpected: ema.decay" in message
    assert "classifier.3" not in message  # the head is expected, not unexpected
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_a_finetuning_backbone_of_other_sizes_is_refused_by_shape(tmp_path: Path) -> None:
    state = official_finetuned("avgpooling_patch_reps", 4, 2, 9, **TINY).state_dict()
    torch.save(state, tmp_path / "f.pth")
    with pytest.raises(DataFormatError, match=r"shape: encoder\.layers\.0\.linear1\.weight"):
        tiny(feedforward=32).load_pretrained(tmp_path / "f.pth")


class _Exploit:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("unpickled!",))


def test_a_pickled_program_is_never_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"a": _Exploit()}, path)
    with pytest.raises(DataFormatError, match="not a loadable torch state dict") as error:
        tiny().load_pretrained(path)
    assert "unpickled!" not in capsys.readouterr().out
    message = str(error.value)
    assert str(path) in message and "objects other than tensors" in message
    assert "Weights only load failed" not in message  # torch's own text stays out


# --------------------------------------------------------------------- heads
FACED = {"n_channels": 32, "n_bands": 2000, "n_classes": 9, "patch_size": 200}


@pytest.mark.parametrize(
    ("head", "head_parameters"),
    [
        ("avgpool", 200 * 9 + 9),
        ("all_patch_reps", 64000 * 2000 + 2000 + 2000 * 200 + 200 + 200 * 9 + 9),
        ("all_patch_reps_twolayer", 64000 * 200 + 200 + 200 * 9 + 9),
        ("all_patch_reps_onelayer", 64000 * 9 + 9),
    ],
)
def test_head_parameter_counts_at_faced_sizes(head: str, head_parameters: int) -> None:
    """32 channels x 10 patches x 200 (FACED's 10-s segments at 200 Hz), as the official heads."""
    with torch.device("meta"):
        model = CBraMod(**FACED, head=head)  # type: ignore[arg-type]
        base = CBraMod(**FACED)
    encoder = sum(p.numel() for n, p in base.named_parameters() if not n.startswith("classifier"))
    total = sum(p.numel() for p in model.parameters())
    assert total - encoder == head_parameters
    assert head_parameters == {"avgpool": 1_809, "all_patch_reps": 128_404_009,
                               "all_patch_reps_twolayer": 12_802_009,
                               "all_patch_reps_onelayer": 576_009}[head]  # fmt: skip


@pytest.mark.parametrize(
    ("head", "feature_dim"),
    [("avgpool", 50), ("all_patch_reps", 50), ("all_patch_reps_twolayer", 50),
     ("all_patch_reps_onelayer", 4 * 2 * 50)],
)  # fmt: skip
def test_heads_give_the_documented_shapes(head: str, feature_dim: int) -> None:
    model = tiny(head=head).eval()
    logits, features = model(torch.randn(5, 4, 400), return_features=True)
    assert logits.shape == (5, 3) and features.shape == (5, feature_dim)
    assert model.feature_dim == feature_dim


def test_the_one_layer_head_reads_tokens_in_channel_patch_width_order() -> None:
    """As the official ``Rearrange('b c s d -> b (c s d)')``: one linear layer on them."""
    x = torch.randn(2, 4, 400)
    flat = tiny(head="all_patch_reps_onelayer", dropout=0.0).eval()
    tokens = flat.encoder(flat.patch_embedding((x * flat.input_scale).unflatten(-1, (-1, 200))))
    expected = flat.classifier(tokens.flatten(1))  # c, s, d order, as the official Rearrange
    torch.testing.assert_close(flat(x), expected)


def test_a_flattened_head_refuses_a_length_that_is_not_whole_patches() -> None:
    with pytest.raises(ValueError, match="multiple of patch_size=200"):
        tiny(n_samples=450, head="all_patch_reps")


# ------------------------------------------------------------ runs with weights
def units(n: int = 12, samples: int = 400) -> Units:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    return Units(
        x=rng.normal(size=(n, 4, samples)).astype(np.float32) * 20, y=y,
        subject=np.arange(n) // 3, stimulus=np.arange(n), segment=np.zeros(n, int),
        label=y, valence=y - 1, classes=("a", "b", "c"), task="faced9", unit="segment",
        seconds=2.0, input_kind="raw", synthetic=True,
    )  # fmt: skip


def _weights(path: Path, seed: int = 5) -> Path:
    torch.manual_seed(seed)
    torch.save(official_backbone(**TINY).state_dict(), path)
    return path


def test_the_weights_file_content_enters_the_key_and_its_path_does_not(tmp_path: Path) -> None:
    a = _weights(tmp_path / "a.pth")
    copy = tmp_path / "elsewhere" / "b.pth"
    copy.parent.mkdir()
    copy.write_bytes(a.read_bytes())
    other = _weights(tmp_path / "c.pth", seed=6)
    plain = TrainConfig(decoder="cbramod")
    keys = {name: TrainConfig(decoder="cbramod", weights=str(p)).key()
            for name, p in (("a", a), ("copy", copy), ("other", other))}  # fmt: skip
    assert keys["a"] == keys["copy"] != keys["other"]
    assert plain.key() != keys["a"]
    assert "weights" not in plain.identity() and "weights_sha256" not in plain.identity()
    assert TrainConfig(decoder="cbramod", weights=str(a)).identity()["weights_sha256"] == (
        __import__("hashlib").sha256(a.read_bytes()).hexdigest()
    )


def test_a_missing_weights_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="weights file not found"):
        TrainConfig(decoder="cbramod", weights=str(tmp_path / "none.pth"))


def test_a_decoder_without_weights_refuses_them_by_name(tmp_path: Path) -> None:
    config = TrainConfig(decoder="mlp", weights=str(_weights(tmp_path / "w.pth")))
    with pytest.raises(DataFormatError, match="decoder 'mlp' takes no pretrained weights"):
        initial_model(config, units())


def test_a_weights_file_changed_after_planning_is_refused(tmp_path: Path) -> None:
    path = _weights(tmp_path / "w.pth")
    config = TrainConfig(decoder="cbramod", hyper=HYPER, weights=str(path))
    _weights(path, seed=9)
    with pytest.raises(DataFormatError, match="changed after the run was planned"):
        initial_model(config, units())


def test_fine_tuning_starts_from_the_loaded_weights(tmp_path: Path) -> None:
    """The engine's first forward pass (first batch of epoch 1) is the loaded model's."""
    path = _weights(tmp_path / "w.pth")
    hyper = HYPER | {"dropout": 0.0}
    config = TrainConfig(decoder="cbramod", hyper=hyper, weights=str(path), epochs=1,
                         batch_size=12, warmup_epochs=0, device="cpu")  # fmt: skip
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def record(logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        if not seen:
            seen.append((logits.detach().clone(), batch.x.clone()))
        return logits.sum() * 0

    fit(config, units(), extra_loss=record)
    torch.manual_seed(config.seed)
    reference = CBraMod(4, 400, 3, **hyper).eval()  # type: ignore[arg-type]
    reference.load_pretrained(path)
    logits, x = seen[0]
    torch.testing.assert_close(logits, reference(x), rtol=1e-5, atol=1e-6)
    random_start = CBraMod(4, 400, 3, **hyper).eval()  # type: ignore[arg-type]
    assert not torch.allclose(logits, random_start(x), atol=1e-3)
