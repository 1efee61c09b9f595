"""Token ids, padding and token-budget batches: the pure part of the extractor (no model).

Shared by :mod:`vaxis.axis.lm` (which runs the batches) and :mod:`vaxis.axis.sizing` (which
sizes them before any weight is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

PaddingSide = Literal["left", "right"]


def token_batches(
    lengths: Sequence[int] | np.ndarray, max_tokens: int | None, max_texts: int | None
) -> list[np.ndarray]:
    """Text indices of each batch, longest texts first (a batch too big for memory fails at
    once): a batch holds at most ``max_texts`` texts and ``max_tokens`` padded tokens (texts x
    its longest); a text longer than the budget runs alone. ``None``: no limit."""
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = int(lengths[order[start]])
        size = len(order) - start
        if max_texts is not None:
            size = min(size, max_texts)
        if max_tokens is not None:
            size = min(size, max(1, max_tokens // longest))
        batches.append(order[start : start + size])
        start += size
    return batches


def tokenize(
    tokenizer: Any, texts: Sequence[str], max_length: int | None, add_special_tokens: bool
) -> list[list[int]]:
    """Token ids of each text (truncated to ``max_length``); empty texts are an error."""
    truncate = max_length is not None
    encoded = tokenizer(
        list(texts),
        add_special_tokens=add_special_tokens,
        truncation=truncate,
        max_length=max_length if truncate else None,
    )["input_ids"]
    for i, ids in enumerate(encoded):
        if not ids:
            raise ValueError(f"text {i} ({texts[i]!r}) has no tokens")
    return [list(ids) for ids in encoded]


def pad(ids: Sequence[Sequence[int]], pad_id: int, side: PaddingSide) -> tuple[Any, Any]:
    """(input_ids, attention_mask) int64 tensors padded to the longest sequence."""
    import torch

    width = max(len(row) for row in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        span = slice(width - len(row), width) if side == "left" else slice(0, len(row))
        input_ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return input_ids, mask
