"""Stories: the bundled set's content rules, user files (YAML, CSV, folder), errors, SEED-V map."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.filesafety import digest
from vaxis.axis.stories import (
    MAX_WORDS,
    MIN_WORDS,
    StoryFormatError,
    StorySet,
    for_dataset,
    load_bundled_stories,
    load_stories,
    save_stories,
)
from vaxis.data.datasets import FACED, FACED_CLASSES, SEEDV, SEEDV_CLASSES
from vaxis.errors import DataFormatError

RESOURCES = Path(__file__).parents[2] / "src" / "vaxis" / "resources" / "stories" / "faced"
POSITIVE_WORDS = {
    "happy", "happiness", "delighted", "delight", "wonderful", "joy", "joyful", "love", "lovely",
    "thrilled", "glad", "cheerful", "grateful", "overjoyed",
}  # fmt: skip
#: No crying words: laughing until one cries is amusement.
NEGATIVE_WORDS = {
    "angry", "anger", "furious", "rage", "disgusted", "disgusting", "terrified", "afraid", "scared",
    "sad", "miserable", "awful", "horrible", "terrible", "hate", "grief",
}  # fmt: skip
#: Words that name each class's emotion: most paraphrases should show it, not name it.
NAMING = {
    "anger": r"ang\w*|rage\w*|furi\w*|livid|enraged|outrage\w*|mad",
    "disgust": r"disgust\w*|revolt\w*|sicken\w*|gross|nause\w*",
    "fear": r"fear\w*|afraid|terrif\w*|scared|frighten\w*|petrified",
    "sadness": r"sad\w*|grief|heartbroken|sorrow\w*|mourn\w*",
    "amusement": r"amus\w*|funny|hilarious",
    "inspiration": r"inspir\w*",
    "joy": r"joy\w*|happ\w*|delight\w*|thrilled|overjoyed|glee",
    "tenderness": r"tender\w*|love\w*|affection\w*",
}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


@pytest.fixture(scope="module")
def bundled() -> StorySet:
    return load_bundled_stories()


@pytest.fixture(scope="module")
def raw_classes() -> list[dict]:
    """The bundled YAML read directly, so content checks do not rely on the loader's checks."""
    return [yaml.safe_load(p.read_text("utf-8")) for p in sorted(RESOURCES.glob("*.yaml"))]


# ------------------------------------------------------------------------------ bundled set
def test_bundled_has_nine_faced_classes_in_order_with_their_valence(bundled: StorySet) -> None:
    assert bundled.class_names == FACED_CLASSES
    np.testing.assert_array_equal(bundled.class_valence_groups, FACED.class_valence)
    # a-priori scores agree in sign with the groups, and joy is the most positive class
    np.testing.assert_array_equal(np.sign(bundled.class_valence_scores), FACED.class_valence)
    assert bundled.class_names[int(np.argmax(bundled.class_valence_scores))] == "joy"


def test_file_prefixes_follow_faced_order() -> None:
    names = [p.name for p in sorted(RESOURCES.glob("*.yaml"))]
    assert names == [f"{i:02d}_{c}.yaml" for i, c in enumerate(FACED_CLASSES)]


def test_bundled_counts(raw_classes: list[dict]) -> None:
    for cls in raw_classes:
        stories = cls["stories"]
        assert len(stories) == 3, cls["name"]
        assert stories[0]["id"] == f"{cls['name']}-main"
        assert len(stories[0]["paraphrases"]) >= 30, cls["name"]
        assert all(len(s["paraphrases"]) >= 10 for s in stories[1:]), cls["name"]


def test_no_duplicate_text_anywhere(raw_classes: list[dict]) -> None:
    texts = [
        " ".join(t.lower().split())
        for cls in raw_classes
        for s in cls["stories"]
        for t in (s["text"], *s["paraphrases"])
    ]
    assert len(texts) == len(set(texts)) > 9 * 3 * 11


def test_every_paraphrase_passes_the_length_filter(raw_classes: list[dict]) -> None:
    lengths = [len(p.split()) for c in raw_classes for s in c["stories"] for p in s["paraphrases"]]
    assert min(lengths) >= MIN_WORDS and max(lengths) <= MAX_WORDS
    # the stories themselves are short (1-3 sentences)
    for cls in raw_classes:
        for s in cls["stories"]:
            assert 1 <= len(re.findall(r"[.!?](\s|$)", s["text"])) <= 3, s["id"]


def test_positive_words_stay_out_of_negative_stories_and_vice_versa(bundled: StorySet) -> None:
    for cls in bundled.classes:
        main = cls.stories[0]
        banned = {-1: POSITIVE_WORDS, 1: NEGATIVE_WORDS, 0: POSITIVE_WORDS | NEGATIVE_WORDS}
        for text in (main.text, *main.paraphrases):
            assert not _words(text) & banned[cls.valence_group], (cls.name, text)


