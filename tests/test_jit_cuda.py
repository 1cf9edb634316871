"""deeplite.jit on cuda: the replay is captured once as a CUDA graph whose kernels read their
per-replay scalars (learning rates, step counts, dropout's stream words) from a device block.

Written without a GPU: these tests have not run yet (they skip without one).
"""
import numpy as np
import pytest
from _steps import bce_step

import deeplite as dl
from deeplite import optim

pytestmark = pytest.mark.cuda


def _run(make_optimizer, jit, lr_change_at=None, steps=8, dropout=0.0):
    dl.manual_seed(0)
    model = dl.nn.MLP([6, 32, 1], dropout=dropout, device="cuda")
    optimizer = make_optimizer(model.parameters())
    rng = np.random.default_rng(0)
    step = bce_step(model, optimizer)
    run = dl.jit(step) if jit else step
    losses = []
    for index in range(steps):
        if index == lr_change_at:
            optimizer.param_groups[0]["lr"] *= 0.5
        x = dl.tensor(rng.standard_normal((16, 6)).astype(np.float32), device="cuda")
        y = dl.tensor((rng.random((16, 1)) < 0.5).astype(np.float32), device="cuda")
        losses.append(float(run(x, y)))
    return losses, [p.detach().numpy() for p in model.parameters()], run


def _sgd(params):
    return optim.SGD(params, lr=0.1, momentum=0.9)


def test_sgd_replay_is_one_graph_and_equals_eager():
    eager_losses, eager_params, _ = _run(_sgd, jit=False)
    losses, params, run = _run(_sgd, jit=True)
    assert losses == eager_losses
    for a, b in zip(eager_params, params, strict=True):
        np.testing.assert_array_equal(a, b)
    (plan,) = run.plans()
    assert plan.graph is not None and plan.graph.captures == 1


def test_a_changed_learning_rate_reuses_the_one_graph():
    eager_losses, _, _ = _run(_sgd, jit=False, lr_change_at=5)
    losses, _, run = _run(_sgd, jit=True, lr_change_at=5)
    assert losses == eager_losses
    assert run.plans()[0].graph.captures == 1  # the new lr is read from the scalar block


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_adam_and_dropout_replay_as_one_graph_equal_to_eager(dropout):
    def adam(params):
        return optim.Adam(params, lr=1e-2, weight_decay=1e-3)

    eager_losses, eager_params, _ = _run(adam, jit=False, lr_change_at=4, dropout=dropout)
    losses, params, run = _run(adam, jit=True, lr_change_at=4, dropout=dropout)
    assert losses == eager_losses
    for a, b in zip(eager_params, params, strict=True):
        np.testing.assert_array_equal(a, b)
    assert run.plans()[0].graph.captures == 1  # step counts and stream words change each step
