"""deeplite.distributed in a world of one (no launcher): the API, its errors, DDP's buckets and
the DistributedSampler, all without MPI."""
import os
import subprocess
import sys

import numpy as np
import pytest

import deeplite as dl
import deeplite.distributed as dist
from deeplite.data import DistributedSampler
from deeplite.distributed.world import LAUNCHER_VARIABLES
from deeplite.nn.parallel import DistributedDataParallel
from deeplite.nn.parallel.buckets import make_buckets


@pytest.fixture
def world(monkeypatch):
    """A world of one: no launcher variables, initialised, destroyed afterwards."""
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DEEPLITE_DIST_TIMEOUT", raising=False)
    dist.destroy()
    dist.init()
    yield dist
    dist.destroy()


def test_world_of_one_never_imports_mpi():
    env = {key: value for key, value in os.environ.items() if key not in LAUNCHER_VARIABLES}
    code = ("import sys, deeplite, deeplite.nn, deeplite.data\n"
            "import deeplite.distributed as d\n"
            "before = 'mpi4py' in sys.modules\n"
            "d.init(); d.init()\n"
            "print(before, 'mpi4py.MPI' in sys.modules, d.rank(), d.world_size(),"
            " d.local_rank(), d.is_main_process())")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, check=True)
    assert completed.stdout.split() == ["False", "False", "0", "1", "0", "True"]


def test_import_deeplite_does_not_load_distributed():
    code = "import sys, deeplite; print('deeplite.distributed' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "False"


def test_queries_before_init_raise(monkeypatch):
    dist.destroy()
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match=r"rank: call deeplite.distributed.init\(\) first"):
        dist.rank()
    with pytest.raises(RuntimeError, match="init"):
        dist.all_reduce(dl.ones(2))


