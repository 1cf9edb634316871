"""``python -m benchmarks`` (also ``deeplite bench``): time deeplite beside NumPy and PyTorch.

Examples:
    python -m benchmarks --quick --out bench-out          # the smoke run CI does (< 1 minute)
    python -m benchmarks --out bench-out                  # the full run (several minutes)
    python -m benchmarks --only training,gemm --backends cpu --threads 1
"""
import argparse
import logging
import os
import shlex
import sys
from typing import List

from deeplite.backends import MODULES

from .cases import FAMILIES

log = logging.getLogger("benchmarks")


def _names(text: str) -> List[str]:
    """A comma-separated list of names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def _counts(text: str) -> List[int]:
    """A comma-separated list of positive thread counts."""
    counts = [int(part) for part in _names(text)]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"thread counts must be positive integers, got {text!r}")
    return counts


def parse(argv=None) -> argparse.Namespace:
    """The command line, with defaults filled in (quick runs: fewer repeats, one thread count)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark deeplite's backends beside NumPy and PyTorch (when installed), "
                    "with the machine's copy bandwidth and GEMM rate measured in the same run.")
    parser.add_argument("--backends", type=_names, default=list(MODULES),
                        help=f"deeplite backends, comma-separated (default: {','.join(MODULES)}; "
                             "one that cannot run here is skipped with the reason)")
    parser.add_argument("--only", type=_names, default=[],
                        help=f"case families, comma-separated: {','.join(FAMILIES)}")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: small sizes, few repeats, slow cases skipped (< 1 min)")
    parser.add_argument("--out", default="bench-out",
                        help="folder for results.json, results.md and PNGs (default: bench-out)")
    parser.add_argument("--peers", type=_names, default=["numpy", "torch"],
                        help="peers to time beside deeplite: numpy,torch (torch only if installed)")
    parser.add_argument("--threads", type=_counts, default=None,
                        help="thread counts, each run pinned for every contender "
                             "(default: 1,2 on a machine with 2+ cores; quick: 1)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds per case (default: 7, quick: 3)")
    options = parser.parse_args(argv)
    if options.threads is None:
        options.threads = [1] if options.quick or (os.cpu_count() or 1) < 2 else [1, 2]
    if options.repeats is None:
        options.repeats = 3 if options.quick else 7
    if options.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {options.repeats}")
    return options


def main(argv=None) -> int:
    """Run the benchmarks; the exit status is 0 when every case ran and results.json parses."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    options = parse(argv)
    from .runner import run
    try:
        return run(options, shlex.join(["python", "-m", "benchmarks", *argv]))
    except ValueError as error:  # an unknown case family, or results.json failed its check
        log.error("benchmarks: %s", error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
