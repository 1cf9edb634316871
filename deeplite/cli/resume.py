"""``deeplite train --resume RUN_DIR``: continue a run from its checkpoint, exactly.

Resumed, a run ends with the same weights as had it never stopped: the checkpoint restores the
weights, the optimizer's buffers and step counts and deeplite's random generator; the loader's
own shuffling generator is advanced past the finished epochs; every other setting comes from the
run's saved config, so only ``--epochs`` (the new total), ``--device`` and ``--quiet`` apply.
"""
import json
import logging

from .. import serialization
from . import CommandError, run_files

log = logging.getLogger(__name__)

# Saved config key -> train option it restores (the options that shape the run's results).
RESTORED = ("dataset", "target", "activation", "optimizer", "lr", "momentum", "weight_decay",
            "batch_size", "seed", "test_fraction", "diagnose")


def resume_arguments(args) -> tuple:
    """Fill ``args`` from the run's config; (checkpoint path, epochs done, their records)."""
    path = run_files.checkpoint_path(args.resume)
    config = run_files.read_config(path)
    for key in RESTORED:
        setattr(args, key, config[key])
    args.hidden = ",".join(str(width) for width in config["sizes"][1:-1])
    args.out = str(path.parent)
    args.epochs = args.epochs or config["epochs"]
    if args.device == "auto":
        args.device = config["device"]  # the same device gives the same numbers
    done = config["epoch"]
    if args.epochs <= done:
        raise CommandError(f"{path} already has {done} epochs; pass --epochs above {done} to "
                           f"train further")
    return path, done, _earlier_records(path.parent / run_files.METRICS, done)


def _earlier_records(metrics_path, done: int) -> list:
    """The per-epoch records of the finished epochs, from the run's metrics.json."""
    if not metrics_path.exists():
        log.warning("%s is missing: the resumed metrics start at epoch %d", metrics_path, done + 1)
        return []
    history = json.loads(metrics_path.read_text())["history"]
    records = []
    for index, epoch in enumerate(history["epoch"][:done]):
        record = {key: values[index] for key, values in history.items()
                  if isinstance(values, list)}
        for key in ("grad_norms", "dead_relu"):  # per-layer series: {layer: [per epoch]}
            if key in history:
                record[key] = {layer: values[index] for layer, values in history[key].items()}
        records.append(record)
    return records


def restore(path, model, optimizer, train_loader, done: int) -> None:
    """Load the training state into ``model`` and ``optimizer`` and fast-forward the loader."""
    try:
        serialization.load_training_state(str(path), model, optimizer)
    except ValueError as error:
        raise CommandError(f"{path}: cannot resume: {error}") from None
    train_loader.skip_epochs(done)