@pytest.mark.parametrize("kwargs, message", [
    ({"backend": "gloo"}, "backend must be one of auto, mpi, nccl, got 'gloo'"),
    ({"timeout": 0}, "timeout must be a positive number of seconds, got 0"),
    ({"timeout": "60"}, "timeout must be a positive number of seconds, got '60'"),
])
def test_init_rejects_bad_arguments(world, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dist.init(**kwargs)


def test_timeout_variable_must_be_a_number(world, monkeypatch):
    monkeypatch.setenv("DEEPLITE_DIST_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="DEEPLITE_DIST_TIMEOUT='soon' is not a number"):
        dist.init()


def test_collectives_in_a_world_of_one_keep_values(world, device, rng):
    values = rng.standard_normal((3, 4))
    tensor = dl.tensor(values, device=device)
    for op in dist.REDUCE_OPS:
        dist.all_reduce(tensor, op=op)
    dist.broadcast(tensor, src=0)
    np.testing.assert_array_equal(tensor.numpy(), values)
    gathered = [None]
    dist.all_gather_object(gathered, {"rank": 0})
    assert gathered == [{"rank": 0}]
    objects = ["a", 1]
    dist.broadcast_object_list(objects)
    assert objects == ["a", 1]
    dist.barrier()


def test_collective_errors_name_the_fix(world):
    with pytest.raises(ValueError, match="op must be one of sum, mean, max, min, got 'avg'"):
        dist.all_reduce(dl.ones(2), op="avg")
    with pytest.raises(TypeError, match="op='mean' needs a floating-point tensor, got int64"):
        dist.all_reduce(dl.tensor([1, 2]), op="mean")
    with pytest.raises(TypeError, match="expected a deeplite Tensor, got ndarray"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="src must be a rank from 0 to 0, got 1"):
        dist.broadcast(dl.ones(2), src=1)
    with pytest.raises(ValueError, match=r"object_list must be a list of length world_size \(1\)"):
        dist.all_gather_object([], 1)
    leaf = dl.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="all_reduce: a tensor that requires grad"):
        dist.all_reduce(leaf)
    with dl.no_grad():
        dist.all_reduce(leaf)


def test_ddp_in_a_world_of_one_is_the_module(world, device, rng):
    model = dl.nn.MLP([4, 8, 3], device=device)
    ddp = DistributedDataParallel(model)
    assert ddp.module is model
    assert [name for name, _ in ddp.named_parameters()] == \
        ["module." + name for name, _ in model.named_parameters()]
    x = dl.tensor(rng.standard_normal((5, 4)).astype(np.float32), device=device)
    np.testing.assert_array_equal(ddp(x).detach().numpy(), model(x).detach().numpy())
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync


def test_ddp_rejects_bad_arguments(world):
    with pytest.raises(TypeError, match="expected a deeplite.nn.Module, got list"):
        DistributedDataParallel([])
    with pytest.raises(ValueError, match="bucket_cap_mb must be a positive number, got 0"):
        DistributedDataParallel(dl.nn.Linear(2, 2), bucket_cap_mb=0)


def test_ddp_needs_init(monkeypatch):
    dist.destroy()
    with pytest.raises(RuntimeError, match=r"call deeplite.distributed.init\(\) first"):
        DistributedDataParallel(dl.nn.Linear(2, 2))


def test_buckets_respect_the_cap_and_the_dtype(device):
    parameters = [dl.nn.Parameter(dl.zeros(*shape, device=device, dtype=dtype))
                  for shape, dtype in [((10,), dl.float32), ((20,), dl.float32),
                                       ((30,), dl.float64), ((5,), dl.float32)]]
    buckets = make_buckets(parameters, cap_bytes=100)  # 25 float32 per bucket
    members = [[int(p.numel()) for p in bucket.parameters] for bucket in buckets]
    assert members == [[10], [20, 5], [30]]  # 10+20 floats > 100 bytes; float64 alone
    assert [str(bucket.flat.dtype) for bucket in buckets] == ["float32", "float32", "float64"]


def test_bucket_round_trip_scales_and_keeps_missing_gradients(device, rng):
    used = dl.nn.Parameter(dl.tensor(rng.standard_normal((3, 2)), device=device))
    unused = dl.nn.Parameter(dl.tensor(rng.standard_normal(4), device=device))
    gradient = rng.standard_normal((3, 2))
    used.grad = dl.tensor(gradient.copy(), device=device)
    (bucket,) = make_buckets([used, unused], cap_bytes=1 << 20)
    bucket.pack_gradients()
    bucket.unpack_gradients(0.5)  # what a world of 2 does after summing
    np.testing.assert_allclose(used.grad.numpy(), gradient * 0.5, rtol=1e-15)
    assert unused.grad is None  # no rank had a gradient: it stays None, as in one process
    values = used.detach().numpy().copy()
    bucket.pack_values()
    used.data[...] = 0
    bucket.unpack_values()
    np.testing.assert_array_equal(used.detach().numpy(), values)


@pytest.mark.parametrize("size", [0, 1, 7, 10, 12])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_matches_pytorch_in_order(size, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(size), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(size), replicas, rank, shuffle=False,
                                               drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


@pytest.mark.parametrize("size, replicas", [(103, 2), (103, 3), (5, 4), (12, 3)])
def test_shuffled_shares_cover_the_padded_permutation(size, replicas):
    samplers = [DistributedSampler(range(size), replicas, rank, seed=3)
                for rank in range(replicas)]
    shares = [sampler.epoch_indices() for sampler in samplers]
    assert len({len(share) for share in shares}) == 1  # every rank: the same number
    together = np.concatenate(shares)
    assert set(together.tolist()) == set(range(size))  # every sample, padding repeats some
    assert len(together) - size == (-size) % replicas
    first = [sampler.epoch_indices().copy() for sampler in samplers]
    for sampler in samplers:
        sampler.set_epoch(1)
    moved = [not np.array_equal(a, s.epoch_indices()) for a, s in zip(first, samplers, strict=True)]
    assert any(moved)
    again = DistributedSampler(range(size), replicas, 0, seed=3)
    again.set_epoch(1)
    np.testing.assert_array_equal(again.epoch_indices(), samplers[0].epoch_indices())


def test_sampler_errors_match_pytorch():
    message = r"Invalid rank 3, rank should be in the interval \[0, 2\]"  # PyTorch's words
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(5), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="num_replicas must be an integer >= 1, got 0"):
        DistributedSampler(range(5), num_replicas=0, rank=0)


def test_sampler_defaults_to_the_world(world):
    sampler = DistributedSampler(range(5))
    assert (sampler.num_replicas, sampler.rank, len(sampler)) == (1, 0, 5)


def test_dataloader_accepts_the_sampler(rng):
    import inspect

    from deeplite.data import DataLoader, TensorDataset

    if "sampler" not in inspect.signature(DataLoader).parameters:
        pytest.skip("this DataLoader has no sampler= yet (another branch adds it); "
                    "use sampler.epoch_indices() to slice the data")
    x = rng.standard_normal((10, 2))
    sampler = DistributedSampler(range(10), num_replicas=2, rank=1, shuffle=True, seed=0)
    loader = DataLoader(TensorDataset(x), batch_size=3, sampler=sampler)
    rows = np.concatenate([batch[0].numpy() for batch in loader])
    np.testing.assert_array_equal(rows, x[sampler.epoch_indices()])


def test_doctor_reports_mpi_and_nccl(monkeypatch):
    from deeplite.distributed import probe

    lines = probe.report_lines()
    assert lines[0] == "distributed:"
    assert any(line.startswith("  mpiexec ") for line in lines)
    assert any(line.startswith("  nccl   ") for line in lines)
    found = probe.probe_mpi()
    try:
        import mpi4py
    except ImportError:
        assert found["error"].startswith("mpi4py is not installed")
    else:
        assert found["mpi4py"] == mpi4py.__version__ and found["libraries"]
        assert f"  mpi4py {mpi4py.__version__}, {found['library']}" in lines
    monkeypatch.setattr(probe, "probe_mpi", lambda: {"error": "mpi4py is not installed: x"})
    assert "  mpi    unavailable: mpi4py is not installed: x" in probe.report_lines()


def test_checkpoint_round_trip_in_a_world_of_one(world, tmp_path, rng):
    model = dl.nn.MLP([3, 4, 2])
    optimizer = dl.optim.Adam(model.parameters(), lr=0.1)
    x = dl.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    model(x).sum().backward()
    optimizer.step()
    path = tmp_path / "state.safetensors"
    dist.checkpoint.save_training_state(path, model, optimizer, {"epoch": "1"})
    expected_draw = dl.randn(3).numpy()
    other = dl.nn.MLP([3, 4, 2])
    other_optimizer = dl.optim.Adam(other.parameters(), lr=0.1)
    assert dist.checkpoint.load_training_state(path, other, other_optimizer) == {"epoch": "1"}
    np.testing.assert_array_equal(dl.randn(3).numpy(), expected_draw)  # the generator restored
    for (name, a), b in zip(model.named_parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)
    assert other_optimizer.state_dict()["state"][0]["step"] == 1
    with pytest.raises(ValueError, match="rank 0 could not load"):
        dist.checkpoint.load_training_state(tmp_path / "missing.safetensors", other)
