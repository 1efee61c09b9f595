"""The study's augmentation: each transform's effect measured on batches where it is certain."""

from __future__ import annotations

from typing import Literal

import torch

from vaxis.decoders.augment import Augmentation, augment

NONE = {"noise_std": 0.0, "channel_dropout": 0.0, "time_mask": 0.0}


def run(
    x: torch.Tensor, kind: Literal["de", "raw"] = "de", seed: int = 0, **settings: float
) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return augment(x, Augmentation.model_validate(NONE | settings), generator, kind)


def test_probability_zero_changes_nothing_and_the_input_is_not_modified() -> None:
    x = torch.randn(64, 10, 8, 5)
    before = x.clone()
    out = augment(x, Augmentation(p=0.0), torch.Generator().manual_seed(0))
    assert torch.equal(out, x) and torch.equal(x, before)


def test_gaussian_noise_has_the_set_std_on_the_chosen_share_of_samples() -> None:
    x = torch.zeros(4000, 2, 4, 5)
    out = run(x, p=0.6, noise_std=0.05)
    touched = out.flatten(1).abs().sum(1) > 0
    assert abs(touched.float().mean() - 0.6) < 0.03
    assert abs(out[touched].std() - 0.05) < 0.001


def test_channel_dropout_zeroes_whole_channels_at_the_set_rate() -> None:
    x = torch.ones(2000, 3, 10, 5)
    out = run(x, p=1.0, channel_dropout=0.15)
    per_channel = out.sum(dim=(1, 3))  # (n, channels): 0 or 15
    assert set(per_channel.unique().tolist()) <= {0.0, 15.0}  # all seconds and bands together
    assert abs((per_channel == 0).float().mean() - 0.15) < 0.01


def test_time_masking_zeroes_one_contiguous_second_of_a_ten_second_segment() -> None:
    x = torch.ones(500, 10, 3, 2)
    out = run(x, p=1.0, time_mask=0.05)
    zeroed = out.sum(dim=(2, 3)) == 0  # (n, seconds)
    assert torch.equal(zeroed.sum(1), torch.ones(500, dtype=torch.long))  # ceil(0.05 * 10) = 1
    assert zeroed.any(0).all()  # every position can be hit
    longer = run(torch.ones(500, 60, 1, 1), p=1.0, time_mask=0.05).flatten(1) == 0
    lengths = longer.sum(1)
    assert lengths.min() == 1 and lengths.max() == 3  # up to ceil(0.05 * 60) seconds
    first = longer.float().argmax(1)
    span = torch.arange(60)[None]
    contiguous = (span >= first[:, None]) & (span < (first + lengths)[:, None])
    assert torch.equal(contiguous, longer)
    assert torch.equal(run(torch.ones(50, 1, 3, 2), p=1.0, time_mask=0.05), torch.ones(50, 1, 3, 2))


def test_raw_input_drops_channels_on_axis_one_and_masks_samples_on_the_last() -> None:
    x = torch.ones(300, 6, 200)
    dropped = run(x, "raw", p=1.0, channel_dropout=0.5).sum(2)
    assert set(dropped.unique().tolist()) <= {0.0, 200.0}
    masked = run(x, "raw", p=1.0, time_mask=0.05).sum(1) == 0  # (n, samples)
    assert masked.sum(1).max() == 10 and masked.sum(1).min() >= 1


def test_same_generator_state_same_augmentation() -> None:
    x = torch.randn(32, 10, 4, 5)
    study = Augmentation()
    a = augment(x, study, torch.Generator().manual_seed(7))
    assert torch.equal(a, augment(x, study, torch.Generator().manual_seed(7)))
    assert not torch.equal(a, augment(x, study, torch.Generator().manual_seed(8)))
