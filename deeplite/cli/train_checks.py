"""``deeplite train``'s options checked before any work: one line naming the option and the fix."""
import math
import sys

from . import CommandError


def parse_hidden(text: str) -> list:
    """"128,128" -> [128, 128]; "" -> [] (a linear model); "128,,64" and "16,x" are refused."""
    if not text.strip():
        return []
    parts = [part.strip() for part in text.split(",")]
    try:
        if any(not part for part in parts):
            raise ValueError
        widths = [int(part) for part in parts]
    except ValueError:
        raise CommandError(f"--hidden {text!r}: expected comma-separated integers such as "
                           f"128,128 (or '' for a linear model)") from None
    if any(width < 1 for width in widths):
        raise CommandError(f"--hidden {text!r}: layer widths must be positive")
    return widths


def check_numbers(args) -> None:
    """Refuse options outside their meaningful range; warn on a learning rate of 0."""
    for option, value in (("--lr", args.lr), ("--momentum", args.momentum),
                          ("--weight-decay", args.weight_decay),
                          ("--test-fraction", args.test_fraction)):
        if value is not None and not math.isfinite(value):
            raise CommandError(f"{option} {value}: must be a finite number")
    if args.lr is not None and args.lr < 0:
        raise CommandError(f"--lr {args.lr:g}: the learning rate must be positive (a negative "
                           f"one climbs the loss); try 0.001 for adam, 0.1 for sgd")
    if args.lr == 0:
        print("deeplite train: warning: --lr 0: the weights will not change; the run only "
              "measures the initial model", file=sys.stderr)
    if args.momentum < 0:
        raise CommandError(f"--momentum {args.momentum:g}: must be 0 or more, e.g. 0.9")
    if args.weight_decay < 0:
        raise CommandError(f"--weight-decay {args.weight_decay:g}: must be 0 or more, e.g. 1e-4")
    if not 0 < args.test_fraction < 1:
        raise CommandError(f"--test-fraction {args.test_fraction:g}: must be between 0 and 1 "
                           f"(exclusive), e.g. 0.2; a run needs both training and test samples")
    if args.epochs < 1 or args.batch_size < 1:
        raise CommandError("--epochs and --batch-size must be at least 1")
