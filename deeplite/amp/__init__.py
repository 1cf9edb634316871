"""Mixed precision: ``autocast`` (float16/bfloat16 GEMMs, float32 everything else) and
``GradScaler`` (dynamic loss scaling), with PyTorch's names and semantics. See docs/amp.md."""
from .autocast_mode import autocast, get_autocast_dtype, is_autocast_enabled
from .grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