def test_neutral_class_has_no_emotion_words_in_any_story(bundled: StorySet) -> None:
    neutral = bundled.classes[FACED_CLASSES.index("neutral")]
    naming = re.compile(r"\b(" + "|".join(NAMING.values()) + r")\b")
    for story in neutral.stories:
        for text in (story.text, *story.paraphrases):
            assert not _words(text) & (POSITIVE_WORDS | NEGATIVE_WORDS), text
            assert not naming.search(text.lower()), text


def test_most_main_paraphrases_show_rather_than_name_the_emotion(bundled: StorySet) -> None:
    for cls in bundled.classes:
        if cls.name not in NAMING:
            continue
        pattern = re.compile(rf"\b({NAMING[cls.name]})\b")
        paraphrases = cls.stories[0].paraphrases
        named = sum(bool(pattern.search(p.lower())) for p in paraphrases)
        assert named <= len(paraphrases) / 2, (cls.name, named)


def test_texts_main_and_all_follow_class_story_then_paraphrase_order(bundled: StorySet) -> None:
    main = bundled.texts()
    sizes = [1 + len(c.stories[0].paraphrases) for c in bundled.classes]
    assert len(main) == sum(sizes)
    np.testing.assert_array_equal(main.class_index, np.repeat(np.arange(9), sizes))
    starts = np.cumsum([0, *sizes[:-1]])
    assert [main.texts[i] for i in starts] == [c.stories[0].text for c in bundled.classes]
    assert np.flatnonzero(~main.is_paraphrase).tolist() == starts.tolist()
    assert set(main.story_id) == {f"{c}-main" for c in FACED_CLASSES}

    everything = bundled.texts(stories="all")
    assert len(everything) == sum(
        1 + len(s.paraphrases) for c in bundled.classes for s in c.stories
    )
    assert int((~everything.is_paraphrase).sum()) == 27
    order = list(dict.fromkeys(everything.story_id))
    assert order == [f"{c}-{k}" for c in FACED_CLASSES for k in ("main", "2", "3")]
    sources = bundled.texts(include_paraphrases=False, stories="all")
    assert len(sources) == 27 and not sources.is_paraphrase.any()
    np.testing.assert_array_equal(sources.class_index, np.repeat(np.arange(9), 3))
    with pytest.raises(ValueError, match="main"):
        bundled.texts(stories="some")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ SEED-V map
def test_seedv_classes_come_from_the_expected_faced_classes(bundled: StorySet) -> None:
    seedv = for_dataset(bundled, "seedv")
    assert seedv.class_names == SEEDV_CLASSES
    np.testing.assert_array_equal(seedv.class_valence_groups, SEEDV.class_valence)
    sources = ("disgust", "fear", "sadness", "neutral", "joy")
    assert [c.stories[0].id for c in seedv.classes] == [f"{s}-main" for s in sources]
    faced = {c.name: c for c in bundled.classes}
    for cls, src in zip(seedv.classes, sources, strict=True):
        assert cls.stories == faced[src].stories
        assert cls.valence_score == faced[src].valence_score
    assert load_bundled_stories("seedv").classes == seedv.classes
    assert for_dataset(seedv, "seedv").classes == seedv.classes  # already SEED-V: unchanged
    assert for_dataset(bundled, "faced").classes == bundled.classes


def test_seedv_map_needs_its_source_classes(bundled: StorySet) -> None:
    no_joy = StorySet(classes=bundled.classes[:7] + bundled.classes[8:], source="mine.yaml")
    with pytest.raises(StoryFormatError, match=r"mine\.yaml.*\['joy'\]"):
        for_dataset(no_joy, "seedv")


# ------------------------------------------------------------------------------ user files
def _tiny(n_para: int = 3) -> dict:
    """A small valid story set as plain data: two classes, two stories each."""

    def story(sid: str, topic: str) -> dict:
        text = f"A short story about {topic} that has enough words."
        paras = [f"Paraphrase number {i} retelling the {topic} story." for i in range(n_para)]
        return {"id": sid, "text": text, "paraphrases": paras}

    return {
        "classes": [
            {"name": "gloom", "valence_group": -1, "valence_score": -0.5,
             "stories": [story("gloom-main", "rain"), story("gloom-2", "loss")]},
            {"name": "glee", "valence_group": 1,
             "stories": [story("glee-main", "sun"), story("glee-2", "a party")]},
        ]
    }  # fmt: skip


