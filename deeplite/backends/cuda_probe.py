"""What the cuda backend checks before it loads, and keeps while CuPy is not imported.

One home for the probes that ``cuda_backend``, ``deeplite.cuda`` and ``deeplite doctor`` share:
the driver's CUDA version (libcuda, else nvidia-smi; no CuPy needed), the extra that installs a
fitting CuPy, and, once CuPy imports, whether it reaches a GPU and whether the libraries it loads
lazily work: NVRTC (deeplite's kernels) and cuBLAS (matmul), by compiling and running one tiny
kernel and one GEMM. Every probe returns a reason (what is wrong, and the fix) or None.

Also the TF32 switch, which users may set before the backend (and CuPy) load.
"""
import ctypes
import ctypes.util
import pathlib
import re
import shutil
import subprocess

CUDA_EXTRAS = {12: "deeplite[cuda12]", 13: "deeplite[cuda13]"}  # pyproject's optional extras
KERNELS = pathlib.Path(__file__).resolve().parent.parent / "kernels"


def block_threads() -> int:
    """DL_BLOCK_THREADS from kernels/dl_cuda.h: the one block size the cuda backend launches,
    which is also every kernel's __launch_bounds__."""
    match = re.search(r"#define DL_BLOCK_THREADS (\d+)", (KERNELS / "dl_cuda.h").read_text())
    if match is None:
        raise RuntimeError("deeplite/kernels/dl_cuda.h lost its #define DL_BLOCK_THREADS line")
    return int(match.group(1))


def nvidia_smi(*args):
    """nvidia-smi's output for ``args``, or None without nvidia-smi (or when it fails)."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        return subprocess.run(["nvidia-smi", *args], capture_output=True, text=True,
                              timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def driver_cuda_version():
    """The newest CUDA version the NVIDIA driver supports, as (major, minor), or None.

    Asks libcuda's ``cuDriverGetVersion`` (no CuPy needed), then falls back to nvidia-smi.
    """
    for name in (ctypes.util.find_library("cuda"), "libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        if not name:
            continue
        try:
            libcuda = ctypes.CDLL(name)
        except OSError:
            continue
        version = ctypes.c_int(0)
        if libcuda.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value:
            return version.value // 1000, (version.value % 1000) // 10  # 12040 -> (12, 4)
    match = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", nvidia_smi() or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def matching_wheel(driver) -> str:
    """The pip requirement whose CuPy wheel runs on a driver supporting CUDA ``driver``."""
    major = driver[0]
    if major in CUDA_EXTRAS:
        return CUDA_EXTRAS[major]
    if major > max(CUDA_EXTRAS):
        return CUDA_EXTRAS[max(CUDA_EXTRAS)]  # drivers run older CUDA wheels
    return f"cupy-cuda{major}x"


def cupy_missing_reason(driver=None) -> str:
    """What to install when CuPy is missing, by the driver's CUDA version (read without CuPy)."""
    driver = driver or driver_cuda_version()
    if driver is None:
        return ("CuPy is not installed and no NVIDIA driver was found (no GPU here?); on a GPU "
                "machine: pip install 'deeplite[cuda12]' or 'deeplite[cuda13]'")
    if driver < (12, 0):
        return (f"CuPy is not installed, and the NVIDIA driver supports only CUDA "
                f"{driver[0]}.{driver[1]}: update the driver, then pip install 'deeplite[cuda12]'")
    return (f"CuPy is not installed; the NVIDIA driver supports CUDA {driver[0]}.{driver[1]}: "
            f"pip install '{matching_wheel(driver)}'")


