"""``deeplite train --distributed``: the training command's data-parallel session.

Under ``mpiexec -n N deeplite train --distributed`` every rank builds the same model and the
same loader (same seed, so the same global batches of ``--batch-size`` rows); each step, rank r
trains on its slice of the global batch and DDP averages the gradients. The local loss is the
slice's summed loss times N / (global batch), so the averaged gradient is the gradient of the
global batch's mean loss however the rows split: results do not depend on N. Rank 0 alone
prints, draws the progress bar and writes the run folder (then a barrier); ``--resume`` reads
on rank 0 and broadcasts. The session stands in for ``run_files`` and ``resume`` where the
command writes or reads files, so the command itself changes in a few lines.
"""
from pathlib import Path
from typing import Any

import numpy as np

from .. import creation
from ..distributed import checkpoint, collectives, world
from ..nn.parallel import DistributedDataParallel
from . import CommandError, resume, run_files

INCOMPATIBLE = {"cuda_graph": "--cuda-graph", "diagnose": "--diagnose"}


def start(args):
    """A ``Session`` when ``args.distributed`` is set, else None."""
    if not getattr(args, "distributed", False):
        return None
    for key, flag in INCOMPATIBLE.items():
        if getattr(args, key, False):
            raise CommandError(f"--distributed and {flag} exclude each other: {flag} reads or "
                               f"captures one process's step")
    try:
        world.init()
    except ImportError as error:
        raise CommandError(str(error)) from None
    session = Session()
    if not session.is_main:
        args.quiet = True  # one progress bar: rank 0's
    return session


def shard(count: int, rank: int, size: int) -> slice:
    """Rows of a batch of ``count`` that ``rank`` trains on: near-equal contiguous slices."""
    bounds = np.linspace(0, count, size + 1).round().astype(int)
    return slice(int(bounds[rank]), int(bounds[rank + 1]))


class Session:
    """This rank's part in a distributed ``deeplite train``."""

    def __init__(self):
        self.rank, self.size = world.rank(), world.world_size()
        self.is_main = self.rank == 0

    # ---- the step -------------------------------------------------------------------------------
    def train_step(self, model, optimizer, task, amp=None, scaler=None):
        """``step(x, y) -> (mean loss, correct)`` over the global batch, as ``fit`` expects.

        ``amp`` ("bf16", "fp16"; None: float32) runs each rank's forward pass and loss under
        autocast; ``scaler`` (fp16's GradScaler) scales the loss. DDP averages the scaled
        gradients, so every rank finds the same inf/NaN and skips or takes the same step.
        """
        from ..amp.training import amp_region, backward_and_step

        ddp = DistributedDataParallel(model)
        region = amp_region(next(iter(model.parameters())).device, amp)

        def step(inputs, targets):
            count = len(targets)
            rows = shard(count, self.rank, self.size)
            local_x, local_y = inputs[rows], targets[rows]
            optimizer.zero_grad()
            local = len(local_y)
            with region:
                outputs = ddp(local_x)
                # Summed loss of this slice; a slice of no rows still joins the all-reduce.
                loss_sum = task.loss(outputs, local_y) * local if local else outputs.sum() * 0.0
            # DDP averages the gradients as the backward pass ends.
            backward_and_step(loss_sum * (self.size / count), optimizer, scaler)
            correct = task.correct(outputs.detach(), local_y) if local else 0
            totals = creation.tensor([float(loss_sum.detach()), float(correct)],
                                     dtype=np.float64)
            collectives.all_reduce(totals)
            loss_total, correct_total = totals.numpy()
            return loss_total / count, correct_total
        return step

    # ---- the files: rank 0 writes, the others wait --------------------------------------------
    def new_run_dir(self, out, dataset_name: str, overwrite: bool = False):
        """Rank 0's run folder (its name has a timestamp), the same path on every rank."""
        path: list[Any] = [str(run_files.new_run_dir(out, dataset_name, overwrite))
                           if self.is_main else None]
        collectives.broadcast_object_list(path, src=0)
        return Path(path[0])

    def save_checkpoint(self, path, model, optimizer, config: dict, kept_epoch=None,
                        scaler=None) -> None:
        """``run_files.save_checkpoint`` on rank 0, then a barrier."""
        if self.is_main:
            run_files.save_checkpoint(path, model, optimizer, config, kept_epoch=kept_epoch,
                                      scaler=scaler)
        collectives.barrier()

    def write_json(self, path, payload: dict) -> None:
        """``run_files.write_json`` on rank 0 (no barrier: nobody reads it back)."""
        if self.is_main:
            run_files.write_json(path, payload)

    # ---- --resume: rank 0 reads, everyone gets it ----------------------------------------------
    def resume_arguments(self, args) -> "resume.Resumed":
        """``resume.resume_arguments`` on rank 0; its settings broadcast to every rank."""
        message: list[Any] = [None, None, None]
        if self.is_main:
            try:
                message[:] = [None, resume.resume_arguments(args), vars(args)]
            except (CommandError, FileNotFoundError, ValueError) as error:
                message[0] = str(error)
        collectives.broadcast_object_list(message, src=0)
        if message[0] is not None:
            raise CommandError(message[0])
        settings = {key: value for key, value in message[2].items()
                    if key not in ("func", "quiet")}
        vars(args).update(settings)
        return message[1]

    def restore(self, resumed, model, optimizer, train_loader, monitor, scaler=None) -> None:
        """Rank 0 loads the training state and broadcasts it; every rank restores the
        divergence watch and fast-forwards its loader."""
        resume.restore(resumed, model, optimizer, train_loader, monitor, scaler,
                       load_state=checkpoint.load_training_state)

    def follow(self, stopped) -> int:
        """The exit status of a rank other than 0, which writes and prints nothing."""
        return 1 if stopped else 0
