"""``deeplite doctor``: print what works on this machine and how to fix what does not."""
from .. import doctor


def register(subparsers) -> None:
    """Add the ``doctor`` subcommand."""
    parser = subparsers.add_parser(
        "doctor", help="report versions, working backends, and fixes for the others",
        description="Report deeplite, Python and NumPy versions, which backends (cuda, cpu, numpy) "
                    "work here and, for each that does not, why and the fix; threads and the "
                    "default device.")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Print the report; exit 0 (a missing GPU is information, not an error)."""
    print(doctor.report())
    return 0
