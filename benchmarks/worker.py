"""``python -m benchmarks.worker``: run the cases under one thread count, as a pinned subprocess.

The runner starts one worker per thread count with every thread pool's variable set before any
library loads, which is the only pinning that holds for every contender. The worker speaks to the
runner in lines on stdout that start with ``PREFIX`` and carry one JSON event each.
"""
import argparse
import json
import logging
import sys
import traceback

import numpy as np

from . import cases, machine
from .contenders import load_torch, select
from .context import Context

PREFIX = "@@benchmarks "


def emit(event: str, **fields) -> None:
    """Send one event to the runner."""
    print(PREFIX + json.dumps({"event": event, **fields}), flush=True)


def parse(argv) -> argparse.Namespace:
    """The worker's arguments, as the runner passes them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--backends", required=True)
    parser.add_argument("--peers", default="")
    parser.add_argument("--families", required=True)
    parser.add_argument("--repeats", type=int, required=True)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Run every requested family; a family that fails is reported and the rest still run."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parse(argv)
    peers = [peer for peer in args.peers.split(",") if peer]
    torch = load_torch() if "torch" in peers else None
    machine.pin_in_process(args.threads, torch)
    contenders, skipped = select(args.backends.split(","), peers)
    ctx = Context(contenders, args.threads, args.quick, machine.limits(args.quick), args.repeats,
                  np.random.default_rng(0))
    emit("start", threads=args.threads, limits=ctx.limits, machine=machine.describe(torch),
         skipped=skipped, contenders=[contender.name for contender in contenders])
    # Peers alone measure nothing about deeplite: with every requested backend skipped, stop here.
    ours = any(contender.framework == "deeplite" for contender in contenders)
    failed = False
    for family in args.families.split(",") if ours else ():
        try:
            for group in cases.load(family).run(ctx):
                emit("records", family=family, records=group)
        except Exception as error:  # one broken case must not hide the others' results
            failed = True
            traceback.print_exc()
            emit("error", family=family, threads=args.threads,
                 message=f"{type(error).__name__}: {error}")
        emit("done", family=family)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
