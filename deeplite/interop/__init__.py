"""deeplite.interop: hand tensors to and from other array libraries without copies."""
from .dlpack import from_dlpack

__all__ = ["from_dlpack"]
