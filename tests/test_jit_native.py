"""The cpu plan's native ops: each replays the eager kernel bit for bit, in one ``_C`` call."""
import numpy as np
import pytest

import deeplite as dl
import deeplite.nn.functional as F
from deeplite import optim

# name -> loss of (x, w): each exercises native ops in forward and backward (reduction "sum"
# and "none" included), on inputs of odd sizes.
LOSSES = {
    "sigmoid": lambda x, w: F.sigmoid(x * w).sum(),
    "relu": lambda x, w: (F.relu(x - w) * 1.5).sum(),
    "leaky_relu": lambda x, w: F.leaky_relu(x / w, 0.2).sum(),
    "softplus": lambda x, w: F.softplus(x + w).sum(),
    "tanh": lambda x, w: F.tanh(x * w).sum(),
    "bce_sum": lambda x, w: F.binary_cross_entropy_with_logits(
        x * w, (x > 0).float(), reduction="sum"),
    "bce_none": lambda x, w: F.binary_cross_entropy_with_logits(
        x - w, (x > 0.5).float(), reduction="none").sum(),
    "linear": lambda x, w: F.linear(x, w.reshape(7, 1) * 1.0, activation="sigmoid").sum(),
}


def _run(device, loss_of, jit: bool, steps: int = 5):
    dl.manual_seed(0)
    w = dl.nn.Parameter(dl.rand(7, device=device) + 0.5)
    optimizer = optim.SGD([w], lr=0.05, momentum=0.5)
    rng = np.random.default_rng(1)

    def step(x):
        optimizer.zero_grad()
        loss = loss_of(x, w)
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step) if jit else step
    losses = [run(dl.tensor(rng.standard_normal((5, 7)).astype(np.float32), device=device))
              .detach().numpy() for _ in range(steps)]
    return losses, w.detach().numpy(), run


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_native_ops_replay_the_eager_kernels(device, name):
    eager_losses, eager_w, _ = _run(device, LOSSES[name], jit=False)
    losses, w, run = _run(device, LOSSES[name], jit=True)
    for a, b in zip(eager_losses, losses, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(eager_w, w)
    (plan,) = run.plans()
    if device == "cpu":
        assert plan.compiled.native_kernels > 0 and len(plan.native_plans) >= 1


def test_a_whole_mlp_step_is_one_native_call():
    if not dl.backends.is_available("cpu"):
        pytest.skip("needs the cpu backend")
    dl.manual_seed(0)
    model = dl.nn.MLP([3, 8, 4], activation="leaky_relu", device="cpu")
    optimizer = optim.RMSprop(model.parameters(), lr=1e-3)

    def step(x, y):
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y, reduction="sum")
        loss.backward()
        optimizer.step()
        return loss, (logits.detach().argmax(axis=1) == y).sum()  # the accuracy count

    run = dl.jit(step)
    rng = np.random.default_rng(2)
    for _ in range(6):
        x = dl.tensor(rng.standard_normal((6, 3)).astype(np.float32), device="cpu")
        y = dl.tensor(rng.integers(0, 4, 6), device="cpu")
        with dl.no_grad():
            expected = int((model(x).argmax(axis=1) == y).sum())
        loss, correct = run(x, y)
        assert int(correct) == expected and correct.dtype == np.int64 and correct.shape == ()
    (plan,) = run.plans()
    assert plan.compiled.python_kernels == 0 and len(plan.native_plans) == 1
    assert "1 _C call" in repr(plan)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_plan_comparisons_match_numpy(rng, dtype):
    if not dl.backends.is_available("cpu"):
        pytest.skip("needs the cpu backend")
    from deeplite import _C

    a = (rng.standard_normal((5, 4)) * 2).astype(dtype)
    for b in ((rng.standard_normal(4) * 2).astype(dtype), a[1].copy(), np.array(a[2, 1])):
        for code, ufunc in enumerate((np.equal, np.not_equal, np.less, np.less_equal,
                                      np.greater, np.greater_equal)):
            for first, second in ((a, b), (b, a)):
                out = np.empty(a.shape, np.bool_)
                plan = _C.Plan(np.zeros(1))
                plan.compare(code, first, second, out)
                plan.run()
                np.testing.assert_array_equal(out, ufunc(first, second))


def test_plan_argmax_and_count_match_numpy(rng):
    if not dl.backends.is_available("cpu"):
        pytest.skip("needs the cpu backend")
    from deeplite import _C

    x = rng.standard_normal((6, 5)).astype(np.float32)
    x[1, 3] = x[1, 1] = x[1].max() + 1  # a tie: the first one wins
    x[4, 2], x[4, 4] = np.nan, np.nan  # NaN: the first NaN wins
    mask = rng.random(37) < 0.4
    rows, count = np.empty(6, np.int64), np.zeros((), np.int64)
    plan = _C.Plan(np.zeros(1))
    plan.argmax(x, 1, rows)
    plan.count_nonzero(mask, count)
    plan.run()
    np.testing.assert_array_equal(rows, np.argmax(x, axis=1))
    assert int(count) == int(np.sum(mask))


def test_plan_adders_refuse_what_they_do_not_cover():
    if not dl.backends.is_available("cpu"):
        pytest.skip("needs the cpu backend")
    from deeplite import _C

    plan = _C.Plan(np.zeros(1))
    a = np.ones((4, 3), np.float32)
    with pytest.raises(_C.Unsupported):  # a strided (non-contiguous) operand
        plan.copy(a[:, ::2], np.empty((4, 2), np.float32))
    with pytest.raises(_C.Unsupported):  # mixed dtypes
        plan.binary(0, a, np.ones(3, np.float64), np.empty((4, 3), np.float32))
    with pytest.raises(_C.Unsupported):  # a broadcast that is not a trailing one
        plan.binary(2, a, np.ones((4, 1), np.float32), np.empty((4, 3), np.float32))
    with pytest.raises(IndexError):  # a scalar slot outside the block
        plan.sgd_step([a], [a], None, False, 3, 0.0, 0.0, 0.0, False, False)
    assert len(plan) == 0
