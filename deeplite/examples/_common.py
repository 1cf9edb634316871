"""What every example shares: its command line (--out, --seed) and saving its figure."""
import argparse
from pathlib import Path

from ..plotting import pyplot

__all__ = ["parser", "pyplot", "save"]


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every example takes."""
    result = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    result.add_argument("--out", default=".", help="folder for the PNG")
    result.add_argument("--seed", type=int, default=0)
    return result


def save(figure, out: str, name: str) -> Path:
    """Save ``figure`` as ``out/name``, close it, print and return the path."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot().close(figure)
    print(f"saved {path}")
    return path
