"""deeplite.optim: optimizers with PyTorch's update rules and signatures, and lr schedulers.

SGD, Adam/AdamW, RMSprop and Adagrad update a parameter group with one fused backend kernel
(``sgd_step``, ``adam_step``, ``rmsprop_step``, ``adagrad_step``): native on the C++ and CUDA
backends, the reference composition on NumPy. NAdam and RAdam run a few array ops per parameter.

Example:
    >>> import deeplite
    >>> model, loss_fn = deeplite.nn.MLP([2, 16, 1]), deeplite.nn.MSELoss()
    >>> x, y = deeplite.randn(32, 2), deeplite.randn(32, 1)
    >>> optimizer = deeplite.optim.Adam(model.parameters(), lr=1e-3)
    >>> for step in range(3):
    ...     optimizer.zero_grad()
    ...     loss_fn(model(x), y).backward()
    ...     optimizer.step()
"""
from . import lr_scheduler  # noqa: F401
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "RMSprop", "Adagrad",
           "lr_scheduler"]
