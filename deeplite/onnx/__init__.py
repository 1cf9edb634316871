"""deeplite.onnx: export trained models to ONNX (needs ``deeplite[onnx]``: onnx, onnxruntime).

    >>> import deeplite, deeplite.onnx  # doctest: +SKIP
    >>> deeplite.onnx.export(model, deeplite.randn(1, 4), "model.onnx")  # doctest: +SKIP
"""
from .converters import UnsupportedLayerError
from .export import export

__all__ = ["export", "UnsupportedLayerError"]
