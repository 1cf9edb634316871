"""``deeplite bench``: run the benchmark suite, which lives in a source checkout's ``benchmarks/``.

The suite is not part of the installed package (it needs PyTorch as a peer, matplotlib for plots
and a checkout's build). ``deeplite bench ARGS`` runs ``python -m benchmarks ARGS`` when it can
find the suite: in the current folder, or beside the deeplite it imports (an editable install);
otherwise it says how to get it.
"""
import importlib
import sys
from pathlib import Path

from . import CommandError

HOW_TO = ("the benchmark suite ships with deeplite's source, not with the installed package: "
          "clone the repository and, in its folder, run `python -m benchmarks --quick` "
          "(or `deeplite bench --quick` there)")


def register(subparsers) -> None:
    """Add the ``bench`` subcommand; every argument after it goes to the suite unchanged."""
    parser = subparsers.add_parser(
        "bench", help="benchmark deeplite beside NumPy and PyTorch (python -m benchmarks)",
        description="Run the benchmark suite of a source checkout (python -m benchmarks); every "
                    "argument goes to it unchanged. `deeplite bench --help` shows this and the "
                    "suite's own options.",
        add_help=False, prefix_chars="\0")  # no option of its own: --quick, --help... pass through
    parser.add_argument("bench_args", nargs="*", metavar="ARGS",
                        help="arguments for python -m benchmarks, e.g. --quick")
    parser.set_defaults(func=run, parser=parser)


def checkout_folders() -> list:
    """Folders that may hold ``benchmarks/``: the current one, then the one above deeplite."""
    return [Path.cwd(), Path(__file__).resolve().parents[2]]


def load_suite():
    """``benchmarks.__main__.main`` from the first checkout found, or None when there is none."""
    for folder in checkout_folders():
        if (folder / "benchmarks" / "__main__.py").is_file():
            sys.path.insert(0, str(folder))
            return importlib.import_module("benchmarks.__main__").main
    return None


def run(args) -> int:
    """Forward the arguments to the suite; its exit status. ``--help`` is deeplite's own."""
    if args.bench_args in (["--help"], ["-h"]):
        print(args.parser.format_help())
        main = load_suite()
        if main is None:
            print(HOW_TO)
        else:
            print("The suite's options (python -m benchmarks --help):\n")
            try:
                main(["--help"])
            except SystemExit:  # argparse's --help exits after printing
                pass
        return 0
    main = load_suite()
    if main is None:
        raise CommandError(HOW_TO)
    return main(args.bench_args)
