"""Named tuples returned by ops that give values and indices, as ``torch.return_types``.

``values, indices = t.max(dim=1)`` unpacks them; ``t.max(dim=1).values`` names a field.
"""
from collections import namedtuple

max = namedtuple("max", ["values", "indices"])  # noqa: A001  PyTorch's names
min = namedtuple("min", ["values", "indices"])  # noqa: A001
sort = namedtuple("sort", ["values", "indices"])
topk = namedtuple("topk", ["values", "indices"])
median = namedtuple("median", ["values", "indices"])
kthvalue = namedtuple("kthvalue", ["values", "indices"])
cummax = namedtuple("cummax", ["values", "indices"])
cummin = namedtuple("cummin", ["values", "indices"])
