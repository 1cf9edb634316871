"""``deeplite train`` on digits per epoch, with and without ``--tensorboard`` (the logging cost).

An epoch here is everything between two finished epochs: the training steps, the evaluation and
what the command does with each epoch (checkpoint, metrics.json, and with ``--tensorboard`` the
scalars, the weight and gradient histograms, and the writer thread's work, which overlaps the
next epoch). Runs alternate off, on, off, on, and each run's first epoch (warm-up, imports) is
left out. The table has the medians over all runs; the record's ``slowdown`` is the median over
the off/on pairs of each pair's on/off ratio of medians, so load that drifts between pairs (a
shared machine) cancels out.

Beside it, one ``add_histogram`` (64x512 float32, the default buckets) and one ``add_scalar`` per
writer: deeplite's, torch's ``torch.utils.tensorboard`` (the torch peer) and tensorboardX on a
NumPy array (the numpy peer).
"""
import contextlib
import io
import itertools
import statistics
import tempfile
import time

import numpy as np

IN_QUICK = False
EPOCHS = 8  # per run; the first is warm-up
ROUNDS = 5  # off/on pairs
SHAPE = "digits 64-512-10, batch 32"
HISTOGRAM_SHAPE = (64, 512)
EXTRA_ARGS: list = []  # more `deeplite train` options (the tests shrink the model)


def epoch_seconds(device: str, tensorboard: bool) -> list:
    """Wall seconds of each epoch (after the first) of one ``deeplite train`` run."""
    from deeplite.cli import main, train_command

    fit, ends = train_command.fit, []

    def timed_fit(*args, on_epoch, **kwargs):
        def on_epoch_timed(record):
            on_epoch(record)
            ends.append(time.perf_counter())
        ends.append(time.perf_counter())
        return fit(*args, on_epoch=on_epoch_timed, **kwargs)

    train_command.fit = timed_fit  # the command's own loop, timed from outside
    try:
        with tempfile.TemporaryDirectory() as out:
            argv = ["train", "--epochs", str(EPOCHS), "--device", device, "--quiet", "--out", out,
                    *EXTRA_ARGS]
            with contextlib.redirect_stdout(io.StringIO()):  # its "wrote ..." lines
                status = main(argv + (["--tensorboard"] if tensorboard else []))
            if status != 0:
                raise RuntimeError(f"deeplite train failed: {' '.join(argv)}")
    finally:
        train_command.fit = fit
    return [end - start for start, end in zip(ends[1:-1], ends[2:], strict=True)]


def writer_for(contender, folder: str):
    """The contender's SummaryWriter, or None when it has none here."""
    if contender.framework == "deeplite":
        from deeplite.utils.tensorboard import SummaryWriter
    elif contender.framework == "torch":
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            return None
    else:
        from tensorboardX import SummaryWriter
    return SummaryWriter(folder)


def writer_calls(ctx):
    """Groups: one add_histogram and one add_scalar per contender's writer."""
    values = ctx.rng.standard_normal(HISTOGRAM_SHAPE).astype(np.float32)
    with tempfile.TemporaryDirectory() as out:
        writers = {contender.name: writer_for(contender, f"{out}/{index}")
                   for index, contender in enumerate(ctx.contenders)}
        steps = itertools.count()

        def histogram(contender):
            writer = writers[contender.name]
            if writer is None:
                return None
            array = contender.put(values)
            return lambda: writer.add_histogram("h", array, next(steps))

        def scalar(contender):
            writer = writers[contender.name]
            return None if writer is None else lambda: writer.add_scalar("s", 0.5, next(steps))

        shape = "x".join(map(str, HISTOGRAM_SHAPE))
        yield ctx.measure("tensorboard_add_histogram", shape, histogram)
        yield ctx.measure("tensorboard_add_scalar", "one float", scalar)
        for writer in writers.values():
            if writer is not None:
                writer.close()


def run(ctx):
    """The writers' single calls, then the training epoch without and with TensorBoard."""
    try:
        import tensorboardX  # noqa: F401  (the optional extra this case needs)
    except ImportError:
        return
    yield from writer_calls(ctx)
    contender = next((c for c in ctx.contenders if c.framework == "deeplite" and not c.on_gpu),
                     None)
    if contender is None:
        return
    seconds, ratios = {False: [], True: []}, []
    for _ in range(ROUNDS):
        pair = {tensorboard: epoch_seconds(contender.device, tensorboard)
                for tensorboard in (False, True)}
        ratios.append(statistics.median(pair[True]) / statistics.median(pair[False]))
        for tensorboard, times in pair.items():
            seconds[tensorboard] += times
    records = []
    for tensorboard, times in seconds.items():
        record = ctx.base_record("train_digits_epoch", SHAPE, contender, "float32")
        record.update(backend=contender.name + (" +tensorboard" if tensorboard else ""),
                      median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                      repeats=len(times))
        records.append(record)
    records[1]["slowdown"] = statistics.median(ratios) - 1
    records[1]["slowdown_per_pair"] = [ratio - 1 for ratio in ratios]
    yield records