def _write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def test_yaml_csv_and_folder_round_trip_to_the_same_set(tmp_path: Path) -> None:
    original = load_stories(_write_yaml(tmp_path / "tiny.yaml", _tiny()))
    assert original.class_names == ("gloom", "glee")
    assert original.class_valence_scores.tolist() == [-0.5, 1.0]  # glee: score defaults to group
    as_csv = load_stories(save_stories(original, tmp_path / "tiny.csv"))
    as_yaml = load_stories(save_stories(original, tmp_path / "again.yml"))
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, cls in enumerate(_tiny()["classes"]):
        _write_yaml(folder / f"{i:02d}_{cls['name']}.yaml", cls)
    (folder / "notes.txt").write_text("ignored", "utf-8")
    as_folder = load_stories(folder)
    for other in (as_csv, as_yaml, as_folder):
        assert other.classes == original.classes
    assert as_csv.source == str(tmp_path / "tiny.csv")


def test_bundled_set_round_trips_through_csv_and_yaml(bundled: StorySet, tmp_path: Path) -> None:
    for name in ("all.csv", "all.yaml"):
        back = load_stories(save_stories(bundled, tmp_path / name), dataset="faced")
        assert back.classes == bundled.classes


def test_csv_without_valence_columns_takes_them_from_the_dataset(tmp_path: Path) -> None:
    rows = ["class,story_id,text,is_paraphrase"]
    for k, name in enumerate(reversed(SEEDV_CLASSES)):  # file order differs from SEED-V order
        rows += [f"{name},{name}-1,The {name} story number {k} goes here.,0",
                 f"{name},{name}-1,A retelling of the {name} story {k}.,yes"]  # fmt: skip
    path = tmp_path / "seedv.csv"
    path.write_text("\n".join(rows), "utf-8")
    story_set = load_stories(path, dataset="seedv")
    assert story_set.class_names == SEEDV_CLASSES
    np.testing.assert_array_equal(story_set.class_valence_groups, SEEDV.class_valence)
    np.testing.assert_array_equal(story_set.class_valence_scores, SEEDV.class_valence)
    with pytest.raises(StoryFormatError, match="no valence_group"):
        load_stories(path)


def _mutate(change) -> dict:  # type: ignore[no-untyped-def]
    data = _tiny()
    change(data)
    return data


