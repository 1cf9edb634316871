"""Data-parallel training under ``mpiexec -n 2`` and ``-n 3``: the same result as one process.

Each test launches a per-rank script from tests/dist_scripts and checks that every rank wrote
its result. 3 ranks on 2 cores are oversubscribed on purpose.
"""
import json
import time

import numpy as np
import pytest
from dist_launch import expect_all_ranks, launch

# Summation order differs between one process and N ranks (a mean of local means against one
# global mean, and 1/N scaling): float64 rounding gives ~1e-15 per step, float32 ~1e-7.
TOLERANCE = {"float64": 1e-12, "float32": 2e-6}


def _load(path) -> dict:
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


@pytest.mark.parametrize("ranks", [2, 3])
def test_ranks_reproduce_one_process(tmp_path, ranks):
    (tmp_path / "dist").mkdir()
    (tmp_path / "ref").mkdir()
    job = launch(ranks, "train_equivalence.py", tmp_path / "dist")
    results = [_load(path) for path in expect_all_ranks(job, ranks)]
    reference_job = launch(0, "train_equivalence.py", tmp_path / "ref", "--reference", ranks)
    reference = _load(expect_all_ranks(reference_job, 1)[0])
    for rank_result in results[1:]:
        for name, value in results[0].items():
            assert np.array_equal(value, rank_result[name]), f"{name} differs between ranks"
    for name, value in results[0].items():
        dtype = "float64" if name.startswith("no_sync/") else name.split("/")[0]
        expected = reference[name.replace("no_sync/", "float64/")]
        assert value.dtype == expected.dtype
        scale = np.max(np.abs(expected))
        error = np.max(np.abs(value.astype(np.float64) - expected)) / scale
        assert error <= TOLERANCE[dtype], f"{name}: relative error {error:.2e}"



def test_gradients_of_parameters_some_ranks_did_not_use_and_buffers(tmp_path):
    job = launch(2, "unused_parameters.py", tmp_path)
    results = [_load(path) for path in expect_all_ranks(job, 2)]
    inputs = [np.arange(6.0).reshape(2, 3) + 10 * rank for rank in range(2)]
    # d sum(x @ W + b) / dW = column sums of x, in every output column; the mean over ranks.
    expected_a = np.mean([np.repeat(x.sum(0)[:, None], 2, axis=1) for x in inputs], axis=0)
    expected_b = 3 * np.repeat(inputs[0].sum(0)[:, None], 2, axis=1) / 2  # rank 1 adds zeros
    for rank, result in enumerate(results):
        np.testing.assert_allclose(result["a"], expected_a, rtol=1e-15)
        np.testing.assert_allclose(result["b"], expected_b, rtol=1e-15)
        info = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert info["c_is_none"]  # no rank used it: None, as in one process
        np.testing.assert_array_equal(result["at_construction"], [0.0, 1.0])  # rank 0's buffer
        np.testing.assert_array_equal(result["after_forward"], [7.0, 7.0])
        np.testing.assert_array_equal(result["frozen"], results[0]["frozen_before"])
        assert info["frozen_grad_is_none"]
    assert not np.array_equal(results[0]["frozen_before"], results[1]["frozen_before"])


TIMEOUT_S = 2.0  # the watchdog's timeout in the failure tests (DEEPLITE_DIST_TIMEOUT)


def _failed_job(tmp_path, mode: str, ranks: int = 2, launcher_flags=()):
    """Launch the failures script; check it failed, every rank started, and in time."""
    job = launch(ranks, "failures.py", tmp_path, mode, launcher_flags=launcher_flags,
                 env={"DEEPLITE_DIST_TIMEOUT": str(TIMEOUT_S)}, timeout=30)
    ended = time.time()
    expect_started = [tmp_path / f"rank{rank}.json" for rank in range(ranks)]
    assert all(path.exists() for path in expect_started), job.describe()
    assert job.returncode != 0, job.describe()
    failed_at = tmp_path / "failed_at.json"
    if failed_at.exists():
        # From the moment rank 1 failed to the end of the whole job.
        elapsed = ended - json.loads(failed_at.read_text())["time"]
        assert elapsed <= TIMEOUT_S + 2.0, f"took {elapsed:.1f} s; {job.describe()}"
    return job


def test_raising_rank_aborts_the_job(tmp_path):
    job = _failed_job(tmp_path, "raise", ranks=3)
    assert "RuntimeError: rank 1 fails on purpose" in job.output  # the traceback
    assert ("deeplite.distributed: rank 1 of 3 failed (RuntimeError: rank 1 fails on purpose); "
            "aborting all ranks") in job.output


@pytest.mark.parametrize("mode", ["hang", "short"])
def test_hung_or_short_rank_times_out_with_the_operation(tmp_path, mode):
    job = _failed_job(tmp_path, mode)
    # The rank still waiting names its collective, the step and the bytes, with its stacks.
    assert f"has not finished after {TIMEOUT_S:g} s" in job.output, job.describe()
    if mode == "hang":
        assert "rank 0 of 2: all_reduce of 64 bytes (collective #3" in job.output
    assert 'thread "MainThread"' in job.output
    if mode == "short":  # the short rank waits at exit, in destroy()'s barrier
        waits = ("rank 0 of 2: all_reduce of 64 bytes (collective #3",
                 "rank 1 of 2: barrier (collective #3")
        assert any(wait in job.output for wait in waits), job.describe()


def test_killed_rank_ends_the_job(tmp_path):
    # MPICH's launcher kills the other ranks itself, at once, and says so; deeplite cannot add
    # a message: the dead rank got SIGKILL, and so do the survivors.
    job = _failed_job(tmp_path, "kill")
    assert "BAD TERMINATION" in job.output or "Killed" in job.output, job.describe()


def test_parameter_mismatch_is_refused_before_any_collective(tmp_path):
    job = _failed_job(tmp_path, "mismatch")
    for rank in range(2):
        refused = json.loads((tmp_path / f"refused{rank}.json").read_text())
        assert refused["message"] == (
            "DistributedDataParallel: parameter 'layers.0.weight' has shape (5, 8) on rank 0 but "
            "shape (5, 9) on rank 1; every rank must build the same model")
        assert refused["collectives"] == 1  # only the gather of the parameter list
    assert "deeplite.distributed: rank 0 of 2 failed (ValueError: DistributedDataParallel" \
        in job.output or "rank 1 of 2 failed (ValueError" in job.output


def test_checkpoint_and_resume_equal_the_uninterrupted_run(tmp_path):
    folders = {name: tmp_path / name for name in ("full", "first", "resume")}
    for folder in folders.values():
        folder.mkdir()
    results = {}
    for name, folder in folders.items():
        job = launch(2, "checkpoint_resume.py", folder, name, folders["first"])
        results[name] = [_load(path) for path in expect_all_ranks(job, 2)]
    assert (folders["first"] / "state.safetensors").exists()
    for rank in range(2):
        for key, value in results["full"][rank].items():
            # The same operations in the same order: bitwise equal, on every rank.
            assert np.array_equal(results["resume"][rank][key], value), (rank, key)
            assert not np.array_equal(results["first"][rank][key], value)  # it did train on
