"""deeplite.nn: modules, layers, losses, initialisation and training utilities.

Note the lecture's convention: ``Linear.weight`` has shape (in_features, out_features) and
``y = x @ weight + bias``.

Example:
    >>> import deeplite as dl
    >>> model = dl.nn.MLP([2, 16, 1])
    >>> x, y = dl.randn(8, 2), dl.tensor([0.0, 1.0] * 4)
    >>> loss = dl.nn.BCEWithLogitsLoss()(model(x).reshape(-1), y)
    >>> loss.backward()
"""
from . import functional, init, parallel, utils  # noqa: F401
from .activations import *  # noqa: F401,F403  GELU, SiLU, ELU, ... (deeplite/nn/activations.py)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .hooks import RemovableHandle
from .layers import (
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, LogisticLoss, MSELoss, l2_penalty
from .module import Module, Parameter
from .normalization import BatchNorm1d, LayerNorm, RMSNorm

__all__ = ["Module", "Parameter", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU",
           "Sigmoid", "Tanh", "Step", "Softmax", "Dropout", "MLP", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "MSELoss", "LogisticLoss", "l2_penalty", "functional", "init",
           "utils", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Flatten",
           "Unflatten", "LayerNorm", "RMSNorm", "BatchNorm1d", "Embedding", "RemovableHandle"]
