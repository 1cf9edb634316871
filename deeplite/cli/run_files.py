"""A run folder: the checkpoint (weights + the run's config), ``metrics.json`` and the plots.

The checkpoint is a deeplite training state (``deeplite.serialization.save_training_state``:
``model.*`` weights, optimizer buffers, the random generator), written atomically. What ``eval``
and ``predict`` need to rebuild the model and its input scaling (layer sizes, activation, class
names, feature names, standardisation statistics) rides in the file's metadata as JSON.
"""
import json
import os
import time
from pathlib import Path

import numpy as np

from .. import nn, serialization
from ..data import Standardizer
from . import CommandError

CHECKPOINT = "checkpoint.safetensors"
METRICS = "metrics.json"
CURVES = "curves.png"
DIAGNOSTICS = "diagnostics.png"
CONFIG_KEY = "deeplite_run"  # metadata key holding the run's JSON config
FORMAT = "deeplite-run/1"


def new_run_dir(out, dataset_name: str) -> Path:
    """``out`` (created), or a fresh ``runs/<dataset>-<timestamp>`` folder when ``out`` is None."""
    if out is not None:
        path = Path(out)
    else:
        stem = Path(dataset_name).stem if dataset_name.endswith((".csv", ".npz")) else dataset_name
        path = Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        suffix = 2
        while path.exists():  # two runs in the same second
            path = path.with_name(f"{path.name.rsplit('~', 1)[0]}~{suffix}")
            suffix += 1
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_checkpoint(path: Path, model, optimizer, config: dict) -> None:
    """Write weights, optimizer state and ``config`` atomically (written aside, then renamed)."""
    serialization.save_training_state(str(path), model, optimizer,
                                      {CONFIG_KEY: json.dumps(config)})


def checkpoint_path(path) -> Path:
    """The checkpoint file of a run folder, or ``path`` itself when it is a file."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise CommandError(f"{path}: no such checkpoint; give a run folder written by "
                           f"'deeplite train' or its {CHECKPOINT}")
    return path


def read_config(path: Path) -> dict:
    """The run config stored in a checkpoint's metadata."""
    try:
        metadata = serialization.load_metadata(path)
    except serialization.CheckpointError as error:
        raise CommandError(f"{path}: not a readable checkpoint (damaged or truncated?): "
                           f"{error}") from None
    if CONFIG_KEY not in metadata:
        raise CommandError(f"{path}: a safetensors file without a deeplite run config; only "
                           f"checkpoints written by 'deeplite train' can be evaluated")
    config = json.loads(metadata[CONFIG_KEY])
    if config.get("format") != FORMAT:
        raise CommandError(f"{path}: checkpoint format {config.get('format')!r}, expected {FORMAT}")
    return config


def load_checkpoint(path, device: str) -> tuple:
    """(model on ``device``, config, standardizer) rebuilt from a checkpoint or run folder."""
    path = checkpoint_path(path)
    config = read_config(path)
    model = nn.MLP(config["sizes"], activation=config["activation"], device=device)
    try:
        serialization.load_training_state(str(path), model, restore_rng=False)
    except ValueError as error:  # CheckpointError (corrupt data, bad CRC) or mismatched shapes
        raise CommandError(f"{path}: cannot load the weights: {error}") from None
    scaler = Standardizer(np.asarray(config["scaler"]["mean"], dtype=np.float64),
                          np.asarray(config["scaler"]["scale"], dtype=np.float64))
    return model, config, scaler


def write_json(path: Path, payload: dict) -> None:
    """Write JSON atomically: a reader never sees half a file, even if the run is killed."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(temporary, path)
