"""``deeplite train --resume RUN_DIR``: continue a run from its checkpoint, exactly.

Resumed, a run ends as had it never stopped, messages included: the checkpoint restores the
weights, the optimizer's buffers and step counts, deeplite's random generator, the finished
epochs' records and the divergence watch (whose reference loss is the run's first, not the
first after resuming), and under ``--amp fp16`` the loss scaler's scale and growth tracker; the
loader's own shuffling generator is advanced past the finished epochs; every other setting comes
from the run's saved config, so only ``--epochs`` (the new total), ``--device`` and ``--quiet``
apply. The precision (``--amp``) is the run's too: ``--amp`` may be repeated, but one that differs
from the run's is refused, since the resumed run would not be the run continued.
"""
from dataclasses import dataclass
from pathlib import Path

from .. import serialization
from . import CommandError, data_source, run_files

# Saved config key -> train option it restores (the options that shape the run's results).
RESTORED = ("dataset", "target", "task", "activation", "optimizer", "lr", "momentum",
            "weight_decay", "batch_size", "seed", "test_fraction", "diagnose")


@dataclass
class Resumed:
    """What ``--resume`` found: the checkpoint, its epoch count, records and config."""

    path: Path
    done: int
    records: list
    config: dict


def resume_arguments(args) -> Resumed:
    """Fill ``args`` from the run's config; the checkpoint it resumes."""
    path = run_files.checkpoint_path(args.resume)
    config = run_files.read_config(path)
    if config["format"] != run_files.FORMAT or not isinstance(config.get("history"), list) \
            or not isinstance(config.get("monitor"), dict):
        raise CommandError(f"{path} was written by an older deeplite (format "
                           f"{config['format']}) without the run's history; it can be "
                           f"evaluated but not resumed exactly")
    if config.get("data_file") is not None:
        args.dataset, note = data_source.locate(config, path.parent)
        if note:
            raise CommandError(f"{note}; resuming would train on other data than the run's")
    for key in RESTORED:
        if key != "dataset" or config.get("data_file") is None:
            setattr(args, key, config[key])
    _check_precision(args, config, path)
    args.hidden = ",".join(str(width) for width in config["sizes"][1:-1])
    args.epochs = args.epochs or config["epochs"]
    if args.device == "auto":
        args.device = config["device"]  # the same device gives the same numbers
    done = config["epoch"]
    if args.epochs <= done:
        raise CommandError(f"{path} already has {done} epochs; pass --epochs above {done} to "
                           f"train further")
    if len(config["history"]) != done:
        raise CommandError(f"{path}: the run config is damaged ({len(config['history'])} epoch "
                           f"records for {done} epochs); train the run again")
    return Resumed(path, done, config["history"], config)


def _check_precision(args, config: dict, path) -> None:
    """``args.amp`` <- the run's precision; a different ``--amp`` is a CommandError."""
    saved = config.get("amp")  # absent in runs saved before --amp existed: float32
    if args.amp is not None and args.amp != saved:
        trained = f"with --amp {saved}" if saved else "in float32 (without --amp)"
        again = f"pass --amp {saved} or no --amp" if saved else "drop --amp"
        raise CommandError(f"{path} was trained {trained}; --resume continues a run in its own "
                           f"precision: {again}, or start a new run with --amp {args.amp}")
    args.amp = saved


def restore(resumed: Resumed, model, optimizer, train_loader, monitor, scaler=None,
            load_state=serialization.load_training_state) -> None:
    """Load the training state into ``model``, ``optimizer``, ``monitor`` (and the GradScaler
    of ``--amp fp16``); skip the loader.

    ``load_state`` reads the file (``--distributed`` passes one that reads on rank 0 alone).
    """
    try:
        load_state(str(resumed.path), model, optimizer, scaler=scaler)
        monitor.load_state_dict(resumed.config["monitor"])
    except ValueError as error:
        raise CommandError(f"{resumed.path}: cannot resume: {error}") from None
    train_loader.skip_epochs(resumed.done)
