"""Paraphrase stories with a local instruction model, with the study's recipe and filters.

The study paraphrased each story about 50 times with an instruction-tuned LLM (temperature 0.7;
the prompt asked to keep all emotional content in different words and structure) and kept a
paraphrase when it was 5-80 tokens long and at a sentence-embedding cosine distance >= 0.10 from
its source. :func:`generate_paraphrases` does the same with any model on this machine.

The model is loaded once with ``AutoModelForCausalLM``: generation needs the LM head, which the
hidden-state extractor never loads. Distances use, by default ("lm-mean"), the mean-pooled states
of the middle layer of that same model, centred on the bundled stories (raw LM states are
anisotropic: unrelated texts sit at cosine distance < 0.1). It stands in for the study's
sentence-embedding model, which need not be installed; any encoder folder or alias (e.g.
"minilm") can be given instead, its last layer mean-pooled as sentence-transformers does.

Every rejected output is counted by reason (:data:`REASONS`); the counts, the model's identity
(including whether its weights were dequantized) and the settings go to ``paraphrase_report.json``.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vaxis import __version__
from vaxis.axis.build import json_ready, model_note
from vaxis.axis.cache import StateCache
from vaxis.axis.lm import (
    HiddenStateExtractor,
    choose_device,
    choose_dtype,
    extract_states,
    load_model,
)
from vaxis.axis.models import ModelSpec, resolve_model
from vaxis.axis.stories import (
    MAX_WORDS,
    MIN_WORDS,
    StorySet,
    load_bundled_stories,
    save_stories,
)
from vaxis.console import progress_counter

#: Our wording of the study's instruction (its exact prompt is not published).
PROMPT = (
    "Rewrite the following short story in your own words. Keep all of its emotional content: "
    "every feeling and how strongly it is felt. Use different words and a different sentence "
    "structure. Answer with the rewritten story only."
)
REPORT_FILE = "paraphrase_report.json"
Reason = Literal["empty", "echo", "tokens", "words", "duplicate", "distance"]
#: Why an output was rejected, in the order the checks run.
REASONS: tuple[Reason, ...] = get_args(Reason)
Embedder = Callable[[list[str]], np.ndarray]
Loader = Callable[[ModelSpec, str, str], tuple[Any, Any]]


class ParaphraseConfig(BaseModel):
    """Settings of a paraphrase run (defaults: the study's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    model: str = "smollm2"
    gguf_file: str | None = None
    n: int = Field(50, ge=1, description="paraphrases per story (existing ones count)")
    temperature: float = Field(0.7, gt=0)
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(120, ge=1)
    min_tokens: int = Field(5, ge=1)
    max_tokens: int = Field(80, ge=1)
    min_distance: float = Field(0.10, ge=0, le=2, description="cosine distance from the source")
    embedder: str = Field("lm-mean", description="'lm-mean' or an encoder folder / alias")
    max_attempts: int = Field(4, ge=1, description="generations per story, as a multiple of n")
    batch_size: int = Field(16, ge=1)
    seed: int = 0
    device: str | None = None
    cache_dir: str | None = None

    @model_validator(mode="after")
    def _check_window(self) -> ParaphraseConfig:
        if self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens {self.min_tokens} > max_tokens {self.max_tokens}")
        return self


# ------------------------------------------------------------------------------------ filters
def normalise(text: str) -> str:
    """Lower-case words without punctuation: texts equal after this are near duplicates."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def clean_output(text: str) -> str:
    """One line of paraphrase from a raw generation: drops a lead-in line ending in ':'
    ("Here is the rewritten story:"), surrounding quotes and repeated whitespace."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    return " ".join(" ".join(lines).split()).strip("\"'“”")


def count_tokens(texts: Sequence[str], tokenizer: Any) -> list[int]:
    """Tokens of each text under ``tokenizer``, without special tokens."""
    if not texts:
        return []
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [len(row) for row in ids]