LONG = " ".join(["word"] * (MAX_WORDS + 1))
YAML_ERRORS = {
    "empty class": (lambda d: d["classes"][1].update(stories=[]), "'glee' has no stories"),
    "duplicate": (
        lambda d: d["classes"][1]["stories"][0]["paraphrases"].append(
            "  Paraphrase number 0 retelling the   rain story. "
        ),
        "duplicate text",
    ),
    "same as source": (
        lambda d: d["classes"][0]["stories"][0]["paraphrases"].append(
            d["classes"][0]["stories"][0]["text"]
        ),
        "duplicate text",
    ),
    "too short": (lambda d: d["classes"][0]["stories"][1]["paraphrases"].append("Too short."),
                  "has 2 words"),
    "too long": (lambda d: d["classes"][0]["stories"][1]["paraphrases"].append(LONG),
                 f"has {MAX_WORDS + 1} words"),
    "bad group": (lambda d: d["classes"][0].update(valence_group=2), "valence_group"),
    "story id twice": (lambda d: d["classes"][0]["stories"][1].update(id="gloom-main"),
                       "story id(s) ['gloom-main'] used twice"),
    "class twice": (lambda d: d["classes"][1].update(name="gloom"), "appears twice"),
    "id in two classes": (lambda d: d["classes"][1]["stories"][1].update(id="gloom-2"),
                          "story id(s) ['gloom-2'] used twice"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(YAML_ERRORS))
def test_yaml_content_errors_name_the_file(case: str, tmp_path: Path) -> None:
    change, message = YAML_ERRORS[case]
    path = _write_yaml(tmp_path / "bad.yaml", _mutate(change))
    before = digest(tmp_path)
    with pytest.raises(StoryFormatError, match=re.escape(message)) as info:
        load_stories(path)
    assert info.value.path == path and str(path) in str(info.value)
    assert isinstance(info.value, DataFormatError) and info.value.fix
    assert digest(tmp_path) == before  # the user's file is never modified


def test_faced_class_names_are_checked(bundled: StorySet, tmp_path: Path) -> None:
    save_stories(bundled, tmp_path / "faced.yaml")
    data = yaml.safe_load((tmp_path / "faced.yaml").read_text("utf-8"))
    data["classes"][0]["name"] = "rage"
    path = _write_yaml(tmp_path / "renamed.yaml", data)
    with pytest.raises(StoryFormatError, match=r"unknown faced class name\(s\) \['rage'\]") as info:
        load_stories(path, dataset="faced")
    assert info.value.path == path
    assert load_stories(path).class_names[0] == "rage"  # without a dataset any name is fine
    del data["classes"][0]
    path = _write_yaml(tmp_path / "eight.yaml", data)
    with pytest.raises(StoryFormatError, match=r"\['anger'\] missing") as info:
        load_stories(path, dataset="faced")
    assert info.value.path == path
    data["classes"].insert(0, {**data["classes"][0], "name": "anger", "valence_group": 1})
    data["classes"][0]["stories"] = [{"id": "a", "text": "Some other anger story here."}]
    path = _write_yaml(tmp_path / "flipped.yaml", data)
    with pytest.raises(StoryFormatError, match="'anger' has valence_group 1, faced says -1"):
        load_stories(path, dataset="faced")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_stories(path, dataset="deap")


CSV_ERRORS = {
    "missing column": ("class,story_id,text\nglee,g,Some text that is long,\n",
                       "missing column(s) ['is_paraphrase']"),
    "bad flag": ("class,story_id,text,is_paraphrase,valence_group\n"
                 "glee,g,A source text for glee.,maybe,1\n", "row 2: is_paraphrase is 'maybe'"),
    "two sources": ("class,story_id,text,is_paraphrase,valence_group\n"
                    "glee,g,A source text for glee.,0,1\nglee,g,Another source for glee.,0,1\n",
                    "story 'g' has 2 source rows"),
    "no source": ("class,story_id,text,is_paraphrase,valence_group\n"
                  "glee,g,Only a paraphrase of glee.,1,1\n", "story 'g' has 0 source rows"),
    "two groups": ("class,story_id,text,is_paraphrase,valence_group\n"
                   "glee,g,A source text for glee.,0,1\nglee,g,A retelling of glee here.,1,-1\n",
                   "several valence_groups"),
    "bad score": ("class,story_id,text,is_paraphrase,valence_group,valence_score\n"
                  "glee,g,A source text for glee.,0,1,high\n", "valence_score 'high' is not"),
    "empty text": ("class,story_id,text,is_paraphrase,valence_group\nglee,g,,0,1\n", "text"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors_name_the_file(case: str, tmp_path: Path) -> None:
    content, message = CSV_ERRORS[case]
    path = tmp_path / "bad.csv"
    path.write_text(content, "utf-8")
    with pytest.raises(StoryFormatError, match=re.escape(message)) as info:
        load_stories(path)
    assert info.value.path == path


def test_a_bad_file_in_a_folder_is_named(tmp_path: Path) -> None:
    classes = _tiny()["classes"]
    classes[1]["stories"][0]["paraphrases"].append("Short.")
    for i, cls in enumerate(classes):
        _write_yaml(tmp_path / f"{i:02d}_{cls['name']}.yaml", cls)
    with pytest.raises(StoryFormatError, match="has 1 words") as info:
        load_stories(tmp_path)
    assert info.value.path == tmp_path / "01_glee.yaml"
    # a duplicate across two files is a property of the set: the folder is named
    classes[1]["stories"][0] = {**classes[0]["stories"][1], "id": "glee-copy"}
    _write_yaml(tmp_path / "01_glee.yaml", classes[1])
    with pytest.raises(StoryFormatError, match="duplicate text") as info:
        load_stories(tmp_path)
    assert info.value.path == tmp_path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("stories.yaml", "classes: [unclosed", "not valid YAML"),
        ("stories.yaml", "- just\n- a list\n", "no top-level 'classes:'"),
        ("stories.yaml", "classes: []\n", "no classes"),
        ("stories.yaml", "classes:\n  - name: x\n", "valence_group"),
        ("stories.txt", "anything", "unknown story format '.txt'"),
    ],
)
def test_malformed_files_name_the_file(
    name: str, content: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(StoryFormatError, match=re.escape(message)) as info:
        load_stories(path)
    assert info.value.path == path


def test_missing_path_and_empty_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(StoryFormatError, match="does not exist") as info:
        load_stories(tmp_path / "nowhere.yaml")
    assert info.value.path == tmp_path / "nowhere.yaml"
    with pytest.raises(StoryFormatError, match=r"no \.yaml/\.yml class files") as info:
        load_stories(tmp_path)
    assert info.value.path == tmp_path
    (tmp_path / "00_a.yaml").write_text("- not a mapping\n", "utf-8")
    with pytest.raises(StoryFormatError, match="expected one class as a mapping"):
        load_stories(tmp_path)


def test_save_and_bundled_reject_unknown_formats(bundled: StorySet, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.json"):
        save_stories(bundled, tmp_path / "x.json")
    with pytest.raises(ValueError, match="'faced' and 'seedv'"):
        load_bundled_stories("deap")
