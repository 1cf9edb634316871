"""Why ``deeplite._C`` is missing, in words: which deeplite was imported, from where, and the fix.

The usual trap: Python started inside a source checkout imports that checkout's ``deeplite/``
(the current folder comes first on ``sys.path``), where ``_C`` was never built, even though an
installed deeplite elsewhere has it. The cpu backend's import error and ``deeplite doctor`` both
say exactly that, instead of blaming a compiler that may be fine.
"""
import importlib.metadata
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the deeplite package imported
BUILD_ERROR_FILE = PACKAGE / "_C_build_error.txt"  # written by setup.py when compiling failed
IN_PLACE = "pip install -e . (builds _C in place), or python setup.py build_ext --inplace"


def built_extension(package: Path):
    """The compiled ``_C`` module file in ``package``, or None."""
    return next(iter(sorted(package.glob("_C.*.so")) + sorted(package.glob("_C.*.pyd"))), None)


def source_checkout(package: Path):
    """The checkout folder when ``package`` sits in one (a setup.py and csrc/ beside it)."""
    root = package.parent
    return root if (root / "setup.py").is_file() and (root / "csrc").is_dir() else None


def installed_elsewhere(package: Path):
    """The folder of an installed deeplite with a built ``_C`` other than ``package``, or None."""
    try:
        distribution = importlib.metadata.distribution("deeplite")
    except importlib.metadata.PackageNotFoundError:
        return None
    candidates = [Path(str(distribution.locate_file("deeplite")))]
    direct_url = distribution.read_text("direct_url.json")
    if direct_url:  # an editable install points at its checkout
        url = json.loads(direct_url).get("url", "")
        if url.startswith("file://"):
            candidates.append(Path(url[len("file://"):]) / "deeplite")
    for candidate in candidates:
        if candidate.resolve() != package and built_extension(candidate) is not None:
            return candidate
    return None


def explain_missing_extension(error: Exception, package: Path = PACKAGE,
                              build_error_file: Path = BUILD_ERROR_FILE) -> str:
    """One paragraph: what was imported, what is missing there, why, and the fix."""
    imported = f"deeplite was imported from {package}"
    if build_error_file.exists():
        first = (build_error_file.read_text().strip().splitlines() or ["unknown error"])[0]
        return (f"{imported}, where the C++ extension failed to build: {first}; fix that "
                f"error (a C++17 compiler is needed, e.g. apt install g++), then rebuild: "
                f"{IN_PLACE}")
    if built_extension(package) is not None:
        return (f"{imported}, whose deeplite/_C cannot be loaded ({error}); rebuild it for this "
                f"Python: {IN_PLACE}")
    checkout = source_checkout(package)
    other = installed_elsewhere(package)
    if checkout is not None:
        hint = (f"; an installed deeplite with _C is at {other}, shadowed because Python looks "
                f"in the current folder first: run from another folder, or" if other else
                "; to use it,")
        return (f"{imported}, a source checkout where deeplite/_C has not been built{hint} "
                f"build it there: cd {checkout} && {IN_PLACE}")
    return (f"{imported}, which has no deeplite/_C ({error}); reinstall with a C++17 compiler: "
            f"pip install --force-reinstall deeplite")


def describe_import() -> str:
    """For ``deeplite doctor``: where deeplite comes from and whether _C is built there."""
    extension = built_extension(PACKAGE)
    kind = "a source checkout" if source_checkout(PACKAGE) else "an installed package"
    built = f"_C built: {extension.name}" if extension else "_C not built there"
    return f"{PACKAGE} ({kind}; {built})"
