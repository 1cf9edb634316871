"""A dead rank fails fast with a clear error; it never hangs.

MPI's launcher cleans up a rank that dies, but a rank that raises, hangs, or runs one step fewer
than the others leaves the rest blocked in their next collective forever. Two guards fix that:

- an excepthook that prints the traceback, then "rank r of N failed (...); aborting all ranks",
  and calls ``COMM_WORLD.Abort`` (which ends every rank of the job);
- a watchdog thread: every collective stamps its start (``Stamp``); one that has not finished
  after ``timeout`` seconds makes the watchdog print the operation, the step, the byte count and
  every thread's stack, abort NCCL first (its kernels would otherwise spin on), and abort MPI.
"""
import os
import sys
import threading
import time
import traceback

EXIT_CODE = 1


def _say(text: str) -> None:
    """Write one message to stderr at once, whatever buffering the launcher set up."""
    sys.stderr.write(text if text.endswith("\n") else text + "\n")
    sys.stderr.flush()


# Seconds between printing the reason and aborting: MPI_Abort makes the launcher kill every rank
# at once, and output its I/O forwarding has not yet passed on is lost (seen: the last lines).
FORWARD_S = 0.25


def abort(world, message: str) -> None:
    """Print ``message``, abort NCCL, then MPI; every rank of the job ends."""
    _say(message)
    time.sleep(FORWARD_S)
    if world.nccl is not None:
        world.nccl.abort()
    if world.comm is not None:
        world.comm.Abort(EXIT_CODE)
    os._exit(EXIT_CODE)  # a world without MPI: nothing else to stop


class Stamp:
    """The collective in progress: what, how many bytes, since when, and how to see it finish.

    ``event`` is a CUDA event recorded after an NCCL call: the call itself returns at once, so
    the collective is done only when the event is.
    """

    __slots__ = ("operation", "nbytes", "started", "step", "number", "event")

    def __init__(self, operation: str, nbytes: int, step: int, number: int):
        self.operation, self.nbytes, self.step, self.number = operation, nbytes, step, number
        self.started = time.monotonic()
        self.event = None

    def finished(self) -> bool:
        """Whether the GPU work this stamp waits for is done (host work clears its stamp)."""
        return self.event is not None and self.event.done

    def describe(self) -> str:
        """E.g. "all_reduce of 4096 bytes (collective #12, training step 3)"."""
        size = f" of {self.nbytes} bytes" if self.nbytes else ""  # objects: size unknown
        return f"{self.operation}{size} (collective #{self.number}, training step {self.step})"


class Watchdog(threading.Thread):
    """Aborts the job when a stamped collective outlives the timeout."""

    def __init__(self, world):
        super().__init__(name="deeplite-distributed-watchdog", daemon=True)
        self.world = world
        # Stamps not yet finished (NCCL's run on after their call returns). Collectives append
        # and remove under the GIL; this thread only reads a copy.
        self.pending = []
        self.stopped = threading.Event()
        # Look often enough that the abort comes well within a second of the deadline.
        self.period = min(0.25, world.timeout / 8)

    def run(self) -> None:
        while not self.stopped.wait(self.period):
            now = time.monotonic()
            for stamp in list(self.pending):
                if stamp.finished():
                    self._forget(stamp)
                elif now - stamp.started > self.world.timeout:
                    abort(self.world, self._timeout_message(stamp))

    def _forget(self, stamp) -> None:
        try:
            self.pending.remove(stamp)
        except ValueError:
            pass  # already removed

    def _timeout_message(self, stamp: Stamp) -> str:
        world = self.world
        lines = [f"deeplite.distributed: rank {world.rank} of {world.size}: {stamp.describe()} "
                 f"has not finished after {world.timeout:g} s: another rank died, hangs, or ran "
                 f"fewer steps; aborting all ranks (timeout: init(timeout=...) or "
                 f"DEEPLITE_DIST_TIMEOUT)", "stacks of this rank's threads:"]
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            if ident == self.ident:
                continue
            lines.append(f'  thread "{names.get(ident, ident)}":')
            for entry in traceback.format_stack(frame):
                lines.extend("    " + line for line in entry.rstrip().splitlines())
        return "\n".join(lines)


def _excepthook(world, previous):
    def hook(kind, value, trace):
        previous(kind, value, trace)  # the usual traceback first
        if issubclass(kind, KeyboardInterrupt):
            reason = "interrupted"
        else:
            reason = "".join(traceback.format_exception_only(kind, value)).strip()
        abort(world, f"deeplite.distributed: rank {world.rank} of {world.size} failed "
                     f"({reason}); aborting all ranks")
    hook.previous = previous  # type: ignore[attr-defined]  # uninstall puts it back
    return hook


def install(world) -> None:
    """Arm the excepthook and start the watchdog."""
    sys.excepthook = _excepthook(world, sys.excepthook)
    world.watchdog = Watchdog(world)
    world.watchdog.start()


def uninstall(world) -> None:
    """Disarm both (``destroy``)."""
    previous = getattr(sys.excepthook, "previous", None)
    if previous is not None:
        sys.excepthook = previous
    if world.watchdog is not None:
        world.watchdog.stopped.set()
        world.watchdog = None
