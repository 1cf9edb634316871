"""Where deeplite was imported from and why _C is missing (item 18); thread settings (item 17)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deeplite.backends import build_info


def _checkout(root: Path, with_extension: bool) -> Path:
    """A fake source checkout: setup.py, csrc/ and a deeplite/ package (with a _C or not)."""
    (root / "csrc").mkdir(parents=True)
    (root / "setup.py").write_text("")
    package = root / "deeplite"
    package.mkdir()
    if with_extension:
        (package / "_C.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    return package


def test_an_unbuilt_checkout_is_named_with_the_in_place_fix(tmp_path, monkeypatch):
    package = _checkout(tmp_path / "repo", with_extension=False)
    installed = _checkout(tmp_path / "site", with_extension=True)
    monkeypatch.setattr(build_info, "installed_elsewhere", lambda imported: installed)
    message = build_info.explain_missing_extension(ImportError("No module named 'deeplite._C'"),
                                                   package, tmp_path / "no-error-file")
    assert f"deeplite was imported from {package}, a source checkout where deeplite/_C has " \
           f"not been built" in message
    assert f"an installed deeplite with _C is at {installed}, shadowed" in message
    assert f"cd {package.parent} && pip install -e . (builds _C in place)" in message
    assert "compiler" not in message  # the compiler is not the problem here


def test_an_unloadable_extension_and_a_failed_build_are_told_apart(tmp_path, monkeypatch):
    package = _checkout(tmp_path / "repo", with_extension=True)
    monkeypatch.setattr(build_info, "installed_elsewhere", lambda imported: None)
    message = build_info.explain_missing_extension(ImportError("undefined symbol: foo"), package,
                                                   tmp_path / "no-error-file")
    assert "whose deeplite/_C cannot be loaded (undefined symbol: foo); rebuild it" in message
    error_file = tmp_path / "_C_build_error.txt"
    error_file.write_text("csrc/cpu/loss.cpp:3: error: 'x' was not declared\nmore\n")
    message = build_info.explain_missing_extension(ImportError("x"), package, error_file)
    assert "failed to build: csrc/cpu/loss.cpp:3: error: 'x' was not declared;" in message


def test_an_editable_install_is_found_through_its_direct_url(tmp_path, monkeypatch):
    package = _checkout(tmp_path / "repo", with_extension=False)
    other = _checkout(tmp_path / "main", with_extension=True)

    class Distribution:
        def locate_file(self, name):
            return tmp_path / "site-packages" / name

        def read_text(self, name):
            return json.dumps({"url": f"file://{other.parent}", "dir_info": {"editable": True}})

    monkeypatch.setattr(build_info.importlib.metadata, "distribution", lambda name: Distribution())
    assert build_info.installed_elsewhere(package) == other
    assert build_info.installed_elsewhere(other.resolve()) is None


def test_doctor_says_where_deeplite_comes_from(capsys):
    from deeplite.cli import main

    assert main(["doctor"]) == 0
    assert f"from     {build_info.PACKAGE} (" in capsys.readouterr().out


def _python(code: str, **env) -> str:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("DEEPLITE_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    environment.update(env)
    environment["PYTHONPATH"] = str(build_info.PACKAGE.parent)
    # cwd beside the package under test: with -c the current folder comes first on sys.path, and
    # in a source checkout that is the unbuilt deeplite/, not the installed one being tested.
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                          text=True, check=True, cwd=build_info.PACKAGE.parent).stdout.strip()


needs_cpu = pytest.mark.skipif(build_info.built_extension(build_info.PACKAGE) is None,
                               reason="deeplite._C is not built here")
THREADS = "from deeplite.backends import cpu_backend as c; print(c.num_threads())"


@needs_cpu
@pytest.mark.parametrize("env, expected", [
    ({"OMP_NUM_THREADS": "1"}, "1"),
    ({"OMP_NUM_THREADS": "1,2"}, "1"),  # one count per nesting level: the first is ours
    ({"OMP_NUM_THREADS": "2", "DEEPLITE_NUM_THREADS": "1"}, "1"),  # deeplite's own wins
])
def test_omp_num_threads_is_honoured_when_deeplite_num_threads_is_unset(env, expected):
    assert _python(THREADS, **env) == expected


@needs_cpu
def test_idle_workers_sleep_unless_the_user_chose_otherwise():
    code = ("import os; from deeplite.backends import cpu_backend; "
            "print(os.environ['OMP_WAIT_POLICY'])")
    assert _python(code) == "PASSIVE"
    assert _python(code, OMP_WAIT_POLICY="active") == "active"


@needs_cpu
def test_a_bad_thread_count_is_named():
    code = ("from deeplite import backends; backends.is_available('cpu'); "
            "print(backends.why_unavailable('cpu'))")
    assert "OMP_NUM_THREADS must be a positive integer, got 'many'" in _python(
        code, OMP_NUM_THREADS="many")


def test_falling_back_to_numpy_is_never_silent(monkeypatch, capsys):
    from deeplite import backends, creation
    from deeplite.cli.train_command import resolve_device

    reason = "deeplite was imported from /src/deeplite, a source checkout where deeplite/_C ..."
    monkeypatch.setitem(creation._settings, "device", None)
    monkeypatch.setattr(backends, "is_available", lambda name: name == "numpy")
    monkeypatch.setattr(backends, "available", lambda: ["numpy"])
    monkeypatch.setattr(backends, "why_unavailable", lambda name: reason)
    with pytest.warns(RuntimeWarning, match="using the numpy backend"):
        assert creation.get_default_device() == "numpy"
    assert resolve_device("auto") == "numpy"
    assert f"the cpu backend is unavailable: {reason}" in capsys.readouterr().err


def test_examples_draw_through_the_neutral_plotting_module():
    """Issue 10: the examples import deeplite.plotting, not the command line's modules."""
    code = ("import sys, deeplite.examples.linear_models, deeplite.examples._common as c; "
            "import deeplite.plotting as p; assert c.pyplot is p.pyplot; "
            "print(sorted(m for m in sys.modules if m.startswith('deeplite.cli')))")
    assert _python(code) == "[]"
