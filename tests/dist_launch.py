"""Run a per-rank script under ``mpiexec -n N`` from a test, and check what every rank wrote.

``mpiexec`` is looked for beside ``sys.executable`` (where the ``mpich`` wheel puts it); tests
skip with the reason when it is absent. The environment pins one BLAS/OpenMP thread per rank
(3 ranks share 2 cores) and makes MPICH's busy-wait yield the core often, so an oversubscribed
rank waiting in a collective does not starve the one it waits for.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import deeplite

SCRIPTS = Path(__file__).parent / "dist_scripts"
ROOT = Path(deeplite.__file__).resolve().parent.parent  # the deeplite under test


def mpiexec() -> Path:
    """The launcher beside this interpreter, or skip the test saying why."""
    launcher = Path(sys.executable).parent / "mpiexec"
    if not launcher.exists():
        pytest.skip(f"no mpiexec beside {sys.executable}: pip install \"deeplite[dist]\" "
                    f"(mpi4py and mpich)")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install \"deeplite[dist]\"")
    return launcher


def environment(extra: dict = None) -> dict:
    """The ranks' environment: deeplite under test first on the path, one thread per rank."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(SCRIPTS),
                                                      env.get("PYTHONPATH")]))
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", DEEPLITE_NUM_THREADS="1",
               # MPICH polls in a loop while it waits; yield the core every 10 polls, not 1000.
               MPIR_CVAR_POLLS_BEFORE_YIELD="10", MPIR_CVAR_POSIX_POLL_FREQUENCY="10",
               PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    env.update(extra or {})
    return env


class Job:
    """A finished launch: exit status, output, seconds, and its output folder."""

    def __init__(self, completed, seconds: float, out: Path):
        self.returncode, self.seconds, self.out = completed.returncode, seconds, out
        self.output = completed.stdout + completed.stderr

    def describe(self) -> str:
        """Status and output, for an assertion message."""
        return f"exit status {self.returncode} after {self.seconds:.1f} s; output:\n{self.output}"


def launch(ranks: int, script: str, out: Path, *args, env: dict = None, timeout: float = 60,
           launcher_flags=()) -> Job:
    """Run ``script`` on ``ranks`` ranks (``ranks=0``: one plain process, no launcher)."""
    return launch_command(ranks, [str(SCRIPTS / script), str(out), *map(str, args)], out, env=env,
                          timeout=timeout, launcher_flags=launcher_flags)


def launch_command(ranks: int, arguments: list, out: Path, env: dict = None, timeout: float = 60,
                   launcher_flags=()) -> Job:
    """Run ``python ARGUMENTS...`` in ``out`` on ``ranks`` ranks (0: without a launcher)."""
    command = [sys.executable, *arguments]
    if ranks:
        command = [str(mpiexec()), *launcher_flags, "-n", str(ranks), *command]
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, env=environment(env),
                               timeout=timeout, cwd=out)
    return Job(completed, time.monotonic() - started, out)


def train_run(out: Path, ranks: int, train: list, name: str, *extra) -> tuple:
    """``deeplite train`` (``python TRAIN --out NAME EXTRA``, ``--distributed`` when ``ranks``)
    run in ``out``, asserted to succeed: (the job, its run's metrics.json)."""
    arguments = [*train, "--out", name, *extra] + (["--distributed"] if ranks else [])
    job = launch_command(ranks, arguments, out)
    assert job.returncode == 0, job.describe()
    return job, json.loads((out / name / "metrics.json").read_text())


def expect_all_ranks(job: Job, ranks: int, suffix: str = "npz") -> list:
    """The result files of ranks 0..ranks-1, failing the test when one is missing."""
    paths = [job.out / f"rank{rank}.{suffix}" for rank in range(ranks)]
    missing = [path.name for path in paths if not path.exists()]
    assert job.returncode == 0 and not missing, f"missing {missing}; {job.describe()}"
    return paths
