"""Per rank: a job in which rank 1 fails in one way; the others must not hang.

Modes: raise (an uncaught exception), hang (sleeps in Python), short (runs one step fewer),
kill (SIGKILL), mismatch (builds a different model: DDP refuses before any tensor collective).
Each rank writes rank<r>.json when it starts; rank 1 writes failed_at.json just before failing.
"""
import json
import os
import signal
import time

from rank_common import FEATURES, arguments

import deeplite as dl
import deeplite.distributed as dist
from deeplite.distributed.world import WORLD
from deeplite.nn.parallel import DistributedDataParallel

STEPS = 4


def note(out: str, name: str, **fields) -> None:
    with open(os.path.join(out, name), "w") as file:
        json.dump(fields, file)


def main():
    out, (mode,) = arguments()
    dist.init()
    rank = dist.rank()
    note(out, f"rank{rank}.json", started=time.time())
    if mode == "mismatch":
        width = 9 if rank == 1 else 8
        try:
            DistributedDataParallel(dl.nn.MLP([FEATURES, width, 2]))
        except ValueError as error:
            note(out, f"refused{rank}.json", message=str(error), collectives=WORLD.collectives)
            dist.barrier()  # both ranks have written their note before either aborts the job
            raise
        return
    total = dl.ones(16)
    for step in range(STEPS):
        if rank == 1 and step == 2:
            note(out, "failed_at.json", time=time.time())
            if mode == "raise":
                raise RuntimeError("rank 1 fails on purpose")
            if mode == "hang":
                time.sleep(600)
            if mode == "short":
                break
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        dist.all_reduce(total)


if __name__ == "__main__":
    main()
