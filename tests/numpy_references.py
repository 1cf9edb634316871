"""NumPy float64 references shared by the op tables (op_table.py, op_table_surface.py)."""
import numpy as np


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return 1 / (1 + np.exp(-x))


def softplus(x):
    """log(1 + exp(x)), stable."""
    return np.logaddexp(0, x)


def log_softmax(x, axis):
    """x - logsumexp(x) along ``axis``, stable."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reduce_loss(loss, reduction):
    """A per-element loss reduced as PyTorch's ``reduction`` says."""
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)
