"""``python -m benchmarks.jit_check``: the jit targets of issue 17 in one small pinned run.

Times deeplite's eager and replayed steps of (b) 64-256-256-1 b128 and (c) 2-16-16-1 b32 on
``numpy`` and ``cpu``, interleaved, with the replay's kernels alone beside them, and JAX's
``jax.jit`` step in a child process (benchmarks/jax_peer.py), alternating: ``--rounds`` rounds of
deeplite then JAX, each figure the median of its rounds, so a busy spell on this shared machine
hits both sides instead of whichever ran then. The process pins itself to one CPU and one thread
first. No PyTorch in the process: loaded beside deeplite, it cost the replays their lead in (b)
(see docs/jit.md).
"""
import os
import subprocess
import sys

for _name in ("DEEPLITE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import argparse  # noqa: E402  (after the pinning, before any thread pool starts)
import json  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402

from . import timing  # noqa: E402
from .contenders import Contender  # noqa: E402
from .mlp import MLPSpec, host_data, host_weights  # noqa: E402
from .ours import deeplite_step  # noqa: E402

SPECS = {"b": MLPSpec((64, 256, 256, 1), 128, "bce"), "c": MLPSpec((2, 16, 16, 1), 32, "bce")}


def jax_median(spec: MLPSpec, repeats: int):
    """JAX's median seconds per step in a pinned child process, or None when JAX is absent."""
    jax = subprocess.run(
        [sys.executable, "-m", "benchmarks.jax_peer", "--sizes", ",".join(map(str, spec.sizes)),
         "--batch", str(spec.batch), "--loss", spec.loss, "--repeats", str(repeats)],
        capture_output=True, text=True)
    if jax.returncode != 0:
        return None
    return json.loads(jax.stdout.strip().splitlines()[-1])["median_s"]


def main(argv=None) -> int:
    """Print each step's medians in µs, and the replay's ratio to JAX."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jit_check")
    parser.add_argument("--rounds", type=int, default=3, help="deeplite-then-JAX rounds")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    for label, spec in SPECS.items():
        calls = {}
        for device in ("numpy", "cpu"):
            contender = Contender(f"deeplite[{device}]", "deeplite", device)
            calls[device] = deeplite_step(contender, spec, host_data(spec, rng),
                                          host_weights(spec, rng))
            replay = deeplite_step(contender, spec, host_data(spec, rng), host_weights(spec, rng),
                                   jit=True)
            for _ in range(3):  # warm-up and trace, so the plan exists for its kernels' timing
                replay()
            calls[f"{device}+jit"] = replay
            calls[f"{device} kernels"] = replay.jitted.plans()[0].kernels_only
        rounds: dict = {}
        for _ in range(args.rounds):
            for name, stats in timing.compare(calls, repeats=3).items():
                rounds.setdefault(name, []).append(stats.median_s)
            seconds = jax_median(spec, repeats=3)
            if seconds is not None:
                rounds.setdefault("jax", []).append(seconds)
        medians = {name: statistics.median(values) for name, values in rounds.items()}
        cells = [f"{name} {seconds * 1e6:.1f} us" for name, seconds in medians.items()]
        if "jax" in medians:
            cells.append(f"cpu+jit / jax {medians['cpu+jit'] / medians['jax']:.2f}x")
        print(f"({label}) {spec.label}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
