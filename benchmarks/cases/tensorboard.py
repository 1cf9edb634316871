"""``deeplite train`` on digits per epoch, with and without ``--tensorboard`` (the logging cost).

An epoch here is everything between two finished epochs: the training steps, the evaluation and
what the command does with each epoch (checkpoint, metrics.json, and with ``--tensorboard`` the
scalars, the weight and gradient histograms, and the writer thread's work, which overlaps the
next epoch). Runs alternate off, on, off, on, and each run's first epoch (warm-up, imports) is
left out; the medians go in the table and the on/off slowdown in the record.
"""
import contextlib
import io
import statistics
import tempfile
import time

IN_QUICK = False
EPOCHS = 10  # per run; the first is warm-up
ROUNDS = 3  # off/on pairs
SHAPE = "digits 64-512-10, batch 32"
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


def run(ctx):
    """One group: the first host deeplite contender's epoch, without and with TensorBoard."""
    try:
        import tensorboardX  # noqa: F401  (the optional extra this case needs)
    except ImportError:
        return
    contender = next((c for c in ctx.contenders if c.framework == "deeplite" and not c.on_gpu),
                     None)
    if contender is None:
        return
    seconds = {False: [], True: []}
    for _ in range(ROUNDS):
        for tensorboard in (False, True):
            seconds[tensorboard] += epoch_seconds(contender.device, tensorboard)
    records = []
    for tensorboard, times in seconds.items():
        record = ctx.base_record("train_digits_epoch", SHAPE, contender, "float32")
        record.update(backend=contender.name + (" +tensorboard" if tensorboard else ""),
                      median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                      repeats=len(times))
        records.append(record)
    records[1]["slowdown"] = records[1]["median_s"] / records[0]["median_s"] - 1
    yield records
