#!/usr/bin/env bash
# The GPU check, for a fresh offline GPU machine that already has Python 3.10+, numpy, pytest,
# CuPy (with its CUDA libraries: cupy-cuda13x[ctk] or a CUDA toolkit) and, optionally, PyTorch
# with CUDA. No network, no pip: it makes a venv that reuses those packages
# (--system-site-packages, --without-pip: works where the system pip refuses installs and where
# ensurepip is missing), imports deeplite from this source tree (the cuda backend is Python and
# NVRTC-compiled kernels; the C++ cpu backend is built only if pybind11 and scipy-openblas32 are
# there), runs every `cuda` test, then the GPU benchmarks against PyTorch, and prints one table.
# Each step has its own time limit, cut to what is left of a 345 s budget (the tests get what the
# benchmarks do not need: a cold NVRTC cache makes them the slow step), so the whole run stays
# under 6 minutes; a failed or timed-out step never stops the later ones or the table.
#
#   bash benchmarks/gpu_check.sh     # logs in /tmp/deeplite-gpu-check (GPU_CHECK_LOGS)
set -uo pipefail
cd "$(dirname "$0")/.."

logs="${GPU_CHECK_LOGS:-/tmp/deeplite-gpu-check}"
venv="$logs/venv"
mkdir -p "$logs"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export CUPY_NVRTC_USE_PCH=1  # precompiled headers: a cold NVRTC cache compiles much faster
summary=()
failed=0
deadline=$(($(date +%s) + 345))

# within LIMIT RESERVE: LIMIT, or less so that RESERVE seconds of the budget stay for later steps.
within() {
  local left=$((deadline - $(date +%s) - $2))
  [ "$left" -lt "$1" ] && echo $((left > 10 ? left : 10)) || echo "$1"
}

# run_step NAME SECONDS COMMAND...: run with a time limit, log it, show its tail, note the result
# and the log's last line (pytest's summary, say).
run_step() {
  local name="$1" limit="$2" log="$logs/$1.log" start rc=0
  shift 2
  echo "== $name (limit ${limit}s): $*"
  start=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1 || rc=$?
  tail -n 25 "$log"
  local took=$(($(date +%s) - start)) result="ok"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    result="TIMED OUT after ${limit}s"
  elif [ "$rc" -ne 0 ]; then
    result="FAILED (exit $rc)"
  fi
  [ "$result" = "ok" ] || failed=1
  local last
  last="$(grep -v '^\s*$' "$log" | tail -n 1 | cut -c1-120 | tr '|' '/')"
  summary+=("| $name | $result | ${took}s | $last |")
}

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -m venv --system-site-packages --without-pip "$venv" || python3 -m venv --system-site-packages "$venv"
python="$venv/bin/python"
[ -x "$python" ] || python="python3"  # no venv module at all: the system interpreter, same packages
"$python" - <<'EOF' || true
import importlib, sys
print("python", sys.version.split()[0], "at", sys.executable)
for name in ("numpy", "pytest", "cupy", "torch", "pybind11", "scipy_openblas32"):
    try:
        module = importlib.import_module(name)
        print(f"  {name} {getattr(module, '__version__', '?')}")
    except Exception as error:
        print(f"  {name}: not available ({type(error).__name__})")
try:
    import torch
    print("  torch cuda", torch.version.cuda, torch.cuda.is_available())
except Exception:
    pass
EOF

# The C++ cpu backend is optional here (the numpy reference stands in for it in the cuda tests).
if "$python" -c "import pybind11, scipy_openblas32, setuptools" 2>/dev/null; then
  run_step build "$(within 60 280)" "$python" setup.py build_ext --inplace -j 8
else
  echo "== build: skipped (pybind11, scipy-openblas32 or setuptools missing): cpu backend not built"
  summary+=("| build | skipped: the cuda path needs no build | 0s | |")
fi
run_step cuda-probe "$(within 30 250)" "$python" -c "import sys, deeplite
reason = deeplite.cuda.why_unavailable()
print('cuda:', reason or 'available (CuPy, a GPU, NVRTC and cuBLAS all work)')
sys.exit(1 if reason else 0)"
run_step cuda-tests "$(within 220 110)" "$python" -m pytest -q -m cuda -p no:cacheprovider \
  --continue-on-collection-errors --durations=15 tests
# Data-parallel on one GPU: a 1-rank NCCL communicator, 2 ranks staging through the host (they
# skip, saying why, without NCCL or without mpi4py + mpich: pip install "deeplite[dist]").
run_step distributed "$(within 40 110)" "$python" -m pytest -q -rs -p no:cacheprovider \
  tests/test_distributed_cuda.py
run_step benchmarks "$(within 110 0)" "$python" benchmarks/gpu_bench.py

echo
echo "### deeplite GPU check"
echo
echo "| step | result | time | last line of its log |"
echo "|---|---|---|---|"
printf '%s\n' "${summary[@]}"
echo
echo "logs: $logs"
# The benchmark tables again, whole, even when some rows failed.
grep -E '^(\||###)' "$logs/benchmarks.log" 2>/dev/null || echo "(no benchmark table: see $logs/benchmarks.log)"
exit "$failed"
