"""Data-parallel training under ``mpiexec -n 2`` and ``-n 3``: the same result as one process.

Each test launches a per-rank script from tests/dist_scripts and checks that every rank wrote
its result. 3 ranks on 2 cores are oversubscribed on purpose.
"""
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
