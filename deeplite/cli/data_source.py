"""Where a run's data came from, so ``deeplite eval RUN`` finds it from any folder.

A run trained on a file records the file's absolute path, its path relative to the run folder,
and a SHA-256 of its content. Evaluating later, the file is looked for at the absolute path, then
relative to the run folder (a project folder moved or copied as a whole), and a changed content
is reported: the held-out split of a changed file is not the run's held-out split.
"""
import hashlib
import os
from pathlib import Path

from .sources import BUILTIN


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(dataset: str, run_dir: Path):
    """The record of a file ``dataset`` for the run config; None for a built-in dataset."""
    if dataset in BUILTIN:
        return None
    path = Path(dataset).resolve()
    return {"absolute": str(path), "relative_to_run": os.path.relpath(path, run_dir.resolve()),
            "sha256": file_digest(path)}


def locate(config: dict, run_dir: Path) -> tuple:
    """(what to load for the run's own dataset, a note for the user or None).

    Raises FileNotFoundError naming both places looked at when the file is gone.
    """
    record = config.get("data_file")
    if record is None:  # a built-in dataset, or a run of deeplite 0.1 (its name as given)
        return config["dataset"], None
    candidates = [Path(record["absolute"]), run_dir / record["relative_to_run"]]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"the run's data file is gone: looked at {candidates[0]} and "
                                f"{candidates[1]}; pass --dataset PATH")
    if file_digest(found) != record["sha256"]:
        return str(found), (f"note: {found} changed since the run was trained (its SHA-256 "
                            f"differs): the held-out split is of the new content")
    return str(found), None


def same_file(dataset: str, config: dict) -> bool:
    """Whether ``--dataset`` names the run's own data (the same built-in or the same file)."""
    record = config.get("data_file")
    if record is None:
        return dataset == config["dataset"]
    return Path(dataset).resolve() == Path(record["absolute"])
