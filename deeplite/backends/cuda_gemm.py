"""GEMMs issued straight to cuBLAS while a CUDA graph captures a step.

CuPy's cuBLAS wrappers refuse to run while a stream captures (``cublas.setStream`` raises
"calling cuBLAS API during stream capture is currently unsupported", cupy/cupy#6290), yet cuBLAS
itself supports capture when the handle has a user workspace. So, during capture only, deeplite
calls the libcublas CuPy loaded through ctypes, on CuPy's own handle, as PyTorch does for its
graphs: ``cublasSetStream_v2`` to the capturing stream, ``cublasSetWorkspace_v2`` to a buffer
the graph owns, then ``cublasGemmEx`` (``cublasGemmStridedBatchedEx`` for batches), and finally
the handle's old stream back (which also restores cuBLAS's default workspace).

cuBLAS is column-major and deeplite's arrays are indexed row-major: C = A @ B is computed as
C^T = B^T A^T, which reads every buffer as it lies. ``plan`` works that out from shapes and
strides alone (no CuPy), so the CPU tests check it against NumPy.
"""
import ctypes
import ctypes.util
import os
from dataclasses import dataclass
from typing import Callable, Dict

import numpy

OP_N, OP_T = 0, 1  # cublasOperation_t
DATA_TYPE = {numpy.dtype(numpy.float16): 2, numpy.dtype(numpy.float32): 0,
             numpy.dtype(numpy.float64): 1}  # cudaDataType: CUDA_R_16F, CUDA_R_32F, CUDA_R_64F
