"""Story and corpus files whose valence is planted in the last word (test helper, no tests here).

The tiny test models (``conftest.py``) read the words ``w0 .. w59``. Every text here is a few
random *content* words followed by one *valence* word: one of :data:`POSITIVE` for positive
texts, :data:`NEGATIVE` for negative ones, :data:`NEUTRAL` otherwise. With last-token pooling a
text's state is dominated by its last word, so a valence axis fitted on the stories must order
the corpus texts by their planted label, and nothing else carries it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from vaxis.data.datasets import DATASETS

CONTENT = [f"w{i}" for i in range(40)]
POSITIVE = [f"w{i}" for i in range(44, 52)]
NEGATIVE = [f"w{i}" for i in range(52, 60)]
NEUTRAL = [f"w{i}" for i in range(40, 44)]


def _text(rng: np.random.Generator, end: list[str]) -> str:
    words = list(rng.choice(CONTENT, size=int(rng.integers(5, 9))))
    return " ".join([*words, str(rng.choice(end))])


def write_stories(
    path: Path, paraphrases: int = 15, seed: int = 0, dataset: str = "faced", per_class: int = 1
) -> Path:
    """A story CSV for ``dataset``'s classes: ``per_class`` stories per class, with paraphrases,
    whose last words are set by the class's valence group."""
    rng = np.random.default_rng(seed)
    spec = DATASETS[dataset]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", "story_id", "text", "is_paraphrase"])
        for name, group in zip(spec.classes, spec.class_valence, strict=True):
            end = POSITIVE if group > 0 else NEGATIVE if group < 0 else NEUTRAL
            for story in range(per_class):
                for k in range(paraphrases + 1):
                    writer.writerow([name, f"{name}-{story}", _text(rng, end), k > 0])
    return path


def write_corpus(path: Path, n: int = 200, seed: int = 1, kind: str = "label") -> Path:
    """A user corpus CSV. ``kind``: ``label`` (0/1 planted in the last word), ``score``
    (planted sign plus graded noise, column ``score``), or ``null`` (labels independent of the
    texts, whose last words are drawn from both sets)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "score" if kind == "score" else "label"])
        for label in labels:
            if kind == "null":
                writer.writerow([_text(rng, POSITIVE + NEGATIVE), int(rng.integers(0, 2))])
            elif kind == "score":
                value = (1.0 if label else -1.0) * (1 + rng.random())
                writer.writerow([_text(rng, POSITIVE if label else NEGATIVE), f"{value:.3f}"])
            else:
                writer.writerow([_text(rng, POSITIVE if label else NEGATIVE), int(label)])
    return path
