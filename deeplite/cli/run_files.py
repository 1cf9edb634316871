"""A run folder: the checkpoint (weights + the run's config and history), ``metrics.json``, plots.

The checkpoint is a deeplite training state (``deeplite.serialization.save_training_state``:
``model.*`` weights, optimizer buffers, the random generator), written atomically. Its metadata
holds, as JSON, the run's config (what ``eval`` and ``predict`` need to rebuild the model and its
input scaling), the finished epochs' records and the divergence watch's state, so the checkpoint
alone tells the run's story: ``metrics.json`` is derived from it and rewritten on resume, and a
kill between the two writes loses nothing. Everything read back is checked before use.
"""
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np

from .. import nn, serialization
from ..backends.contract import ACTIVATIONS
from ..data import Standardizer
from ..safetensors_file import read_file, write_file
from ..tasks import Classification, Regression
from ..training_state import training_state_contents
from . import CommandError

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.safetensors"
METRICS = "metrics.json"
CURVES = "curves.png"
DIAGNOSTICS = "diagnostics.png"
PREDICTIONS = "predictions.png"
GRAPH = "graph.png"  # --diagnose: the computational graph of one training step
RUN_FILES = (CHECKPOINT, METRICS, CURVES, DIAGNOSTICS, PREDICTIONS, GRAPH)
CONFIG_KEY = "deeplite_run"  # metadata key holding the run's JSON config
FORMAT = "deeplite-run/2"  # 2: the config carries the task, history and divergence watch
READABLE_FORMATS = ("deeplite-run/1", FORMAT)  # eval and predict read both

_NUMBER: tuple = (int, float)
# Config key -> the JSON types it must have (what eval, predict and --resume rely on).
_SCHEMA: dict = {"dataset": str, "sizes": list, "activation": str, "feature_names": list,
           "seed": int, "test_fraction": _NUMBER, "device": str, "optimizer": str,
           "lr": _NUMBER, "momentum": _NUMBER, "weight_decay": _NUMBER, "batch_size": int,
           "epochs": int, "diagnose": bool, "scaler": dict, "epoch": int}


def new_run_dir(out, dataset_name: str, overwrite: bool = False) -> Path:
    """``out`` (created), or a fresh ``runs/<dataset>-<timestamp>`` folder when ``out`` is None.

    An ``out`` that already holds a run is refused unless ``overwrite``, which removes the old
    run's files first (so no stale plot survives).
    """
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise CommandError(f"--out {out}: a file is in the way; give a folder for the run")
        existing = [name for name in RUN_FILES if (path / name).exists()]
        if existing and not overwrite:
            raise CommandError(f"--out {out} already holds a run ({', '.join(existing)}); pass "
                               f"--overwrite to replace it, --resume {out} to continue it, or "
                               f"another --out")
        for name in existing:
            _remove(path / name)
    else:
        stem = Path(dataset_name).stem if dataset_name.endswith((".csv", ".npz")) else dataset_name
        path = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        suffix = 2
        while path.exists():  # two runs in the same second
            path = path.with_name(f"{path.name.rsplit('~', 1)[0]}~{suffix}")
            suffix += 1
    path.mkdir(parents=True, exist_ok=True)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        raise CommandError(f"{path} is a folder where a run file belongs; remove it yourself")
    path.unlink()


def remove_stale_temporaries(run_dir: Path) -> list:
    """Delete the temporary files a killed write left in ``run_dir``; their names.

    A run folder has one writer (the run), so at its start any temporary file is a leftover.
    """
    stale = [path for path in run_dir.glob(f".{CHECKPOINT}.*.tmp")] + \
        [path for path in run_dir.glob(f"{METRICS}.tmp") if path.is_file()]
    for path in stale:
        path.unlink()
    return [path.name for path in stale]


def save_checkpoint(path: Path, model, optimizer, config: dict, kept_epoch=None,
                    scaler=None) -> None:
    """Write weights, optimizer (and ``--amp fp16``'s loss scaler) state and ``config``
    atomically (written aside, then renamed).

    A failed write (a full disk) leaves the previous file, the checkpoint of ``kept_epoch``, as
    it was; the CommandError says so and how to go on.
    """
    write_checkpoint(path, checkpoint_contents(model, optimizer, scaler), config, kept_epoch)


def checkpoint_contents(model, optimizer, scaler=None, copy: bool = False) -> tuple:
    """The arrays and state ``save_checkpoint`` writes beside the config, taken now: ``copy``
    makes it a snapshot that training may go on beside (``write_checkpoint`` it later)."""
    return training_state_contents(model, optimizer, scaler=scaler, copy=copy)


