"""``deeplite.nn.functional`` is ``deeplite.functional`` itself (as ``torch.nn.functional``).

The module replaces itself in ``sys.modules`` with ``deeplite.functional``, so both names are one
object: ``import deeplite.nn.functional as F`` and ``from deeplite import functional as F`` agree,
and every function added to ``deeplite.functional`` appears here without a second list.
"""
import sys
from typing import TYPE_CHECKING

from .. import functional as _functional

if TYPE_CHECKING:  # let type checkers see the names the replacement module provides
    from ..functional import *  # noqa: F401,F403

sys.modules[__name__] = _functional
