"""How often ``deeplite train`` writes its checkpoint: at most a tenth of the run goes to it.

A checkpoint is written durably (aside, fsynced, renamed, the folder fsynced): 2.3-2.8 ms for the
digits defaults here, beside epochs of 6 ms, so writing one after every epoch spent a quarter to
a third of the run (40-60 ms of 0.19 s) on checkpoints. After an epoch the checkpoint is written
once ``FACTOR`` times the last write's duration has passed since that write ended: every epoch
whenever epochs are long next to a write (most real runs), and every few epochs when they are
not. The last epoch is always written, and so is the last finished epoch on every other way out
(a divergence, an error, Ctrl-C): ``deeplite train`` keeps the epoch's snapshot in memory until
then. Only a process killed outright (SIGKILL, a power cut) can find an older checkpoint, whole
and verified, and it loses at most ``FACTOR`` write durations of training (or one epoch), which
``--resume`` redoes exactly. A ``--distributed`` run writes every epoch: its ranks write in
step, and a decision taken on one rank's clock would split them.
"""
import time
from typing import Callable

FACTOR = 10.0  # the gap between writes, in write durations: checkpoints stay under ~1/11


class CheckpointCadence:
    """Whether the checkpoint is due after this epoch: ``due()``; ``wrote(started)`` after each
    write, with the ``clock()`` (seconds) at which it began."""

    def __init__(self, every_epoch: bool = False, clock: Callable[[], float] = time.perf_counter):
        self.every_epoch, self.clock = every_epoch, clock
        self._next = 0.0  # the clock from which the next write is due

    def due(self) -> bool:
        return self.every_epoch or self.clock() >= self._next

    def wrote(self, started: float) -> None:
        ended = self.clock()
        self._next = ended + FACTOR * (ended - started)
