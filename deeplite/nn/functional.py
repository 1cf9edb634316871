"""``deeplite.nn.functional``: the same functions as ``deeplite.functional`` (as
``torch.nn.functional``), re-exported so both import paths give the very same objects.
"""
from ..functional import *  # noqa: F401,F403  (the re-export is this module's job)
from ..functional import __all__  # noqa: F401