def device_problem(cupy):
    """Why an installed CuPy cannot use a GPU here (no driver, wheel newer than the driver, no
    device), or None when it can."""
    runtime = cupy.cuda.runtime
    built_for = runtime.runtimeGetVersion() // 1000
    driver = runtime.driverGetVersion()
    if driver == 0:
        return f"CuPy {cupy.__version__} is installed but no NVIDIA driver was found (no GPU here?)"
    if driver // 1000 < built_for:
        supported = (driver // 1000, driver % 1000 // 10)
        return (f"CuPy {cupy.__version__} is built for CUDA {built_for} but the NVIDIA driver "
                f"supports CUDA {supported[0]}.{supported[1]}: pip uninstall cupy-cuda{built_for}x "
                f"&& pip install '{matching_wheel(supported)}' (or update the driver)")
    try:
        count = runtime.getDeviceCount()
    except runtime.CUDARuntimeError as error:
        return f"CuPy could not reach a GPU: {error}"
    return None if count else "CuPy found no CUDA GPU (check CUDA_VISIBLE_DEVICES)"


_PROBE_KERNEL = 'extern "C" __global__ void deeplite_probe(float* x) { x[threadIdx.x] += 1.0f; }'


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _library_fix(cupy, library: str) -> str:
    major = cupy.cuda.runtime.runtimeGetVersion() // 1000
    extra = CUDA_EXTRAS.get(major, f"cupy-cuda{major}x[ctk]")
    return (f"pip install '{extra}' (it pulls the CUDA libraries from PyPI: "
            f"cupy-cuda{major}x[ctk]) or install the CUDA {major} toolkit and put its lib64 on "
            f"LD_LIBRARY_PATH; `python -c 'import cupy; cupy.show_config()'` shows where CuPy "
            f"looks for {library}")


def library_problem(cupy):
    """Why CuPy cannot compile and run a kernel (NVRTC) or a GEMM (cuBLAS) here, or None.

    CuPy loads both libraries lazily, so an import that succeeds says nothing about them: a
    CuPy 14 wheel installed without its ``[ctk]`` extra imports fine and then fails every op.
    """
    try:
        x = cupy.zeros(32, dtype=cupy.float32)
        cupy.RawKernel(_PROBE_KERNEL, "deeplite_probe")((1,), (32,), (x,))
        ran = float(x.sum()) == 32.0
    except Exception as error:  # CompileException, a missing libnvrtc, a driver JIT failure
        return (f"CuPy {cupy.__version__} cannot compile CUDA kernels with NVRTC (libnvrtc), "
                f"which deeplite's fused kernels need ({_first_line(error)}): "
                f"{_library_fix(cupy, 'libnvrtc')}")
    if not ran:
        return "a probe kernel compiled but computed a wrong result: the GPU or driver is broken"
    try:
        a = cupy.full((2, 2), 1.0, dtype=cupy.float32)
        multiplied = float(cupy.matmul(a, a)[0, 0]) == 2.0
    except Exception as error:  # a missing libcublas / libcublasLt
        return (f"CuPy {cupy.__version__} cannot run a matrix product with cuBLAS (libcublas), "
                f"which matmul and every Linear layer need ({_first_line(error)}): "
                f"{_library_fix(cupy, 'libcublas')}")
    return None if multiplied else "a probe GEMM computed a wrong result: cuBLAS is broken"


def gpu_problem(cupy):
    """Why the imported ``cupy`` cannot serve the cuda backend, or None; never raises."""
    try:
        return device_problem(cupy) or library_problem(cupy)
    except Exception as error:  # a probe that fails in an unforeseen way is a reason too
        version = getattr(cupy, "__version__", "?")
        return f"CuPy {version} failed its GPU check: {_first_line(error)}"


class Tf32Switch:
    """Whether float32 matmuls may round their inputs to TF32 on tensor cores.

    Kept here, outside the cuda backend, so it can be set before the backend (and CuPy) load;
    the backend ``bind``s the function that applies it, which then runs on every change.
    """

    def __init__(self):
        self.enabled = False
        self._apply = None

    def set(self, enabled: bool) -> None:
        """Record the setting and apply it at once when the backend is loaded."""
        self.enabled = bool(enabled)
        if self._apply is not None:
            self._apply(self.enabled)

    def bind(self, apply) -> None:
        """Called by the backend as it loads: apply the current setting now and on changes."""
        self._apply = apply
        apply(self.enabled)


TF32 = Tf32Switch()
