"""``python -m benchmarks.jax_peer``: time JAX's jitted step in a process of its own.

XLA's CPU threads keep spinning after each step; in the process of the other contenders (and on
the CPUs they are pinned to) that took 2-3x from whoever ran next. A child process, pinned like
its parent (the affinity mask and thread variables are inherited), keeps the comparison fair.
Prints one JSON object: the timing statistics of ``benchmarks.timing.compare``.
"""
import argparse
import dataclasses
import json
import sys

import numpy as np

from . import timing
from .mlp import MLPSpec, host_data, host_weights
from .peers import jax_step


def main(argv=None) -> int:
    """Time the step the arguments describe; print its statistics as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jax_peer")
    parser.add_argument("--sizes", required=True, help="layer widths, comma-separated")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--loss", choices=("ce", "bce"), required=True)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    spec = MLPSpec(tuple(int(size) for size in args.sizes.split(",")), args.batch, args.loss,
                   args.lr)
    rng = np.random.default_rng(0)
    step = jax_step(spec, host_data(spec, rng), host_weights(spec, rng))
    stats = timing.compare({"jax": step}, repeats=args.repeats)["jax"]
    print(json.dumps(dataclasses.asdict(stats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
