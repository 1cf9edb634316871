"""``python -m benchmarks.train_check``: ``deeplite train`` with and without the jit, one run.

Runs the digits defaults (64-512-10, Adam, batch 32, 20 epochs) on ``cpu`` as ``deeplite train``
and ``deeplite train --no-jit``, alternating, each in its own process pinned to one CPU with one
thread (``--unpinned``: every CPU and the default threads), and prints the medians of the
training loop's seconds (``wall_seconds`` in the run's metrics.json: the epochs, evaluation,
checkpoints and metrics writes, not the imports or the final plots) and of its epochs alone (the
sum of the records' ``seconds``: steps and evaluation, without the per-epoch checkpoint and
metrics writes, whose fsyncs vary most on a shared disk), and the ratios. The two runs' metrics
must agree: a mismatch is reported and fails.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MODES = {"jit": [], "eager": ["--no-jit"]}


def one_run(mode: str, folder: Path, extra: list, pinned: bool) -> dict:
    """The metrics.json of one ``deeplite train`` run in ``mode``."""
    out = folder / mode
    command = [sys.executable, "-m", "deeplite.cli", "train", "--device", "cpu", "--quiet",
               "--overwrite", "--out", str(out), *MODES[mode], *extra]
    one_thread = {"DEEPLITE_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    environment = {key: value for key, value in os.environ.items() if key not in one_thread}
    if pinned:
        environment.update(one_thread)
    subprocess.run(command, check=True, capture_output=True, env=environment)
    return json.loads((out / "metrics.json").read_text())


def main(argv=None) -> int:
    """Print the median loop seconds of each mode and eager / jit; 1 if the results differ."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_check")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each mode (default: 5)")
    parser.add_argument("--unpinned", action="store_true",
                        help="every CPU and deeplite's default threads, instead of one of each")
    parser.add_argument("extra", nargs="*", help="more `deeplite train` arguments, after --")
    args = parser.parse_args(argv)
    if not args.unpinned:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # children inherit it
    seconds: dict = {mode: [] for mode in MODES}
    epochs: dict = {mode: [] for mode in MODES}
    histories: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeats):
            for mode in MODES:
                metrics = one_run(mode, Path(folder), args.extra, not args.unpinned)
                seconds[mode].append(metrics["wall_seconds"])
                epochs[mode].append(sum(metrics["history"]["seconds"]))
                histories[mode] = {key: value for key, value in metrics["history"].items()
                                   if key != "seconds"}
    for what, figures in (("loop", seconds), ("epochs", epochs)):
        for mode, values in figures.items():
            print(f"{what} {mode}: median {statistics.median(values):.3f} s "
                  f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} runs)")
        ratio = statistics.median(figures["eager"]) / statistics.median(figures["jit"])
        print(f"{what} eager / jit: {ratio:.2f}x")
    if histories["jit"] != histories["eager"]:
        print("the jit run's metrics differ from the eager run's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
