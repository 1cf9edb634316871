"""float16 GEMMs on the cuda backend: cuBLAS on tensor cores with float32 accumulation.

CuPy's ``matmul`` calls ``cublasGemmEx``; its compute type per dtype is a process-wide CuPy
setting, pinned here to float32 for float16 inputs (what ``torch.autocast("cuda")`` does), so a
GEMM reads and writes float16 and sums in float32. CuPy has no bfloat16 dtype, so bfloat16 is not
offered on cuda. NOT RUN YET: written on a machine without a GPU.
"""
import functools


@functools.lru_cache(maxsize=1)
def use_float32_accumulation() -> None:
    """Make every float16 CuPy GEMM accumulate in float32 (once per process)."""
    import cupy
    import numpy

    linalg = cupy._core._routines_linalg
    cupy._core.set_compute_type(numpy.float16, linalg.COMPUTE_TYPE_FP32)
