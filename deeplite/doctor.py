"""``deeplite doctor``: what works on this machine, and for what does not, why and the fix.

The CUDA diagnosis is the point: a CuPy wheel built for a newer CUDA than the driver supports,
two CuPy wheels at once, or no wheel at all are the usual reasons a GPU sits unused. The probes
(driver version, installed wheels, GPU list) are small functions so tests can replace them; the
driver probe and the wheel chooser are the cuda backend's (``backends/cuda_probe.py``).
"""
import importlib.metadata
import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__, backends
from .backends import build_info
from .backends.cuda_probe import CUDA_EXTRAS, driver_cuda_version, matching_wheel, nvidia_smi

BUILD_ERROR_FILE = Path(__file__).parent / "_C_build_error.txt"  # written by setup.py on failure


@dataclass
class BackendStatus:
    """One backend's verdict: available, or the reason it is not and how to fix it."""

    name: str
    available: bool
    reason: str = ""
    fix: str = ""


def gpu_names() -> list:
    """Names of the GPUs nvidia-smi lists (empty without nvidia-smi or a GPU)."""
    listing = nvidia_smi("-L") or ""
    return [line.split(":", 1)[1].split("(UUID")[0].strip()
            for line in listing.splitlines() if line.startswith("GPU ")]


def installed_cupy_wheels() -> dict:
    """Installed CuPy distributions and their versions, e.g. {"cupy-cuda12x": "13.3.0"}."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "cupy" or name.startswith("cupy-cuda") or name.startswith("cupy-rocm"):
            found[name] = dist.version
    return found


def wheel_cuda_major(wheel: str):
    """The CUDA major version a CuPy wheel is built for ("cupy-cuda12x" -> 12), None if unknown."""
    match = re.fullmatch(r"cupy-cuda(\d+?)(\d|x)", wheel)
    if not match:
        return None
    digits = match.group(1) + (match.group(2) if match.group(2) != "x" else "")
    return int(digits[:2]) if len(digits) >= 3 else int(digits)


def diagnose_cuda(reason: str, driver, wheels: dict, gpus: list) -> str:
    """The fix for an unavailable cuda backend, from the probes' findings."""
    if driver is None:
        if wheels:
            return ("CuPy is installed but no NVIDIA driver was found (libcuda and nvidia-smi are "
                    "missing): install the NVIDIA driver, or use --device cpu")
        return "no NVIDIA GPU driver found: the cuda device needs an NVIDIA GPU; use cpu or numpy"
    driver_text = f"{driver[0]}.{driver[1]}"
    wanted = matching_wheel(driver)
    if not wheels:
        return (f"CuPy is not installed; for this driver (CUDA {driver_text}) run: "
                f"pip install \"{wanted}\"")
    if len(wheels) > 1:
        names = ", ".join(sorted(wheels))
        return (f"several CuPy packages are installed ({names}) and overwrite each other: "
                f"pip uninstall -y {' '.join(sorted(wheels))} && pip install \"{wanted}\"")
    wheel = next(iter(wheels))
    built_for = wheel_cuda_major(wheel)
    if built_for is not None and built_for > driver[0]:
        return (f"{wheel} needs a driver that supports CUDA {built_for}, but this driver supports "
                f"CUDA {driver_text}: pip uninstall -y {wheel} && pip install \"{wanted}\" "
                f"(or update the NVIDIA driver)")
    if built_for is not None and built_for < driver[0] and built_for < min(CUDA_EXTRAS):
        return (f"{wheel} is built for CUDA {built_for}, older than deeplite supports: "
                f"pip uninstall -y {wheel} && pip install \"{wanted}\"")
    if not gpus:
        return ("the driver is installed but no GPU is visible (check CUDA_VISIBLE_DEVICES="
                f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')} and nvidia-smi)")
    return f"{wheel} matches the driver (CUDA {driver_text}) but failed to load: {reason}"


def diagnose_cpu(reason: str) -> str:
    """The fix for an unavailable cpu backend (the C++ extension ``deeplite._C``)."""
    return build_info.explain_missing_extension(ImportError(reason),
                                                build_error_file=BUILD_ERROR_FILE)


def backend_statuses() -> list:
    """A BackendStatus for each known backend, in order of preference."""
    statuses = []
    for name in backends.MODULES:
        reason = backends.why_unavailable(name)
        if reason is None:
            statuses.append(BackendStatus(name, True))
            continue
        if name == "cuda":
            fix = diagnose_cuda(reason, driver_cuda_version(), installed_cupy_wheels(), gpu_names())
        elif name == "cpu":
            fix = diagnose_cpu(reason)
        else:
            fix = "reinstall NumPy: pip install --force-reinstall numpy"
        statuses.append(BackendStatus(name, False, reason, fix))
    return statuses


def thread_info() -> dict:
    """Thread settings: DEEPLITE_NUM_THREADS, OMP_NUM_THREADS, CPUs present and usable."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"DEEPLITE_NUM_THREADS": os.environ.get("DEEPLITE_NUM_THREADS", "<unset>"),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "<unset>"),
            "cpu_count": os.cpu_count(), "usable_cpus": usable}


def report() -> str:
    """The full doctor report as text."""
    from .creation import get_default_device

    lines = [f"deeplite {__version__}",
             f"from     {build_info.describe_import()}",
             f"Python   {sys.version.split()[0]} ({platform.platform()})",
             f"NumPy    {np.__version__}"]
    wheels = installed_cupy_wheels()
    if wheels:
        listed = ", ".join(f"{name} {version}" for name, version in wheels.items())
        lines.append(f"CuPy     {listed}")
    lines.append("")
    lines.append("backends:")
    for status in backend_statuses():
        if status.available:
            lines.append(f"  {status.name:<6} ok")
        else:
            lines.append(f"  {status.name:<6} unavailable: {status.reason}")
            lines.append(f"      fix: {status.fix}")
    threads = thread_info()
    lines.append("")
    lines.append(f"threads: DEEPLITE_NUM_THREADS={threads['DEEPLITE_NUM_THREADS']}, "
                 f"OMP_NUM_THREADS={threads['OMP_NUM_THREADS']}, {threads['usable_cpus']} usable "
                 f"of {threads['cpu_count']} CPUs")
    if backends.is_available("cpu"):  # which float32 GEMM its kernels call (cpu_sgemm.py)
        module = backends.get("cpu").module
        lines.append(f"float32 GEMMs on cpu: {module.SGEMM} "
                     f"(DEEPLITE_SGEMM=auto|onednn|openblas)")
        if module._C.small_gemm_available():
            lines.append(f"  deeplite's AVX-512 kernel: those of {module._C.SMALL_GEMM_MIN_MACS} "
                         f"(a transposed B: {module._C.SMALL_GEMM_TRANSPOSED_MIN_MACS}) to "
                         f"{module._C.SMALL_GEMM_MAX_MACS} multiply-adds that oneDNN does not "
                         f"take")
    lines.append(f"default device: {get_default_device()}")
    from .distributed import probe  # mpi4py, libmpi, mpiexec, CUDA-aware MPI, NCCL

    lines += ["", *probe.report_lines()]
    from .backends import amx  # mixed precision: does bf16 run on AMX here?

    lines += ["", f"mixed precision: {amx.describe()}"]
    return "\n".join(lines)
