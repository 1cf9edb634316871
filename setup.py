"""Build script: packaging metadata lives in pyproject.toml; this file builds the C++ extension.

``deeplite._C`` (csrc/cpu/*.cpp) links OpenBLAS from the ``scipy-openblas32`` wheel for GEMM.
The files compile in parallel, one per core; ``pip install -e .`` builds ``_C`` in place. A
failed build never fails the install: the package installs without ``_C``, the ``numpy`` backend
serves, and the compiler's first error line goes to ``deeplite/_C_build_error.txt``, which
``deeplite.backends.cpu_backend`` reports as the reason ``cpu`` is unavailable.
"""
import os
import subprocess
import sys
import tempfile
from glob import glob

from setuptools import setup
from setuptools.command.build_ext import build_ext

ERROR_FILE = "_C_build_error.txt"

try:
    from pybind11.setup_helpers import ParallelCompile, Pybind11Extension
except ImportError:  # no pybind11 in a --no-build-isolation build: install without _C
    ParallelCompile = Pybind11Extension = None

# Compile the csrc/cpu/*.cpp files at once, one per core (DEEPLITE_BUILD_JOBS=N to choose):
# serially the build takes as long as all files together, in parallel about as long as the
# slowest one.
if ParallelCompile is not None:
    ParallelCompile("DEEPLITE_BUILD_JOBS", default=0).install()


def openblas_flags() -> dict:
    """Include/library dirs, library name and rpath of the scipy-openblas32 wheel."""
    import scipy_openblas32 as openblas

    lib_dir = openblas.get_lib_dir()
    return {
        "include_dirs": [openblas.get_include_dir()],
        "library_dirs": [lib_dir],
        "libraries": [openblas.get_library()],
        # Installed wheels sit side by side in site-packages; the editable build finds the library
        # through cpu_backend importing scipy_openblas32 first (it loads it process-wide).
        "runtime_library_dirs": ["$ORIGIN/../scipy_openblas32/lib"],
    }


def compiler_accepts(compiler, flag: str) -> bool:
    """Whether the C++ compiler builds a trivial OpenMP file with ``flag``."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.cpp")
        with open(source, "w") as handle:
            handle.write("#include <omp.h>\n"
                         "int main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
        try:
            compiler.compile([source], output_dir=tmp, extra_postargs=[flag])
        except Exception:  # any failure means: build without this flag
            return False
    return True


def run_keeping_errors(command, **_options):
    """Run a compiler command, echo its output, and raise with its first error line on failure."""
    result = subprocess.run(command, capture_output=True, text=True)
    sys.stderr.write(result.stdout + result.stderr)
    if result.returncode:
        lines = result.stderr.splitlines()
        errors = [line for line in lines if "error" in line] or lines
        raise RuntimeError(errors[0] if errors else f"{command[0]} exited with {result.returncode}")


class OptionalBuildExt(build_ext):
    """build_ext adding OpenMP when available, turning a failed build into a recorded warning."""

    def run(self):
        # setuptools clears `inplace` while building and copies into the source tree afterwards.
        self.into_source = bool(self.inplace or getattr(self, "editable_mode", False))
        super().run()

    def build_extensions(self):
        # Older setuptools runs the compiler through `spawn`, newer through `call`.
        self.compiler.spawn = self.compiler.call = run_keeping_errors
        self.failed = set()
        super().build_extensions()
        # A failed extension is dropped, so the install (editable or not) goes on without it.
        self.extensions = [ext for ext in self.extensions if ext.name not in self.failed]

    def build_extension(self, ext):
        if sys.platform != "win32" and compiler_accepts(self.compiler, "-fopenmp"):
            ext.extra_compile_args.append("-fopenmp")
            ext.extra_link_args.append("-fopenmp")
        try:
            super().build_extension(ext)
        except Exception as error:  # compiler missing or failing: install without the cpu backend
            self.failed.add(ext.name)
            first_line = (str(error).strip().splitlines() or ["unknown error"])[0]
            self.warn(f"deeplite._C was not built, the cpu backend is unavailable: {first_line}")
            self.write_error_files(ext, first_line + "\n")
        else:
            self.write_error_files(ext, None)

    def write_error_files(self, ext, text):
        """Write (text) or remove (None) the build-error note in the built and source package."""
        folders = {os.path.dirname(self.get_ext_fullpath(ext.name))}
        if self.into_source:
            folders.add("deeplite")  # an editable install imports the source tree
        for folder in folders:
            path = os.path.join(folder, ERROR_FILE)
            if text is not None:
                os.makedirs(folder, exist_ok=True)
                with open(path, "w") as handle:
                    handle.write(text)
            elif os.path.exists(path):
                os.remove(path)


def extensions() -> list:
    """The C++ extension, or none when pybind11 or OpenBLAS is missing at build time."""
    try:
        blas = openblas_flags()
    except ImportError:
        blas = None
    if Pybind11Extension is None or blas is None:
        print("deeplite: pybind11 or scipy-openblas32 missing at build time; building without _C")
        return []
    return [Pybind11Extension(
        "deeplite._C",
        sorted(glob("csrc/cpu/*.cpp")),
        # Headers too: without them an edited dl_math.h left a stale _C that looked up to date.
        depends=sorted(glob("csrc/cpu/*.h") + glob("deeplite/kernels/*.h")),
        include_dirs=["deeplite/kernels", "csrc/cpu", *blas["include_dirs"]],
        library_dirs=blas["library_dirs"],
        libraries=blas["libraries"],
        runtime_library_dirs=blas["runtime_library_dirs"],
        cxx_std=17,
        # Portable code only (no -march=native): AVX2/AVX-512 paths are chosen at run time by
        # target_clones. -fno-math-errno lets the compiler merge and vectorise math calls;
        # -fno-trapping-math lets it turn the selects of dl_math.h into blends (with trapping math
        # GCC keeps each arm's arithmetic behind a branch, and a branch stops the vectoriser).
        # Neither changes a result: deeplite never enables FP traps nor reads errno.
        # -ffp-contract=off: each multiply and add rounds as written (GCC fuses a * b + c into
        # one FMA by default, in C++ too, but only in the AVX2/AVX-512 clones), so every clone
        # and the NumPy reference compositions round alike; explicit std::fma calls stay fused.
        extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd",
                            "-ffp-contract=off"],
    )]


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
