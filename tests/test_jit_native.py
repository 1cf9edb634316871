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
        loss = F.cross_entropy(model(x), y, reduction="sum")
        loss.backward()
        optimizer.step()
        return loss

    run = dl.jit(step)
    x, y = dl.randn(6, 3, device="cpu"), dl.tensor(np.arange(6) % 4, device="cpu")
    for _ in range(3):
        run(x, y)
    (plan,) = run.plans()
    assert plan.compiled.python_kernels == 0 and len(plan.native_plans) == 1
    assert "1 _C call" in repr(plan)


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
