"""``python -m deeplite.cli``: the same as the ``deeplite`` console script."""
import sys

from . import main

sys.exit(main())