COMPUTE_32F, COMPUTE_32F_FAST_TF32, COMPUTE_64F = 68, 77, 70  # cublasComputeType_t
GEMM_DEFAULT = -1  # cublasGemmAlgo_t
STATUS = {0: "CUBLAS_STATUS_SUCCESS", 1: "CUBLAS_STATUS_NOT_INITIALIZED",
          3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
          8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR",
          13: "CUBLAS_STATUS_EXECUTION_FAILED", 14: "CUBLAS_STATUS_INTERNAL_ERROR",
          15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR"}
INT_MAX = 2 ** 31 - 1  # cuBLAS's m, n, k and leading dimensions are C ints


class CublasError(RuntimeError):
    """A cuBLAS call made during graph capture returned an error status."""


@dataclass(frozen=True)
class GemmPlan:
    """Arguments of one column-major cuBLAS call computing row-major C (m x n) = A (m x k) @ B."""

    transa: int  # applies to cuBLAS's first operand, which is our B
    transb: int  # applies to cuBLAS's second operand, our A
    m: int  # cuBLAS's m = our n
    n: int  # cuBLAS's n = our m
    k: int
    lda: int
    ldb: int
    ldc: int


def operand_layout(rows: int, cols: int, strides):
    """How cuBLAS reads an operand of logical shape (rows, cols) with element ``strides`` as the
    transpose a swapped product needs: (OP_N, ld) when it lies row by row, (OP_T, ld) when it is
    a transposed view (column by column), None when neither (the caller copies it)."""
    s0, s1 = strides
    if s0 < 0 or s1 < 0:
        return None
    if (s1 == 1 or cols == 1) and (s0 >= cols or rows == 1):
        return OP_N, max(1, cols if rows == 1 else s0)
    if (s0 == 1 or rows == 1) and (s1 >= rows or cols == 1):
        return OP_T, max(1, rows if cols == 1 else s1)
    return None


def element_strides(array_strides, itemsize: int):
    """Byte strides as element strides, or None when one is not a whole number of elements."""
    if any(s % itemsize for s in array_strides):
        return None
    return tuple(s // itemsize for s in array_strides)


def plan(a_shape, a_strides, b_shape, b_strides):
    """The GemmPlan for 2-D A (m, k) @ B (k, n) with element strides, or None if an operand
    must be copied to a contiguous layout first. Raises ValueError past cuBLAS's int range."""
    (m, k), (k2, n) = a_shape, b_shape
    if k != k2:
        raise ValueError(f"matmul: shapes {tuple(a_shape)} and {tuple(b_shape)} are not aligned")
    first, second = operand_layout(k, n, b_strides), operand_layout(m, k, a_strides)
    if first is None or second is None:
        return None
    result = GemmPlan(first[0], second[0], n, m, k, first[1], second[1], max(1, n))
    if max(m, n, k, result.lda, result.ldb) > INT_MAX:
        raise ValueError(f"matmul: shapes {tuple(a_shape)} @ {tuple(b_shape)} exceed the 32-bit "
                         f"sizes cuBLAS takes during CUDA-graph capture; split the product")
    return result


def mapped_library(maps_text: str, stem: str = "libcublas.so"):
    """The path of the ``stem`` library this process has mapped (from /proc/self/maps), or None."""
    for line in maps_text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and os.path.basename(fields[-1]).startswith(stem):
            return fields[-1]
    return None


def _read_maps() -> str:
    try:
        with open("/proc/self/maps") as maps:
            return maps.read()
    except OSError:  # not Linux
        return ""


def find_cublas(maps_text=None, find_library=ctypes.util.find_library) -> str:
    """The libcublas CuPy loaded (mapped in this process), else the system's; RuntimeError if none.

    The same file means the same loaded copy (dlopen counts references), so CuPy's handle is
    valid in it.
    """
    path = mapped_library(_read_maps() if maps_text is None else maps_text)
    path = path or find_library("cublas")
    if not path:
        raise RuntimeError("CUDA graph capture: cannot find libcublas, which deeplite calls to "
                           "issue GEMMs during graph capture (CuPy's cuBLAS wrappers refuse to run "
                           "then); install cuBLAS (pip install 'cupy-cuda13x[ctk]' or the CUDA "
                           "toolkit) or capture a step without matmuls")
    return path


class Cublas:
    """The few libcublas entry points deeplite calls, with their C prototypes."""

    cublasGetStream_v2: Callable[..., int]
    cublasSetStream_v2: Callable[..., int]
    cublasSetWorkspace_v2: Callable[..., int]
    cublasGemmEx: Callable[..., int]
    cublasGemmStridedBatchedEx: Callable[..., int]

    def __init__(self, library):
        self.library = library
        p, i, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
        prototypes = {
            "cublasGetStream_v2": [p, ctypes.POINTER(p)],
            "cublasSetStream_v2": [p, p],
            "cublasSetWorkspace_v2": [p, p, ctypes.c_size_t],
            "cublasGemmEx": [p, i, i, i, i, i, p, p, i, i, p, i, i, p, p, i, i, i, i],
            "cublasGemmStridedBatchedEx": [p, i, i, i, i, i, p, p, i, i, i64, p, i, i, i64, p, p,
                                           i, i, i64, i, i, i],
        }
        for name, argtypes in prototypes.items():
            function = getattr(library, name)
            function.argtypes, function.restype = argtypes, ctypes.c_int
            setattr(self, name, function)

    @staticmethod
    def check(status: int, call: str) -> None:
        """Raise CublasError naming ``call`` and the status when cuBLAS reports a failure."""
        if status:
            raise CublasError(f"cuBLAS {call} failed during CUDA-graph capture with "
                              f"{STATUS.get(status, 'status')} ({status})")


def scalars(dtype, tf32: bool):
    """(compute type, alpha, beta) for ``dtype``; float16 data is multiplied in float32."""
    if numpy.dtype(dtype) == numpy.float64:
        return COMPUTE_64F, ctypes.c_double(1.0), ctypes.c_double(0.0)
    fast = tf32 and numpy.dtype(dtype) == numpy.float32
    compute = COMPUTE_32F_FAST_TF32 if fast else COMPUTE_32F
    return compute, ctypes.c_float(1.0), ctypes.c_float(0.0)


_LOADED: Dict[str, Cublas] = {}  # path -> Cublas: one set of prototypes per process


def _cublas() -> Cublas:
    path = find_cublas()
    if path not in _LOADED:
        _LOADED[path] = Cublas(ctypes.CDLL(path))
    return _LOADED[path]


# Each graph owns one workspace for its GEMMs; 32 MiB is cuBLAS's advice for Hopper (4 MiB before).
WORKSPACE_BYTES = 32 << 20


class GraphCapture:
    """matmul for one capture on ``stream``: straight to cuBLAS, with a workspace the graph owns.

    Built before capture begins (creating CuPy's handle and loading libcublas allocate), under
    the graph's allocator, so the workspace lives in the graph's memory pool.
    """

    def __init__(self, cupy, stream, tf32: bool):
        self.cupy, self.stream, self.tf32 = cupy, stream, tf32
        self.cublas = _cublas()
        self.handle = cupy.cuda.device.get_cublas_handle()
        self.workspace = cupy.empty(WORKSPACE_BYTES, dtype=numpy.uint8)

    def matmul(self, a, b):
        """``a @ b`` with NumPy's matmul rules (1-D operands, broadcast batches, promotion)."""
        cupy = self.cupy
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: an operand is a scalar (0-d); use mul for scalars")
        dtype = numpy.result_type(a.dtype, b.dtype)
        if dtype not in DATA_TYPE:
            raise TypeError(f"matmul: CUDA-graph capture multiplies float16/32/64 only, got "
                            f"{a.dtype} @ {b.dtype}")
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        vector_a, vector_b = a.ndim == 1, b.ndim == 1
        a = a[None, :] if vector_a else a
        b = b[:, None] if vector_b else b
        (m, k), (k2, n) = a.shape[-2:], b.shape[-2:]
        if k != k2:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
        batch = tuple(numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        count = int(numpy.prod(batch, dtype=numpy.int64))
        out = cupy.empty(batch + (m, n), dtype)
        if out.size and k == 0:
            out.fill(0)
        elif out.size:
            self._gemm(cupy.broadcast_to(a, batch + (m, k)).reshape(count, m, k),
                       cupy.broadcast_to(b, batch + (k, n)).reshape(count, k, n),
                       out.reshape(count, m, n))
        if vector_a and vector_b:
            return out.reshape(batch)
        return out[..., 0, :] if vector_a else (out[..., 0] if vector_b else out)

    def _gemm(self, a, b, c) -> None:
        """c[i] = a[i] @ b[i] for the (count, rows, cols) arrays; c is C-contiguous."""
        strides = [element_strides(x.strides, x.itemsize) for x in (a, b)]
        chosen = None if None in strides else plan(a.shape[1:], strides[0][1:], b.shape[1:],
                                                  strides[1][1:])
        if chosen is None:  # a layout cuBLAS cannot read in place: copy once (a captured kernel)
            a, b = self.cupy.ascontiguousarray(a), self.cupy.ascontiguousarray(b)
            strides = [element_strides(x.strides, x.itemsize) for x in (a, b)]
            chosen = plan(a.shape[1:], strides[0][1:], b.shape[1:], strides[1][1:])
        self._call(chosen, a, b, c, strides[0][0], strides[1][0])

    def _call(self, p: GemmPlan, a, b, c, stride_a: int, stride_b: int) -> None:
        cublas, handle, count = self.cublas, self.handle, c.shape[0]
        compute, alpha, beta = scalars(c.dtype, self.tf32)
        kind = DATA_TYPE[c.dtype]
        old = ctypes.c_void_p()
        cublas.check(cublas.cublasGetStream_v2(handle, ctypes.byref(old)), "cublasGetStream_v2")
        cublas.check(cublas.cublasSetStream_v2(handle, self.stream.ptr), "cublasSetStream_v2")
        try:
            cublas.check(cublas.cublasSetWorkspace_v2(handle, self.workspace.data.ptr,
                                                      self.workspace.nbytes),
                         "cublasSetWorkspace_v2")
            if count == 1:
                cublas.check(cublas.cublasGemmEx(
                    handle, p.transa, p.transb, p.m, p.n, p.k, ctypes.byref(alpha), b.data.ptr,
                    kind, p.lda, a.data.ptr, kind, p.ldb, ctypes.byref(beta), c.data.ptr, kind,
                    p.ldc, compute, GEMM_DEFAULT), "cublasGemmEx")
            else:
                cublas.check(cublas.cublasGemmStridedBatchedEx(
                    handle, p.transa, p.transb, p.m, p.n, p.k, ctypes.byref(alpha), b.data.ptr,
                    kind, p.lda, stride_b, a.data.ptr, kind, p.ldb, stride_a, ctypes.byref(beta),
                    c.data.ptr, kind, p.ldc, p.m * p.n, count, compute, GEMM_DEFAULT),
                    "cublasGemmStridedBatchedEx")
        finally:  # the handle as CuPy left it; setting a stream also restores the default workspace
            cublas.check(cublas.cublasSetStream_v2(handle, old.value), "cublasSetStream_v2")