def cosine_distance(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of each row of ``vectors`` (n, d) with ``reference`` (d,)."""
    vectors, reference = np.atleast_2d(vectors).astype(float), np.asarray(reference, float)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference)
    return 1.0 - (vectors @ reference) / np.where(norms > 0, norms, 1.0)


def screen(
    text: str, source: str, n_tokens: int, seen: set[str], config: ParaphraseConfig
) -> Reason | None:
    """The first reason to reject ``text`` before embedding it, or None.

    ``seen`` holds the normalised texts already in the set; a text that passes is added to it,
    so a second copy in the same batch is a duplicate.
    """
    key = normalise(text)
    if not key:
        return "empty"
    if key == normalise(source) or normalise(PROMPT) in key:
        return "echo"
    if not config.min_tokens <= n_tokens <= config.max_tokens:
        return "tokens"
    if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:  # what a Story accepts
        return "words"
    if key in seen:
        return "duplicate"
    seen.add(key)
    return None


# --------------------------------------------------------------------------------- generation
def load_generator(spec: ModelSpec, device: str, dtype: str) -> tuple[Any, Any]:
    """The model with its LM head (generation needs it) and its tokenizer, local files only."""
    return load_model(spec, device, dtype, head=True)


def build_prompt(tokenizer: Any, story: str) -> str:
    """The instruction and the story, through the chat template when the model has one."""
    message = f"{PROMPT}\n\nStory: {story}"
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": message}], tokenize=False, add_generation_prompt=True
            )
        )
    return f"{message}\n\nRewritten story:"


def sample(model: Any, tokenizer: Any, prompts: list[str], config: ParaphraseConfig) -> list[str]:
    """One sampled continuation per prompt (a left-padded batch), special tokens removed.

    Sets the tokenizer's padding side to left (and its pad token to EOS when it has none).
    """
    import torch

    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # generation continues from the last column
    templated = bool(getattr(tokenizer, "chat_template", None))  # the template adds BOS itself
    inputs = tokenizer(
        prompts, return_tensors="pt", padding=True, add_special_tokens=not templated
    ).to(model.device)
    with torch.inference_mode():
        out = model.generate(
            **inputs,
            do_sample=True,
            temperature=config.temperature,
            top_p=config.top_p,
            max_new_tokens=config.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    new = out[:, inputs["input_ids"].shape[1] :]
    return [str(t) for t in tokenizer.batch_decode(new, skip_special_tokens=True)]


def make_embedder(
    config: ParaphraseConfig, model: Any, tokenizer: Any, cache: StateCache
) -> tuple[Embedder, str]:
    """(texts -> (n, d) embeddings, a description of it) for ``config.embedder``."""
    if config.embedder == "lm-mean":
        extractor = HiddenStateExtractor(model, tokenizer, "mean", config.batch_size)
        middle = extractor.n_states // 2

        def states(texts: list[str]) -> np.ndarray:
            return extractor.extract(texts)[0][:, middle]

        # Raw LM states share one large common direction (every pair has cosine ~0.95), so
        # they are centred on the bundled source stories: distances then span 0..~1.
        reference = [s.text for c in load_bundled_stories().classes for s in c.stories]
        centre = states(reference).mean(axis=0)
        note = (
            f"mean-pooled layer {middle} of the generator, centred on the bundled stories "
            "(a stand-in for a sentence embedder)"
        )
        return lambda texts: states(texts) - centre, note
    spec = resolve_model(config.embedder, cache=cache)

    def embed(texts: list[str]) -> np.ndarray:
        states = extract_states(spec, texts, pooling="mean", device=config.device, cache=None)
        return states.layer(-1)

    return embed, f"{config.embedder}: mean-pooled last layer ({spec.fingerprint})"


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def generate_paraphrases(
    story_set: StorySet,
    config: ParaphraseConfig,
    out: str | Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
    loader: Loader = load_generator,
) -> tuple[StorySet, dict[str, Any]]:
    """Top up every story to ``config.n`` paraphrases that pass the filters.

    Rounds of sampling (seeded with ``config.seed``) ask, for each story still short, for as many
    outputs as it lacks, until it has ``n`` or ``max_attempts * n`` outputs were generated for
    it. Returns the new story set and the report; with ``out`` (a .yaml/.csv path) writes both
    (:func:`save_paraphrases`), refusing to replace an existing ``out`` unless ``overwrite``.
    """
    import torch

    if out is not None and Path(out).exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another path or overwrite it explicitly")
    start = time.perf_counter()
    cache = StateCache(config.cache_dir)
    spec = resolve_model(config.model, gguf_file=config.gguf_file, cache=cache)
    device = choose_device(config.device)
    torch.manual_seed(config.seed)
    model, tokenizer = loader(spec, device, choose_dtype(spec, device))
    embed, embedder_note = make_embedder(config, model, tokenizer, cache)

    stories = [s for c in story_set.classes for s in c.stories]
    sources = embed([s.text for s in stories])
    seen = {normalise(t) for s in stories for t in (s.text, *s.paraphrases)}
    kept: list[list[str]] = [[] for _ in stories]
    counts = [Counter[str]() for _ in stories]
    budget = config.max_attempts * config.n

    def missing(i: int) -> int:
        lack = config.n - len(stories[i].paraphrases) - len(kept[i])
        return max(0, min(lack, budget - counts[i]["generated"]))

    total = sum(missing(i) for i in range(len(stories)))
    with progress_counter(total, progress, "paraphrases kept") as advance:
        while requests := [i for i in range(len(stories)) for _ in range(missing(i))]:
            prompts = [build_prompt(tokenizer, stories[i].text) for i in requests]
            outputs = [
                text
                for batch in _batches(prompts, config.batch_size)
                for text in sample(model, tokenizer, batch, config)
            ]
            texts = [clean_output(text) for text in outputs]
            passed: list[tuple[int, str]] = []
            for i, text, n_tokens in zip(
                requests, texts, count_tokens(texts, tokenizer), strict=True
            ):
                counts[i]["generated"] += 1
                reason = screen(text, stories[i].text, n_tokens, seen, config)
                if reason is None:
                    passed.append((i, text))
                else:
                    counts[i][reason] += 1
            vectors = embed([text for _, text in passed]) if passed else np.empty((0, 1))
            for (i, text), vector in zip(passed, vectors, strict=True):
                if cosine_distance(vector, sources[i])[0] < config.min_distance:
                    counts[i]["distance"] += 1
                else:
                    kept[i].append(text)
                    advance(1)

    result = _with_paraphrases(story_set, dict(zip((s.id for s in stories), kept, strict=True)))
    report = {
        "vaxis_version": __version__,
        "model": spec.model_dump(),
        "model_note": model_note(spec),
        "config": config.model_dump(),
        "prompt": PROMPT,
        "prompt_style": "chat template" if getattr(tokenizer, "chat_template", None) else "plain",
        "embedder": embedder_note,
        "stories": {
            s.id: {
                "existing": len(s.paraphrases),
                "generated": counts[k]["generated"],
                "kept": len(kept[k]),
                "rejected": {reason: counts[k][reason] for reason in REASONS},
            }
            for k, s in enumerate(stories)
        },
        "timing_s": round(time.perf_counter() - start, 2),
    }
    if out is not None:
        save_paraphrases(result, report, out)
    return result, report


def _with_paraphrases(story_set: StorySet, new: dict[str, list[str]]) -> StorySet:
    """``story_set`` with ``new[story id]`` appended to each story's paraphrases (validated)."""
    classes = [
        c.model_copy(
            update={
                "stories": tuple(
                    s.model_copy(update={"paraphrases": (*s.paraphrases, *new[s.id])})
                    for s in c.stories
                )
            }
        )
        for c in story_set.classes
    ]
    return StorySet(classes=tuple(classes), source=f"{story_set.source} (paraphrased)")


def save_paraphrases(story_set: StorySet, report: dict[str, Any], path: str | Path) -> Path:
    """Write the stories to ``path`` (.yaml/.csv) and the report beside it; returns the report."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_stories(story_set, path)
    report_path = path.parent / REPORT_FILE
    report_path.write_text(json.dumps(json_ready(report), indent=2), encoding="utf-8")
    return report_path
