"""CUDA tensors in deeplite.distributed (GPU machines only): a 1-rank NCCL communicator, and two
ranks sharing one GPU, which stage through the host and say why."""
import json

import numpy as np
import pytest
from dist_launch import expect_all_ranks, launch

pytestmark = pytest.mark.cuda


def _load(path) -> dict:
    with np.load(path) as arrays:
        return {name: arrays[name] for name in arrays.files}


def test_one_rank_nccl_communicator(tmp_path):
    from deeplite.distributed import nccl

    _, reason = nccl.load()
    if reason is not None:
        pytest.skip(reason)
    job = launch(0, "cuda_ranks.py", tmp_path, "nccl")
    (path,) = expect_all_ranks(job, 1)
    assert json.loads((tmp_path / "rank0.json").read_text())["nccl_usable"]
    np.testing.assert_array_equal(_load(path)["all_reduce"], np.arange(6.0))


def test_two_ranks_on_one_gpu_stage_through_the_host(tmp_path):
    job = launch(2, "cuda_ranks.py", tmp_path, env={"CUDA_VISIBLE_DEVICES": "0"})
    results = [_load(path) for path in expect_all_ranks(job, 2)]
    assert job.output.count("CUDA tensors are staged through host memory") == 2, job.output
    for result in results:
        np.testing.assert_array_equal(result["all_reduce"], 2 * np.arange(6.0) + 1)
    for name, value in results[0].items():
        assert np.array_equal(value, results[1][name]), name
