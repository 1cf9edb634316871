#!/usr/bin/env bash
# The GPU check, for a fresh offline GPU machine that already has Python 3.12, CuPy (CUDA 13),
# PyTorch with CUDA, pybind11, pytest and numpy: build deeplite in place, run every `cuda` test,
# then the GPU benchmarks against PyTorch, and print a short table. The whole run stays under
# 5 minutes: each step has its own time limit, and a failed step does not stop the later ones.
#
#   bash benchmarks/gpu_check.sh            # logs in /tmp/deeplite-gpu-check (GPU_CHECK_LOGS)
set -euo pipefail
cd "$(dirname "$0")/.."

logs="${GPU_CHECK_LOGS:-/tmp/deeplite-gpu-check}"
mkdir -p "$logs"
# The source tree stays importable even if the in-place build fails (the cuda backend is Python).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
summary=()
failed=0

# run_step NAME SECONDS COMMAND...: run with a time limit, log it, show its tail, note the result.
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
  summary+=("| $name | $result | ${took}s | $log |")
}

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
python3 -c "import sys, numpy, cupy; print('python', sys.version.split()[0], '| numpy', numpy.__version__, '| cupy', cupy.__version__)" || true
python3 -c "import torch; print('torch', torch.__version__, '| cuda', torch.version.cuda, torch.cuda.is_available())" || true

run_step build 100 python3 -m pip install --no-build-isolation --no-deps -e .
run_step cuda-tests 110 python3 -m pytest -q -m cuda -p no:cacheprovider tests
# Data-parallel on one GPU: a 1-rank NCCL communicator, 2 ranks staging through the host (they
# skip, saying why, without NCCL or without mpi4py + mpich: pip install "deeplite[dist]").
run_step distributed 60 python3 -m pytest -q -rs -p no:cacheprovider tests/test_distributed_cuda.py
run_step benchmarks 80 python3 benchmarks/gpu_bench.py

echo
echo "### deeplite GPU check"
echo
echo "| step | result | time | log |"
echo "|---|---|---|---|"
printf '%s\n' "${summary[@]}"
# The benchmark table again, whole, even when some rows failed.
grep -E '^(\||###)' "$logs/benchmarks.log" || echo "(no benchmark table: see $logs/benchmarks.log)"
exit "$failed"
