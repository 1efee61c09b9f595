"""Unit tests of the EEG decoder architectures (DGCNN, transformers, GRU, CBraMod).

Every decoder is built tiny (``TINY``) so the whole file runs in seconds. Behaviour tests plant
the class in one channel-band (a DE offset, or for raw EEG the amplitude of a 10 Hz rhythm in one
channel) and check that each model learns it, and generalises to fresh samples from the same
generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch
from torch.nn import functional as F

from vaxis.decoders.axial import AxialTransformer
from vaxis.decoders.base import DECODERS, Decoder
from vaxis.decoders.cbramod import CBraMod
from vaxis.decoders.cbramod_de import CBraModDE
from vaxis.decoders.channel_transformer import ChannelTransformer
from vaxis.decoders.dgcnn import DGCNN
from vaxis.decoders.temporal import TemporalGRU
from vaxis.errors import DataFormatError

TINY: dict[str, dict[str, Any]] = {
    "dgcnn": {"order": 3, "hidden": 8, "fc_dim": 16},
    "channel_transformer": {"depth": 1, "width": 16, "heads": 2},
    "axial": {"depth": 1, "width": 16, "heads": 2},
    "gru": {"hidden": 16},
    "cbramod": {"depth": 1, "width": 50, "heads": 2, "feedforward": 64},
    "cbramod-de": {"depth": 1, "width": 16, "heads": 2, "feedforward": 32},
}
ZOO = list(TINY)
T = TypeVar("T", bound=Decoder)
SECONDS, PATCH, FS = 2, 250, 250.0
PLANT_CHANNEL, PLANT_BAND = 7, 3
LEARN_CHANNELS = 16  # fewer channels than FACED keep the training tests fast


def make(
    name: str,
    n_channels: int = 32,
    n_bands: int = 5,
    n_classes: int = 3,
    seed: int = 0,
    **extra: Any,
) -> Decoder:
    torch.manual_seed(seed)
    return DECODERS[name](n_channels, n_bands, n_classes, **{**TINY[name], **extra})


def tiny(cls: type[T], seed: int = 0, **extra: Any) -> T:
    """``make`` for one known class (typed, for class-specific methods)."""
    model = make(next(n for n, c in DECODERS.items() if c is cls), seed=seed, **extra)
    assert isinstance(model, cls)
    return model


def inputs(name: str, batch: int, seed: int, n_channels: int = 32) -> torch.Tensor:
    """Noise input for decoder ``name``: DE (batch, seconds, C, 5) or raw (batch, C, samples)."""
    gen = torch.Generator().manual_seed(seed)
    if DECODERS[name].input_kind == "raw":
        return 20 * torch.randn(batch, n_channels, SECONDS * PATCH, generator=gen)
    return torch.randn(batch, SECONDS, n_channels, 5, generator=gen)


def planted(name: str, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """3 classes told apart only by channel 7 / band 3 (raw: a 10 Hz rhythm's amplitude)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    x = inputs(name, n, seed, LEARN_CHANNELS)
    if DECODERS[name].input_kind == "raw":
        t = torch.arange(x.shape[-1]) / FS
        phase = 2 * math.pi * torch.rand(n, 1, generator=gen)
        x[:, PLANT_CHANNEL] += 40.0 * labels[:, None] * torch.sin(2 * math.pi * 10 * t + phase)
    else:
        x[:, :, PLANT_CHANNEL, PLANT_BAND] += 4.0 * (labels[:, None] - 1)
    return x, labels


@pytest.fixture(autouse=True)
def _few_threads() -> Iterator[None]:
    """Other processes share the machine's two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize(("n_channels", "n_classes"), [(32, 9), (62, 5)])
def test_shapes_and_features_feed_the_head(name: str, n_channels: int, n_classes: int) -> None:
    model = make(name, n_channels=n_channels, n_classes=n_classes).eval()
    x = inputs(name, 4, seed=1, n_channels=n_channels)
    logits, features = model(x, return_features=True)
    assert logits.shape == (4, n_classes)
    assert features.shape == (4, model.feature_dim)
    torch.testing.assert_close(model.head(features), logits, rtol=0, atol=0)
    torch.testing.assert_close(model(x), logits, rtol=0, atol=0)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize("name", ZOO)
def test_same_seed_same_model_other_seed_other_model(name: str) -> None:
    a, b, c = make(name, seed=3).eval(), make(name, seed=3).eval(), make(name, seed=4).eval()
    x = inputs(name, 4, seed=2)
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert not torch.allclose(a(x), c(x))


@pytest.mark.parametrize("name", ZOO)
def test_every_parameter_receives_gradient(name: str) -> None:
    model = make(name).train()
    x = inputs(name, 6, seed=5)
    F.cross_entropy(model(x), torch.arange(6) % 3).backward()
    dead = [
        key
        for key, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert not dead, f"no gradient reaches {dead}"


@pytest.mark.parametrize("name", ZOO)
def test_a_sample_does_not_depend_on_its_batch(name: str) -> None:
    model = make(name).eval()
    x = inputs(name, 5, seed=6)
    together = model(x)
    alone = torch.cat([model(x[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(alone, together, rtol=1e-4, atol=1e-5)
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(model(x[perm]), together[perm], rtol=1e-4, atol=1e-5)


#: optimiser, learning rate and full-batch steps per decoder for the planted-class tests. DGCNN
#: and the GRU feed the whole scalp map into one dense layer: with Adam's per-weight step sizes
#: they memorise 64 samples through the 79 noise cells (held-out accuracy ~0.6-0.7), with SGD
#: they find the planted cell. The attention models need Adam; the axial model needs more steps
#: to single out one of its 80 scalar tokens.
FIT: dict[str, tuple[str, float, int]] = {
    "dgcnn": ("sgd", 0.1, 40),
    "gru": ("sgd", 0.1, 40),
    "channel_transformer": ("adam", 3e-3, 60),
    "axial": ("adam", 3e-3, 100),
    "cbramod": ("adam", 1e-2, 25),
    "cbramod-de": ("adam", 3e-3, 60),
}


def fit(name: str, x: torch.Tensor, y: torch.Tensor) -> Decoder:
    """A tiny decoder trained full-batch on (x, y) with its ``FIT`` recipe, in eval mode."""
    model = make(name, n_channels=LEARN_CHANNELS, dropout=0.0)
    kind, lr, steps = FIT[name]
    optimiser = (
        torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        if kind == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimiser.step()
    return model.eval()


def accuracy(model: Decoder, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


@pytest.mark.parametrize("name", ZOO)
def test_learns_the_planted_channel_band(name: str) -> None:
    x, y = planted(name, 64, seed=10)
    model = fit(name, x, y)
    assert accuracy(model, x, y) > 0.9
    fresh_x, fresh_y = planted(name, 96, seed=11)
    assert accuracy(model, fresh_x, fresh_y) > 0.8  # the rule, not the 64 samples


@pytest.mark.parametrize("name", ZOO)
def test_finds_nothing_where_nothing_was_planted(name: str) -> None:
    """Labels independent of the input: held-out accuracy stays at chance (1/3)."""
    model = fit(name, inputs(name, 64, seed=12, n_channels=LEARN_CHANNELS), torch.arange(64) % 3)
    fresh_x = inputs(name, 150, seed=13, n_channels=LEARN_CHANNELS)
    fresh_y = torch.arange(150) % 3
    assert accuracy(model, fresh_x, fresh_y) < 0.5  # chance 0.33, sd 0.04


@pytest.mark.parametrize("name", [n for n in ZOO if DECODERS[n] is not CBraMod])
def test_only_the_temporal_models_read_the_order_of_seconds(name: str) -> None:
    model = make(name).eval()
    x = inputs(name, 4, seed=14)
    reversed_seconds = model(x.flip(1))
    if DECODERS[name] in (TemporalGRU, CBraModDE):  # CBraModDE: one token per second
        assert not torch.allclose(reversed_seconds, model(x), atol=1e-4)
    else:
        torch.testing.assert_close(reversed_seconds, model(x), rtol=1e-5, atol=1e-6)


def test_gru_learns_a_class_carried_by_the_time_course_alone() -> None:
    """Rising vs falling vs flat ramp in one channel-band: equal means, so only order tells."""
    n, seconds = 60, 6
    y = torch.arange(n) % 3
    ramp = torch.linspace(-2, 2, seconds)
    x = 0.3 * torch.randn(n, seconds, LEARN_CHANNELS, 5, generator=torch.Generator().manual_seed(1))
    x[:, :, PLANT_CHANNEL, PLANT_BAND] += (y[:, None] - 1) * ramp
    model = fit("gru", x, y)
    assert accuracy(model, x, y) > 0.9
    assert (x.mean(dim=1)[:, PLANT_CHANNEL, PLANT_BAND].abs() < 0.5).all()  # means carry nothing


@pytest.mark.parametrize(
    ("axes", "changed"),
    [(("channel",), "band row"), (("band",), "channel column"), (("channel", "band"), "all")],
)
def test_axial_attention_moves_information_along_one_axis_only(axes: tuple, changed: str) -> None:
    torch.manual_seed(0)
    model = AxialTransformer(32, 5, 3, depth=1, width=16, heads=2, dropout=0.0, axes=axes).eval()
    x = torch.randn(2, 1, 32, 5)
    c, b = 11, 2
    bumped = x.clone()
    bumped[:, :, c, b] += 1.0
    moved = (model.tokens(bumped) - model.tokens(x)).abs().amax(dim=(0, 3)) > 1e-6
    expected = torch.zeros(32, 5, dtype=torch.bool)
    if changed == "band row":
        expected[:, b] = True
    elif changed == "channel column":
        expected[c, :] = True
    else:
        expected[:] = True
    assert torch.equal(moved, expected)


def test_axial_fused_attention_matches_explicit_softmax_reference() -> None:
    fused = make("axial", depth=2, channel_tokens=8).eval()
    reference = make("axial", depth=2, channel_tokens=8, fused=False).eval()
    reference.load_state_dict(fused.state_dict())
    x = inputs("axial", 4, seed=7)
    torch.testing.assert_close(fused(x), reference(x), rtol=1e-5, atol=1e-5)


def test_axial_token_pooling_keeps_the_requested_number_of_channel_tokens() -> None:
    model = tiny(AxialTransformer, channel_tokens=4).eval()
    assert model.tokens(inputs("axial", 3, seed=0)).shape == (3, 4, 5, 16)


def test_dgcnn_polynomials_are_chebyshev_of_the_normalised_graph() -> None:
    """Eigenvalues of T_k(L~) are cos(k arccos(lambda)) for the eigenvalues lambda of L~."""
    model = tiny(DGCNN, order=4)
    polys = model.chebyshev().detach().double()
    laplacian = polys[1]
    torch.testing.assert_close(polys[0], torch.eye(32, dtype=torch.float64))
    torch.testing.assert_close(laplacian, laplacian.T)
    lam, vectors = torch.linalg.eigh(laplacian)
    assert lam.abs().max() <= 1 + 1e-6  # a normalised non-negative graph has spectrum in [-1, 1]
    for k in range(4):
        expected = vectors @ torch.diag(torch.cos(k * torch.arccos(lam.clamp(-1, 1)))) @ vectors.T
        torch.testing.assert_close(polys[k], expected, rtol=1e-5, atol=1e-5)


def test_cbramod_rejects_input_that_is_not_whole_patches() -> None:
    model = make("cbramod")
    with pytest.raises(ValueError, match="multiple of patch_size=250"):
        model(torch.randn(2, 32, 300))


def test_cbramod_weights_round_trip_through_a_file(tmp_path: Path) -> None:
    saved, fresh = tiny(CBraMod, seed=1).eval(), tiny(CBraMod, seed=2).eval()
    x = inputs("cbramod", 3, seed=8)
    path = tmp_path / "weights.pth"
    torch.save(saved.state_dict(), path)
    assert not torch.allclose(fresh(x), saved(x))
    loaded = fresh.load_pretrained(path)
    assert (loaded.initialised, loaded.dropped) == ((), ())
    torch.testing.assert_close(fresh(x), saved(x), rtol=0, atol=0)


def test_cbramod_loads_an_official_layout_encoder_and_keeps_its_own_head(tmp_path: Path) -> None:
    """The release holds the encoder plus pre-training-only keys, with DataParallel prefixes."""
    source, target = tiny(CBraMod, seed=1), tiny(CBraMod, seed=2)
    official = {f"module.{k}": v for k, v in source.state_dict().items() if "classifier" not in k}
    official["module.proj_out.0.weight"] = torch.zeros(50, 50)
    official["module.patch_embedding.mask_encoding"] = torch.zeros(250)
    head_before = target.state_dict()["classifier.weight"].clone()
    torch.save(official, tmp_path / "pretrained_weights.pth")
    loaded = target.load_pretrained(tmp_path / "pretrained_weights.pth")
    assert loaded.initialised == ("classifier.bias", "classifier.weight")
    assert loaded.dropped == ("patch_embedding.mask_encoding", "proj_out.0.weight")
    torch.testing.assert_close(
        target.state_dict()["classifier.weight"], head_before, rtol=0, atol=0
    )
    for key, value in source.encoder.state_dict().items():
        torch.testing.assert_close(target.encoder.state_dict()[key], value, rtol=0, atol=0)


def test_cbramod_mismatched_weights_name_the_file_and_every_bad_key(tmp_path: Path) -> None:
    other = make("cbramod", width=100, heads=4)
    path = tmp_path / "wider.pth"
    state = other.state_dict()
    state["encoder.layers.7.linear1.weight"] = torch.zeros(3, 3)
    torch.save(state, path)
    model = tiny(CBraMod)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(DataFormatError) as error:
        model.load_pretrained(path)
    message = str(error.value)
    assert str(path) in message
    assert "shape: encoder.layers.0.linear1.weight: file (64, 100) vs model (64, 50)" in message
    assert "unexpected: encoder.layers.7.linear1.weight" in message
    assert "fix:" in message and "patch_size=200" in message
    for key, value in model.state_dict().items():  # nothing was half-loaded
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_cbramod_reports_missing_encoder_keys(tmp_path: Path) -> None:
    state = make("cbramod").state_dict()
    del state["encoder.layers.0.norm1.weight"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(DataFormatError, match=r"missing: encoder\.layers\.0\.norm1\.weight"):
        tiny(CBraMod).load_pretrained(tmp_path / "partial.pth")


class _Payload:
    """Something that is not a tensor: weights_only unpickling must refuse it."""


@pytest.mark.parametrize("content", ["missing", "text", "object"])
def test_cbramod_unreadable_files_give_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "weights.pth"
    if content == "text":
        path.write_text("not weights")
    elif content == "object":
        torch.save({"payload": _Payload()}, path)
    with pytest.raises(DataFormatError, match="fix:") as error:
        tiny(CBraMod).load_pretrained(path)
    assert str(path) in str(error.value)


#: registered names this file tests; tests/decoders/test_registry.py checks completeness
COVERED = {"dgcnn", "channel_transformer", "axial", "gru", "cbramod", "cbramod-de"}


def test_covered_names_are_registered_for_the_zoo_classes() -> None:
    assert set(TINY) == COVERED
    classes = {DECODERS[name] for name in COVERED}
    assert classes == {DGCNN, ChannelTransformer, AxialTransformer, TemporalGRU, CBraMod, CBraModDE}
