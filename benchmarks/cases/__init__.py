"""The case families, in the order a run takes them; each module has ``run(ctx)`` yielding groups
of records (one group per case and shape, every contender in it) and ``IN_QUICK``.
"""
import importlib

FAMILIES = ("overhead", "gemm", "activations", "losses", "optimizers", "kernels", "training",
            "scaling", "memory", "tensorboard", "gpu", "distributed", "contention", "amp")


def load(family: str):
    """The module of one case family."""
    if family not in FAMILIES:
        raise ValueError(f"unknown case family {family!r}; choose from {', '.join(FAMILIES)}")
    return importlib.import_module(f".{family}", __name__)