def write_checkpoint(path: Path, contents: tuple, config: dict, kept_epoch=None) -> None:
    """Write ``checkpoint_contents`` and ``config`` (of epoch ``config["epoch"]``) to ``path``
    as ``save_checkpoint`` does, with its errors. The config is encoded here, at the write: a
    snapshot that is never written never pays for it."""
    arrays, metadata = contents
    try:
        write_file(path, arrays, {**metadata, CONFIG_KEY: json.dumps(config)})
        log.debug("wrote %s (epoch %d)", path, config["epoch"])
    except OSError as error:
        kept = (f"the checkpoint of epoch {kept_epoch} in {path.parent} is intact; free some "
                f"space and continue with --resume {path.parent}" if kept_epoch is not None
                else "no checkpoint was written")
        raise CommandError(f"could not write {path} ({error.strerror or error}); "
                           f"{kept}") from None


def checkpoint_path(path) -> Path:
    """The checkpoint file of a run folder, or ``path`` itself when it is a file."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise CommandError(f"{path}: no such checkpoint; give a run folder written by "
                           f"'deeplite train' or its {CHECKPOINT}")
    if path.is_dir():
        raise CommandError(f"{path} is a folder, not a checkpoint file; the run folder is "
                           f"damaged (remove that folder or train again)")
    return path


def _damaged(path, what: str) -> CommandError:
    return CommandError(f"{path}: the run config is damaged ({what}); train the run again")


def check_config(path, config) -> dict:
    """``config`` after checking every field eval, predict and --resume use."""
    if not isinstance(config, dict):
        raise _damaged(path, "not a JSON object")
    if config.get("format") not in READABLE_FORMATS:
        raise CommandError(f"{path}: checkpoint format {config.get('format')!r}, expected "
                           f"{FORMAT}")
    for key, kinds in _SCHEMA.items():
        value = config.get(key)
        if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is not bool):
            raise _damaged(path, f"{key!r} is {value!r}")
    sizes = config["sizes"]
    if len(sizes) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                 for n in sizes):
        raise _damaged(path, f"layer sizes {sizes!r}")
    if config["activation"] not in ACTIVATIONS:
        raise _damaged(path, f"activation {config['activation']!r}")
    features = sizes[0]
    if len(config["feature_names"]) != features:
        raise _damaged(path, f"{len(config['feature_names'])} feature names for {features} inputs")
    for key in ("mean", "scale"):
        values = config["scaler"].get(key)
        if not (isinstance(values, list) and len(values) == features and all(
                isinstance(v, _NUMBER) and math.isfinite(v) for v in values)):
            raise _damaged(path, f"scaler {key}")
    make_task(config, path)  # checks the task's own fields
    return config


def make_task(config: dict, path=None):
    """The Classification or Regression a run config describes."""
    kind = config.get("task", "classification")
    try:
        if kind == "regression":
            scaler = config["target_scaler"]
            return Regression(float(scaler["mean"]), float(scaler["scale"]))
        if kind == "classification" and isinstance(config.get("classes"), list):
            task = Classification(len(config["classes"]))
            if task.n_outputs == config["sizes"][-1]:
                return task
    except (KeyError, TypeError, ValueError):
        pass
    raise _damaged(path, f"task {kind!r} with classes {config.get('classes')!r} and "
                         f"{config['sizes'][-1]} outputs")


def read_config(path: Path) -> dict:
    """The run config stored in a checkpoint's metadata, after verifying the whole file."""
    try:
        _, metadata = read_file(path)
    except serialization.CheckpointError as error:
        raise CommandError(f"not a readable checkpoint: {error}") from None
    if CONFIG_KEY not in metadata:
        raise CommandError(f"{path}: a safetensors file without a deeplite run config; only "
                           f"checkpoints written by 'deeplite train' can be evaluated")
    try:
        config = json.loads(metadata[CONFIG_KEY])
    except (ValueError, RecursionError):
        raise _damaged(path, "not JSON") from None
    return check_config(path, config)


def load_checkpoint(path, device: str) -> tuple:
    """(model on ``device``, config, standardizer, checkpoint path) from a checkpoint or run."""
    path = checkpoint_path(path)
    config = read_config(path)
    model = nn.MLP(config["sizes"], activation=config["activation"], device=device)
    try:
        serialization.load_training_state(str(path), model, restore_rng=False)
    except ValueError as error:  # CheckpointError (corrupt data, bad CRC) or mismatched shapes
        raise CommandError(f"{path}: cannot load the weights: {error}") from None
    scaler = Standardizer(np.asarray(config["scaler"]["mean"], dtype=np.float64),
                          np.asarray(config["scaler"]["scale"], dtype=np.float64))
    return model, config, scaler, path


def write_json(path: Path, payload: dict) -> None:
    """Write JSON atomically: a reader never sees half a file, even if the run is killed."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(json.dumps(payload, indent=2) + "\n")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"could not write {path} ({error.strerror or error}); the checkpoint "
                           f"in {path.parent} holds every finished epoch, and --resume "
                           f"{path.parent} rewrites {path.name} from it") from None
