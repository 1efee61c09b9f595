#!/usr/bin/env bash
# One GPU check of the training engine, under 8 minutes, on a machine that may have no internet.
#
#   bash bench/device_check.sh            # from the repository root (or anywhere)
#
# Installs nothing: it uses the first Python that imports torch among $VAXIS_PYTHON,
# ./.venv/bin/python, python3 and python, and says clearly what is missing (torch, CUDA,
# vaxis's dependencies, pytest). Then, with vaxis from ./src:
#   1. bench/bench_gpu.py: 1, 2, 4, 8 concurrent jobs on one GPU, fp32 / TF32 / bf16, on a
#      SYNTHETIC FACED-sized training set generated here; bf16 and TF32 must agree with fp32;
#   2. bench/bench_engine.py --paper --quick: the same member through the engine, fp32 and bf16;
#   3. pytest -m gpu: the GPU tests (precision, a real out-of-memory, compile, placement).
# Each step has its own time limit; logs and bench_gpu.json go to $OUT (default: bench-out/).
# Exit status: 0 all passed, 1 a step failed, 2 nothing could run (no torch or no CUDA).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"

PY=""
for candidate in "${VAXIS_PYTHON:-}" ./.venv/bin/python python3 python; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch" 2>/dev/null; then
    PY=$candidate
    break
  fi
done
if [ -z "$PY" ]; then
  echo "MISSING: no Python here imports torch (tried \$VAXIS_PYTHON, ./.venv/bin/python, python3, python)."
  echo "  fix: set VAXIS_PYTHON to a Python with torch (CUDA build), or carry a venv as ./.venv"
  exit 2
fi
echo "python: $(command -v "$PY") ($("$PY" --version 2>&1))"
"$PY" - <<'EOF' || exit 2
import sys
import torch

print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, available: {torch.cuda.is_available()}")
if not torch.cuda.is_available():
    print("MISSING: CUDA is not available to this torch (a CPU build, or no driver/GPU)")
    sys.exit(1)
for i in range(torch.cuda.device_count()):
    props = torch.cuda.get_device_properties(i)
    print(f"cuda:{i} {props.name}, {props.total_memory / 2**30:.0f} GiB, sm {props.major}{props.minor}")
print(f"bf16 supported: {torch.cuda.is_bf16_supported()}")
EOF
missing=$("$PY" - <<'EOF'
import importlib.util

needed = ["numpy", "scipy", "sklearn", "pydantic", "h5py", "threadpoolctl", "yaml", "typer", "rich"]
print(" ".join(name for name in needed if importlib.util.find_spec(name) is None))
EOF
)
if [ -n "$missing" ]; then
  echo "MISSING: vaxis needs these modules, absent from this Python: $missing"
  echo "  fix: carry a venv with them, or pip install them where an index is reachable"
  exit 2
fi
"$PY" -c "import vaxis.decoders.train, vaxis.sweep" || { echo "MISSING: vaxis does not import (see above)"; exit 2; }

status=0
step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, keep going
  local name=$1 limit=$2
  shift 2
  echo
  echo "== $name (limit ${limit}s)"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start))s"
  [ "$rc" -eq 0 ] || status=1
}

step bench_gpu 240 "$PY" bench/bench_gpu.py --json "$OUT/bench_gpu.json"
step bench_engine 90 "$PY" bench/bench_engine.py --paper --quick --device cuda --precisions fp32,bf16
if "$PY" -c "import pytest" 2>/dev/null; then
  step gpu_tests 120 "$PY" -m pytest -m gpu -q -p no:cacheprovider -rs tests/decoders tests/sweep
else
  echo "MISSING: pytest is not installed in this Python: GPU tests not run"
  status=1
fi
echo
echo "device_check: $([ "$status" -eq 0 ] && echo passed || echo FAILED) in ${SECONDS}s; logs in $OUT/"
exit "$status"
