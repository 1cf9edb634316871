"""What ``deeplite doctor`` says about data-parallel training: mpi4py, the libmpi it loads, the
mpiexec it would use, whether that MPI reads GPU memory, and NCCL.

The MPI probe runs in a subprocess: initialising MPI (needed to ask about CUDA support) must not
happen in the doctor's own process, and a broken MPI library must not take the doctor down.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

_PROBE = r"""
import ctypes, json
import mpi4py
from mpi4py import MPI
libraries = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libmpi" in line})
aware = None
for path in libraries:
    query = getattr(ctypes.CDLL(path), "MPIX_Query_cuda_support", None)
    if query is not None:
        aware = bool(query())
print(json.dumps({"mpi4py": mpi4py.__version__, "libraries": libraries, "cuda_aware": aware,
                  "library": " ".join(MPI.Get_library_version().split("\n")[0].split())}))
"""
_EXTRA = 'pip install "deeplite[dist]"'


def mpiexec_path():
    """The mpiexec beside this interpreter (the mpich wheel's), else the first on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def probe_mpi() -> dict:
    """mpi4py's version, the MPI library, the loaded libmpi files and CUDA-awareness (or an
    "error" saying why there is no MPI)."""
    try:
        completed = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True,
                                   text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return {"error": f"the MPI probe did not run: {error}"}
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        if "No module named 'mpi4py'" in completed.stderr:
            return {"error": f"mpi4py is not installed: {_EXTRA}"}
        return {"error": f"mpi4py failed to load MPI: {last}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report_lines() -> list:
    """The doctor's "distributed:" section."""
    from . import nccl

    lines = ["distributed:"]
    found = probe_mpi()
    if "error" in found:
        lines.append(f"  mpi    unavailable: {found['error']}")
    else:
        aware = {True: "yes", False: "no (CUDA tensors are staged through host memory)",
                 None: "unknown"}[found["cuda_aware"]]
        lines.append(f"  mpi4py {found['mpi4py']}, {found['library']}")
        lines.append(f"  libmpi {', '.join(found['libraries']) or 'not found'}")
        lines.append(f"  CUDA-aware MPI: {aware}")
    launcher = mpiexec_path()
    lines.append(f"  mpiexec {launcher or 'not found: ' + _EXTRA}")
    version = nccl.version()
    if version is None:
        _, reason = nccl.load()
        lines.append(f"  nccl   unavailable: {reason}")
    else:
        lines.append(f"  nccl   {version}")
    return lines
