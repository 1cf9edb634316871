"""bfloat16 GEMMs on the CPU through oneDNN's matmul primitive, called by ctypes (C API, v3).

The ``onednn-cpu-gomp`` wheel (extra ``deeplite[bf16]``) ships only ``libdnnl.so`` (no headers), on
GNU OpenMP like deeplite's own kernels, so the few C entry points used are declared here. A
primitive is created once per (shapes, strides, dtypes, bias, activation) and cached: creation
costs milliseconds, execution microseconds. Nothing here is imported by ``import deeplite``.
"""
import ctypes
import functools
import weakref

import numpy as np

from .onednn_library import library_path

# Enum values from oneDNN 3.x's dnnl_types.h.
_DATA_TYPES = {"bfloat16": 2, "float16": 1, "float32": 3}
_CPU_ENGINE = 1
_IN_ORDER_STREAM = 1
_QUERY_IMPL_INFO = 8
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_BIAS, _ARG_SCRATCHPAD = 1, 17, 33, 41, 80
_QUERY_SCRATCHPAD_MD = 136
_USER_SCRATCHPAD = 1
# Post-op eltwise algorithms (alpha, beta): relu's alpha is leaky_relu's slope; soft_relu's alpha
# of 1 is softplus.
_ELTWISE = {"relu": (0x20, 0.0), "leaky_relu": (0x20, None), "tanh": (0x21, 0.0),
            "softplus": (0x27, 1.0), "sigmoid": (0x29, 0.0)}


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


