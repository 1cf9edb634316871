"""The ``deeplite`` command: ``train``, ``eval``, ``predict``, ``doctor`` and ``bench`` subcommands.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its parser
and sets ``func`` (the function that runs it and returns the exit status). Adding a subcommand is
adding a module and one name to ``COMMANDS``.

    $ deeplite train                     # an MLP on the digits dataset, best device
    $ deeplite eval runs/digits-...      # accuracy of a saved run on its held-out split
    $ deeplite predict CHECKPOINT new.csv
    $ deeplite doctor                    # which backends work here, and fixes for those that don't
    $ deeplite bench --quick             # the benchmark suite, from a source checkout
"""
import argparse
import errno
import importlib
import logging
import os
import sys

from .. import __version__
from ..data import DataError


class CommandError(Exception):
    """A user-facing failure of a subcommand: printed as one line, exit status 1, no traceback."""


# Subcommand name -> module in this package defining register(subparsers).
COMMANDS = {
    "train": "train_command",
    "eval": "eval_command",
    "predict": "eval_command",
    "doctor": "doctor_command",
    "bench": "bench_command",
    "export": "export_command",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="deeplite", description="Train, evaluate and diagnose deeplite models.")
    parser.add_argument("--version", action="version", version=f"deeplite {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show deeplite's debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered = set()
    for module_name in COMMANDS.values():
        if module_name not in registered:  # one module may register several subcommands
            importlib.import_module(f".{module_name}", __name__).register(subparsers)
            registered.add(module_name)
    return parser


def _log_debug_lines(verbose: bool) -> None:
    """Warnings from everyone; with ``-v`` deeplite's own debug lines (not matplotlib's)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)  # other libraries' debug lines stay hidden
    logging.getLogger("deeplite").setLevel(logging.DEBUG if verbose else logging.WARNING)


def _os_error_line(error: OSError) -> str:
    """An OSError as the one line a user needs: what failed on which file, and why."""
    where = f"{error.filename}: " if error.filename else ""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason += " (free some space, or write the run elsewhere with --out)"
    return f"{where}{reason}"


def main(argv=None) -> int:
    """Entry point of the ``deeplite`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_debug_lines(args.verbose)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (CommandError, DataError) as error:
        # Bad input or a failed run: the message says what and how to fix it; a traceback would
        # only bury it. Bugs (any other exception) keep their traceback.
        print(f"deeplite {args.command}: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # Output piped into a reader that stopped early (deeplite predict ... | head): not an
        # error. Point stdout at devnull so Python's exit-time flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        # The machine, not the code: a missing or unreadable file, a full disk, a read-only
        # folder. Name the file and the reason.
        print(f"deeplite {args.command}: error: {_os_error_line(error)}", file=sys.stderr)
        return 1
