"""``from deeplite.utils.data import DataLoader`` works as ``torch.utils.data`` does: the same
names as ``deeplite.data``, so a PyTorch script ports by renaming ``torch`` to ``deeplite``."""
from ..data import *  # noqa: F401,F403
from ..data import __all__  # noqa: F401