class OneDNN:
    """One CPU engine and stream of libdnnl, and a cache of matmul primitives."""

    def __init__(self, path: str):
        self.lib = lib = ctypes.CDLL(path)
        vp = ctypes.c_void_p
        lib.dnnl_primitive_desc_query.argtypes = [vp, ctypes.c_int, ctypes.c_int, vp]
        lib.dnnl_primitive_execute.argtypes = [vp, vp, ctypes.c_int, ctypes.POINTER(_ExecArg)]
        lib.dnnl_memory_set_data_handle.argtypes = [vp, vp]
        lib.dnnl_memory_desc_create_with_strides.argtypes = [
            ctypes.POINTER(vp), ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_int,
            ctypes.POINTER(ctypes.c_int64)]
        lib.dnnl_matmul_primitive_desc_create.argtypes = [ctypes.POINTER(vp), vp, vp, vp, vp, vp,
                                                          vp]
        lib.dnnl_reorder_primitive_desc_create.argtypes = [ctypes.POINTER(vp), vp, vp, vp, vp,
                                                           vp]
        lib.dnnl_primitive_desc_query_md.argtypes = [vp, ctypes.c_int, ctypes.c_int]
        lib.dnnl_primitive_desc_query_md.restype = vp
        lib.dnnl_memory_desc_get_size.argtypes = [vp]
        lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        lib.dnnl_post_ops_append_eltwise.argtypes = [vp, ctypes.c_int, ctypes.c_float,
                                                     ctypes.c_float]
        self.engine, self.stream = vp(), vp()
        self._check(lib.dnnl_engine_create(ctypes.byref(self.engine), _CPU_ENGINE, 0),
                    "engine_create")
        self._check(lib.dnnl_stream_create(ctypes.byref(self.stream), self.engine,
                                           _IN_ORDER_STREAM), "stream_create")
        self._cache: dict = {}
        self._scratchpads: list = []
        # oneDNN on OpenMP runs omp_get_max_threads() threads; deeplite's kernels instead pass
        # their count per region (DEEPLITE_NUM_THREADS), so the count is handed over explicitly.
        self._omp_set_num_threads = ctypes.CDLL("libgomp.so.1").omp_set_num_threads
        self._threads = 0

    def set_threads(self, count: int) -> None:
        """Run oneDNN's primitives on ``count`` OpenMP threads (deeplite's own thread count)."""
        if count != self._threads:
            self._omp_set_num_threads(int(count))
            self._threads = count

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise RuntimeError(f"oneDNN: dnnl_{what} failed with status {status}")

    def _desc(self, shape, strides, dtype):
        """A memory descriptor; ``dtype`` a NumPy dtype or its name."""
        desc = ctypes.c_void_p()
        dims = (ctypes.c_int64 * len(shape))(*shape)
        steps = (ctypes.c_int64 * len(shape))(*strides)
        self._check(self.lib.dnnl_memory_desc_create_with_strides(
            ctypes.byref(desc), len(shape), dims, _DATA_TYPES[getattr(dtype, "name", dtype)],
            steps),
            "memory_desc_create_with_strides")
        return desc

    def _memory(self, desc):
        memory = ctypes.c_void_p()
        # DNNL_MEMORY_NONE (null handle): the data pointer is set on every call.
        self._check(self.lib.dnnl_memory_create(ctypes.byref(memory), desc, self.engine, None),
                    "memory_create")
        return memory

    def _primitive(self, key):
        """(primitive, memories, implementation name) for one matmul signature, cached."""
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        (a_shape, a_strides, a_type), (b_shape, b_strides, b_type), out_type, bias_type, act, \
            slope = key
        m, n = a_shape[0], b_shape[1]
        descs = [self._desc(a_shape, a_strides, a_type), self._desc(b_shape, b_strides, b_type),
                 self._desc((m, n), (n, 1), out_type)]
        bias_desc = self._desc((1, n), (n, 1), bias_type) if bias_type is not None else None
        attr = ctypes.c_void_p()
        self._check(self.lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attr_create")
        # A scratchpad owned here, one per primitive: oneDNN's own is allocated per call, and
        # alternating GEMMs of different sizes then page-faults fresh memory every time (the 8
        # GEMMs of step (a) took 12 ms in sequence against 3.2 ms one by one).
        self._check(self.lib.dnnl_primitive_attr_set_scratchpad_mode(attr, _USER_SCRATCHPAD),
                    "attr_set_scratchpad_mode")
        if act != "identity":
            post_ops = ctypes.c_void_p()
            self._check(self.lib.dnnl_post_ops_create(ctypes.byref(post_ops)), "post_ops_create")
            algorithm, alpha = _ELTWISE[act]
            self._check(self.lib.dnnl_post_ops_append_eltwise(
                post_ops, algorithm, slope if alpha is None else alpha, 0.0), "append_eltwise")
            self._check(self.lib.dnnl_primitive_attr_set_post_ops(attr, post_ops),
                        "attr_set_post_ops")
            self.lib.dnnl_post_ops_destroy(post_ops)
        pd, primitive = ctypes.c_void_p(), ctypes.c_void_p()
        self._check(self.lib.dnnl_matmul_primitive_desc_create(
            ctypes.byref(pd), self.engine, descs[0], descs[1], bias_desc, descs[2], attr),
            "matmul_primitive_desc_create")
        name = ctypes.c_char_p()
        self.lib.dnnl_primitive_desc_query(pd, _QUERY_IMPL_INFO, 0, ctypes.byref(name))
        self._check(self.lib.dnnl_primitive_create(ctypes.byref(primitive), pd),
                    "primitive_create")
        self.lib.dnnl_primitive_attr_destroy(attr)
        memories = [self._memory(d) for d in descs + ([bias_desc] if bias_desc else [])]
        slots = [_ARG_SRC, _ARG_WEIGHTS, _ARG_DST] + ([_ARG_BIAS] if bias_desc else [])
        scratch_desc = ctypes.c_void_p(
            self.lib.dnnl_primitive_desc_query_md(pd, _QUERY_SCRATCHPAD_MD, 0))
        scratch = np.empty(self.lib.dnnl_memory_desc_get_size(scratch_desc), np.uint8)
        scratch_memory = ctypes.c_void_p()
        self._check(self.lib.dnnl_memory_create(
            ctypes.byref(scratch_memory), scratch_desc, self.engine,
            scratch.ctypes.data_as(ctypes.c_void_p)), "memory_create")
        pairs = list(zip(slots, memories, strict=True)) + [(_ARG_SCRATCHPAD, scratch_memory)]
        args = (_ExecArg * len(pairs))(*(_ExecArg(slot, memory) for slot, memory in pairs))
        self._scratchpads.append(scratch)  # alive as long as the primitive
        cached = self._cache[key] = (primitive, memories, args, (name.value or b"?").decode())
        return cached

    def matmul(self, a: np.ndarray, b: np.ndarray, out_dtype, bias=None, act="identity",
               slope=0.0) -> np.ndarray:
        """act(a @ b + bias) for 2-D a (M, K), b (K, N) of any strides, float32 accumulation."""
        out = np.empty((a.shape[0], b.shape[1]), out_dtype)
        primitive, memories, args, _ = self._primitive(self._key(a, b, out, bias, act, slope))
        arrays = (a, b, out) if bias is None else (a, b, out, bias)
        for memory, array in zip(memories, arrays, strict=True):
            self.lib.dnnl_memory_set_data_handle(memory, array.ctypes.data)
        self._check(self.lib.dnnl_primitive_execute(primitive, self.stream, len(args), args),
                    "primitive_execute")
        self._check(self.lib.dnnl_stream_wait(self.stream), "stream_wait")
        return out

    def bind_matmul(self, a, b, out, bias=None, act="identity", slope=0.0):
        """A zero-argument callable writing ``matmul(a, b, ...)`` into ``out``, on these very
        arrays (deeplite.jit's replay buffers): its own memory objects, the cached primitive."""
        primitive, memories, args, _ = self._primitive(self._key(a, b, out, bias, act, slope))
        arrays = (a, b, out) if bias is None else (a, b, out, bias.reshape(1, -1))
        return self._bound(primitive, memories, args, arrays)

    def bind_convert(self, a, out):
        """A zero-argument callable writing ``convert(a, out.dtype)`` into ``out``."""
        self.convert(a, out.dtype)  # creates (or finds) the reorder primitive
        primitive, memories, args, _ = self._cache[_reorder_key(a, out)]
        return self._bound(primitive, memories, args, (a, out))

    def _bound(self, primitive, memories, args, arrays):
        """Execute ``primitive`` on fresh memory objects holding ``arrays`` (the scratchpad, if
        any, stays the primitive's)."""
        lib, bound, fresh_memories = self.lib, (_ExecArg * len(args))(), []
        for index, pair in enumerate(args):
            bound[index].arg, bound[index].memory = pair.arg, pair.memory
        for index, (memory, array) in enumerate(zip(memories, arrays, strict=True)):
            desc, fresh = ctypes.c_void_p(), ctypes.c_void_p()
            self._check(lib.dnnl_memory_get_memory_desc(memory, ctypes.byref(desc)),
                        "memory_get_memory_desc")
            self._check(lib.dnnl_memory_create(ctypes.byref(fresh), desc, self.engine,
                                               ctypes.c_void_p(array.ctypes.data)),
                        "memory_create")
            bound[index].memory = fresh.value
            fresh_memories.append(fresh)
        execute, wait, stream, count = (lib.dnnl_primitive_execute, lib.dnnl_stream_wait,
                                        self.stream, len(args))

        def run(arrays=arrays):  # the arrays live as long as the callable
            if execute(primitive, stream, count, bound) or wait(stream):
                raise RuntimeError("oneDNN: a replayed primitive failed")

        weakref.finalize(run, _destroy_memories, lib, fresh_memories)  # its memory objects too
        return run

    def convert(self, a: np.ndarray, dtype) -> np.ndarray:
        """``a.astype(dtype)`` between float32, bfloat16 and float16 by a oneDNN reorder (one
        vector instruction per 16 values on AVX512; ml_dtypes converts one value at a time)."""
        out = np.empty(a.shape, dtype)
        key = _reorder_key(a, out)
        cached = self._cache.get(key)
        if cached is None:
            shape = a.shape or (1,)
            strides = key[2] or (1,)
            source = self._desc(shape, strides, a.dtype)
            target = self._desc(shape, _dense_strides(shape), out.dtype)
            pd, primitive = ctypes.c_void_p(), ctypes.c_void_p()
            self._check(self.lib.dnnl_reorder_primitive_desc_create(
                ctypes.byref(pd), source, self.engine, target, self.engine, None),
                "reorder_primitive_desc_create")
            self._check(self.lib.dnnl_primitive_create(ctypes.byref(primitive), pd),
                        "primitive_create")
            memories = [self._memory(source), self._memory(target)]
            args = (_ExecArg * 2)(_ExecArg(_ARG_SRC, memories[0]), _ExecArg(_ARG_DST, memories[1]))
            cached = self._cache[key] = (primitive, memories, args, "reorder")
        primitive, memories, args, _ = cached
        self.lib.dnnl_memory_set_data_handle(memories[0], a.ctypes.data)
        self.lib.dnnl_memory_set_data_handle(memories[1], out.ctypes.data)
        self._check(self.lib.dnnl_primitive_execute(primitive, self.stream, 2, args),
                    "primitive_execute")
        self._check(self.lib.dnnl_stream_wait(self.stream), "stream_wait")
        return out

    def implementation(self, a, b, out_dtype) -> str:
        """The implementation oneDNN picks for ``a @ b`` (e.g. "brg:avx512_core_amx")."""
        out = np.empty((a.shape[0], b.shape[1]), out_dtype)
        return self._primitive(self._key(a, b, out, None, "identity", 0.0))[3]

    @staticmethod
    def _key(a, b, out, bias, act, slope) -> tuple:
        def layout(x):
            return x.shape, tuple(s // x.itemsize for s in x.strides), x.dtype

        # dtype objects, not their names: dtype.name costs a microsecond, and this runs per GEMM
        return (layout(a), layout(b), out.dtype, None if bias is None else bias.dtype,
                act, float(slope) if act == "leaky_relu" else 0.0)


def _reorder_key(a, out) -> tuple:
    """The cache key of the reorder (cast) of ``a`` into ``out``'s dtype."""
    return "reorder", a.shape, tuple(s // a.itemsize for s in a.strides), a.dtype, out.dtype


def _destroy_memories(lib, memories) -> None:
    for memory in memories:
        lib.dnnl_memory_destroy(memory)


def _dense_strides(shape) -> tuple:
    """Row-major strides, in elements, of a C-contiguous array of ``shape``."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


@functools.lru_cache(maxsize=1)
def load():
    """The process's OneDNN instance, or None when libdnnl is not installed or fails to load."""
    path = library_path()
    if path is None:
        return None
    try:
        return OneDNN(path)
    except (OSError, RuntimeError, AttributeError):
        return None
