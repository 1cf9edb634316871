"""Whether this CPU runs bfloat16 GEMMs fast: AMX, detected at run time, and oneDNN to drive it.

Without AMX (AVX512_BF16 only, or no bf16 instructions) a bfloat16 GEMM measured 1.8x slower than
float32 on the same Xeon, so autocast on such a CPU warns once and stays in float32.
"""
import functools
import importlib.util
import os

from . import onednn


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset:
    """The CPU's feature flags from /proc/cpuinfo (empty where that file does not exist)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_amx_bf16() -> bool:
    """Whether the CPU has AMX tiles with bfloat16 multiplies (Sapphire Rapids and later)."""
    return {"amx_tile", "amx_bf16"} <= cpu_flags()


@functools.lru_cache(maxsize=1)
def bf16_gemm():
    """The oneDNN instance that runs bfloat16 GEMMs on AMX, or None where that path is off.

    Off without AMX, without the ``onednn-cpu-gomp`` package (``pip install 'deeplite[bf16]'``),
    or with ``DEEPLITE_ONEDNN=0`` in the environment.
    """
    if os.environ.get("DEEPLITE_ONEDNN", "1") == "0" or not has_amx_bf16() \
            or not _has_ml_dtypes():
        return None
    return onednn.load()


def _has_ml_dtypes() -> bool:
    """Whether the bfloat16 storage dtype can be had (oneDNN alone is not enough)."""
    return importlib.util.find_spec("ml_dtypes") is not None


def why_no_bf16_gemm():
    """Why the fast bfloat16 GEMM is off here, or None when it is on."""
    if bf16_gemm() is not None:
        return None
    if os.environ.get("DEEPLITE_ONEDNN", "1") == "0":
        return "DEEPLITE_ONEDNN=0 is set"
    if not has_amx_bf16():
        return "this CPU has no AMX (amx_bf16), where bfloat16 GEMMs are slower than float32"
    if not _has_ml_dtypes():
        return "ml_dtypes is not installed; pip install 'deeplite[bf16]'"
    return "oneDNN is not installed; pip install 'deeplite[bf16]'"


def describe() -> str:
    """One line for ``deeplite doctor``: whether cpu bfloat16 autocast runs on AMX here."""
    onednn_gemm = bf16_gemm()
    if onednn_gemm is None:
        return f"cpu bf16 autocast computes in float32: {why_no_bf16_gemm()}"
    import numpy as np

    from .. import dtypes

    probe = np.zeros((256, 256), dtypes.bfloat16_dtype())  # tiny GEMMs pick non-AMX kernels
    implementation = onednn_gemm.implementation(probe, probe, probe.dtype)
    return f"cpu bf16 autocast: AMX (amx_bf16) through oneDNN, GEMM {implementation}"
