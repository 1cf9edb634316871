"""``python -m benchmarks.train_check``: ``deeplite train`` with and without the jit, one run.

Runs the digits defaults (64-512-10, Adam, batch 32, 20 epochs, the progress bar on) on ``cpu``
as ``deeplite train`` and ``deeplite train --no-jit``, and with ``--baseline SRC`` also as the
``deeplite`` of another source tree (built in place: ``git worktree add SRC c0cdd09 && cd SRC &&
python setup.py build_ext --inplace``), alternating, each in its own process pinned to one CPU
with one thread (``--unpinned``: every CPU and the default threads). It prints the medians of the
training loop's seconds (``wall_seconds`` in the run's metrics.json: the epochs, evaluation,
checkpoint and metrics writes, not the imports or the final plots), of its epochs alone (the sum
of the records' ``seconds``: steps and evaluation, without those writes, whose fsyncs vary most
on a shared disk) and of the whole command, and the ratios. The jit and eager runs' metrics
must agree: a mismatch is reported and fails. The baseline's may differ (c0cdd09's test loss
depends on its thread count, for one): that is only reported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"jit": [], "eager": ["--no-jit"], "baseline": []}


def one_run(mode: str, out: Path, extra: list, pinned: bool, source=None) -> tuple:
    """(metrics.json, the whole command's seconds) of one ``deeplite train`` run in ``mode``,
    of the deeplite in ``source`` when given (else the installed one)."""
    command = [sys.executable, "-m", "deeplite.cli", "train", "--device", "cpu", "--out",
               str(out), *MODES[mode], *extra]
    one_thread = {"DEEPLITE_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    environment = {key: value for key, value in os.environ.items() if key not in one_thread}
    if pinned:
        environment.update(one_thread)
    if source is not None:  # ahead of the installed deeplite; run from outside both
        environment["PYTHONPATH"] = str(source)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=out.parent)
    return json.loads((out / "metrics.json").read_text()), time.perf_counter() - started


def main(argv=None) -> int:
    """Print the median loop seconds of each mode and eager / jit; 1 if the results differ."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_check")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each mode (default: 5)")
    parser.add_argument("--unpinned", action="store_true",
                        help="every CPU and deeplite's default threads, instead of one of each")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also time the deeplite of this source tree (built in place)")
    parser.add_argument("extra", nargs="*", help="more `deeplite train` arguments, after --")
    args = parser.parse_args(argv)
    if not args.unpinned:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # children inherit it
    modes = [mode for mode in MODES if mode != "baseline" or args.baseline]
    figures: dict = {what: {mode: [] for mode in modes} for what in ("loop", "epochs", "command")}
    histories: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for mode in modes:
                source = args.baseline.resolve() if mode == "baseline" else None
                metrics, command = one_run(mode, Path(folder) / f"{mode}-{repeat}", args.extra,
                                           not args.unpinned, source)
                figures["loop"][mode].append(metrics["wall_seconds"])
                figures["epochs"][mode].append(sum(metrics["history"]["seconds"]))
                figures["command"][mode].append(command)
                histories[mode] = {key: value for key, value in metrics["history"].items()
                                   if key != "seconds"}
    for what, times in figures.items():
        for mode, values in times.items():
            print(f"{what} {mode}: median {statistics.median(values):.3f} s "
                  f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} runs)")
        for slower in modes[1:]:
            ratio = statistics.median(times[slower]) / statistics.median(times["jit"])
            print(f"{what} {slower} / jit: {ratio:.2f}x")
    if "baseline" in histories:  # other code may round otherwise: told, not a failure
        differ = [key for key, values in histories.pop("baseline").items()
                  if histories["jit"].get(key) != values]
        if differ:
            print(f"note: the baseline's {', '.join(differ)} differ from the jit run's")
    if histories["eager"] != histories["jit"]:
        print("the jit run's metrics differ from the eager run's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
