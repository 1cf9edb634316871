"""deeplite.jit captures autocast steps, GradScaler included: replay == eager, bit for bit."""
import warnings

import numpy as np
import pytest
from _train_runs import assert_jit_run_equals_no_jit

import deeplite as dl
import deeplite.functional as F
from deeplite.backends import amx

pytest.importorskip("ml_dtypes")
HOST = ["numpy", "cpu"]


def _step(device, dtype, scaler_options=None, optimizer="sgd", sizes=(20, 48, 32, 5)):
    """(model, optimizer, scaler, step) for a small MLP trained under autocast."""
    dl.manual_seed(0)
    model = dl.nn.MLP(list(sizes), device=device)
    make = dl.optim.Adam if optimizer == "adam" else dl.optim.SGD
    opt = make(model.parameters(), lr=0.01)
    scaler = None if scaler_options is None else dl.amp.GradScaler(device, **scaler_options)

    def step(x, y):
        opt.zero_grad()
        with dl.autocast(device, dtype=dtype):
            loss = F.cross_entropy(model(x), y)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        return loss

    return model, opt, scaler, step


def _batches(rng, device, count, overflow_at=(), features=20):
    xs = [rng.standard_normal((16, features)).astype(np.float32) for _ in range(count)]
    for index in overflow_at:
        xs[index][3, 7] = np.inf  # a batch whose gradients are NaN: GradScaler skips it
    return [(dl.tensor(x, device=device), dl.tensor(rng.integers(0, 5, 16), device=device))
            for x in xs]


def _assert_same(eager, replayed):
    for p, q in zip(eager.parameters(), replayed.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("device", HOST)
def test_bf16_autocast_step_replays_as_eager_for_20_steps(device, rng):
    warnings.simplefilter("ignore", RuntimeWarning)  # a cpu without AMX: autocast stays fp32
    # The first weight is large enough for the cpu's oneDNN cast (cpu_backend.NATIVE_MIN_SIZE).
    sizes = (300, 256, 32, 5)
    eager_model, _, _, eager = _step(device, dl.bfloat16, sizes=sizes)
    model, _, _, step = _step(device, dl.bfloat16, sizes=sizes)
    jitted = dl.jit(step)
    for x, y in _batches(rng, device, 20, features=300):
        expected, got = eager(x, y), jitted(x, y)
        assert expected.detach().numpy().tobytes() == got.detach().numpy().tobytes()
        _assert_same(eager_model, model)
    (plan,) = jitted.plans()
    assert plan.replays == 18  # one eager warm-up, one traced call, 18 replays
    if device == "cpu" and amx.bf16_gemm() is not None:
        # oneDNN's kernels run in place on the replay's buffers: the weight cast, the 3 linear
        # layers and their 3 gradients (backends/cpu_replay.py).
        assert plan.compiled.bound_kernels == 7, plan


@pytest.mark.parametrize("device", HOST)
def test_grad_scaler_skips_backs_off_and_grows_in_replay_as_eager(device, rng):
    warnings.simplefilter("ignore", RuntimeWarning)  # cpu float16: computes in float32; inf
    options = {"init_scale": 2.0 ** 10, "growth_interval": 3}
    eager_model, eager_opt, eager_scaler, eager = _step(device, dl.float16, options, "adam")
    model, opt, scaler, step = _step(device, dl.float16, options, "adam")
    jitted = dl.jit(step)
    scales, replays = [], []
    for x, y in _batches(rng, device, 24, overflow_at=(0, 9, 16)):
        expected, got = eager(x, y), jitted(x, y)
        assert expected.detach().numpy().tobytes() == got.detach().numpy().tobytes()
        assert (scaler.get_scale(), scaler._growth_tracker) == (
            eager_scaler.get_scale(), eager_scaler._growth_tracker)
        _assert_same(eager_model, model)
        for p, q in zip(eager_model.parameters(), model.parameters(), strict=True):
            # a skipped update counts no step (the first one created no state at all)
            assert eager_opt.state.get(p, {}).get("step") == opt.state.get(q, {}).get("step")
        scales.append(scaler.get_scale())
        replays.append(sum(plan.replays for plan in jitted.plans()))
    # The overflows at 9 and 16 were replayed: each halved the scale, growth doubled it between.
    assert replays[8] > 0 and replays[9] > replays[8]
    assert scales[9] == scales[8] / 2 and scales[16] == scales[15] / 2
    assert scales[12] == 2 * scales[11] and scales[15] == 2 * scales[14]
    assert opt.state[next(iter(model.parameters()))]["step"] == 24 - 3


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_train_amp_replays_and_equals_no_jit(tmp_path, monkeypatch, device, amp):
    warnings.simplefilter("ignore", RuntimeWarning)  # cpu float16 (or no AMX): float32 GEMMs
    assert_jit_run_equals_no_jit(tmp_path, monkeypatch, device, [
        "--dataset", "digits", "--epochs", "2", "--hidden", "24", "--amp", amp])


def test_a_skipped_update_and_a_failed_replay_take_back_one_step_count(rng):
    """A GradScaler skip and a later error in the same replay both rewind the group: the step
    count the refresh added comes off once, not twice."""
    from deeplite.jit.recorder import OptimizerGroup

    model = dl.nn.Linear(3, 2)
    opt = dl.optim.Adam(model.parameters(), lr=0.01)
    F.mse_loss(model(dl.tensor(rng.standard_normal((4, 3)), dtype="float32")),
               dl.zeros(4, 2)).backward()
    opt.step()  # the optimizer's state now counts one step per parameter
    group = OptimizerGroup(opt, opt.param_groups[0], list(model.parameters()))
    group.counts_steps, group.lr_slot = True, 0
    values = [0.0]
    group.refresh(values)
    assert group.step_counts() == [2, 2]
    group.rewind()  # the gate skipped the update
    group.rewind()  # the replay then failed
    assert group.step_counts() == [1, 1]
    group.refresh(values)
    assert group.step_counts() == [2, 2]
