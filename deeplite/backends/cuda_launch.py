"""Compiling, launching and guarding the cuda backend's kernels (imported once CuPy works).

The fused kernels live in ``deeplite/kernels/*.cu``: NVRTC compiles each file once per process
through ``cupy.RawModule`` (CuPy caches the result on disk); ``launch`` runs one on the current
stream with DL_BLOCK_THREADS threads per block. ``explain_out_of_memory`` wraps a kernel so CuPy's
out-of-memory error names the op, the inputs and what holds the memory.
"""
import functools
import hashlib
import pathlib

import cupy
import numpy

from . import cuda_probe

_KERNELS = pathlib.Path(__file__).resolve().parent.parent / "kernels"
# Kernel name suffixes by storage type: the fused kernels, the optimizer steps, the scatter-add.
SUFFIX = {numpy.dtype(numpy.float16): "f16", numpy.dtype(numpy.float32): "f32",
          numpy.dtype(numpy.float64): "f64"}
OPTIM_SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}
SEGMENT_SUFFIX = {**SUFFIX, numpy.dtype(numpy.int32): "i32", numpy.dtype(numpy.int64): "i64"}

_BLOCK = cuda_probe.block_threads()  # threads per block: every kernel's __launch_bounds__
# Grid-stride loops need only enough blocks to fill the GPU a few times over.
_MAX_BLOCKS = 16 * cupy.cuda.runtime.deviceGetAttribute(
    cupy.cuda.runtime.cudaDevAttrMultiProcessorCount, cupy.cuda.Device().id)


@functools.lru_cache(maxsize=None)
def _module(file: str):
    """deeplite/kernels/``file`` as a RawModule (NVRTC compiles it at the first kernel lookup)."""
    # CuPy's disk cache keys on the source and the options, not on included files: the headers'
    # digest, passed as a define, makes an edited header recompile.
    headers = b"".join(path.read_bytes() for path in sorted(_KERNELS.glob("*.h")))
    digest = hashlib.sha1(headers).hexdigest()[:16]
    options = ("--std=c++17", f"-I{_KERNELS}", f"-DDL_MATH_DIGEST=0x{digest}")
    return cupy.RawModule(code=(_KERNELS / file).read_text(), options=options)


@functools.lru_cache(maxsize=None)
def _kernel(file: str, name: str):
    """Kernel ``name`` of deeplite/kernels/``file``, compiled once per process, cached on disk."""
    try:
        return _module(file).get_function(name)
    except Exception as error:  # CompileException, or NVRTC missing: both mean the same to users
        raise RuntimeError(f"cuda: could not compile deeplite/kernels/{file} with NVRTC: {error}") \
            from error


def launch(file: str, name: str, blocks: int, *args) -> None:
    """Launch ``name`` on the current stream. CuPy passes Python ints as long long and Python floats
    as double, which is what every kernel takes (a NumPy float32 would arrive as 4 bytes: callers
    convert with int() and float())."""
    _kernel(file, name)((blocks,), (_BLOCK,), args)


def grid_for(threads: int) -> int:
    """Blocks for ``threads`` work items, capped (the kernels loop over the rest)."""
    return max(1, min(-(-threads // _BLOCK), _MAX_BLOCKS))


def suffix_of(*arrays, table=SUFFIX):
    """The kernel suffix when the arrays are C-contiguous CuPy arrays of one shape and one dtype in
    ``table``, else None (the caller then uses the reference composition)."""
    first = arrays[0]
    for a in arrays:
        if (not isinstance(a, cupy.ndarray) or a.dtype != first.dtype or a.shape != first.shape
                or not a.flags.c_contiguous):
            return None
    return table.get(first.dtype)


def aligned(*arrays) -> bool:
    """Whether every array starts on a 4-element boundary, so the kernels may load 4 at a time."""
    return all(a is None or a.data.ptr % (4 * a.itemsize) == 0 for a in arrays)


def _gib(size: int) -> str:
    return f"{size / 2 ** 30:.2f} GiB"


def _out_of_memory_message(op: str, args, error) -> str:
    """What ran out, what holds the memory, and what to do."""
    pool = cupy.get_default_memory_pool()
    free, total = cupy.cuda.runtime.memGetInfo()
    shapes = ", ".join(str(a.shape) for a in args if isinstance(a, cupy.ndarray)) or "none"
    return (f"{op}: CUDA out of memory: {error} Inputs of shape: {shapes}. deeplite holds "
            f"{_gib(pool.used_bytes())} in arrays and {_gib(pool.free_bytes())} cached; the GPU "
            f"has {_gib(free)} free of {_gib(total)}. Free tensors you no longer need, use a "
            f"smaller batch, or call deeplite.cuda.empty_cache().")


def explain_out_of_memory(op: str, kernel):
    """``kernel``, re-raising CuPy's out-of-memory error as a MemoryError that names the op."""
    def guarded(*args, **kwargs):
        try:
            return kernel(*args, **kwargs)
        except cupy.cuda.memory.OutOfMemoryError as error:
            raise MemoryError(_out_of_memory_message(op, args, error)) from None

    guarded.__name__ = guarded.__qualname__ = op
    guarded.__doc__ = kernel.__doc__
    return guarded
