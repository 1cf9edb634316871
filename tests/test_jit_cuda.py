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


def _assert_matches(eager, replayed):
    """Losses and parameters of two runs. The captured matmuls go to cuBLAS directly, which may
    pick another GEMM algorithm than CuPy's eager call: rounding-level differences only (a lost
    or repeated step, a stale lr or step count, or another dropout mask would differ by far more;
    the masks' keep decisions are integer comparisons, identical on both paths)."""
    np.testing.assert_allclose(replayed[0], eager[0], rtol=1e-5)
    for a, b in zip(eager[1], replayed[1], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_sgd_replay_is_one_graph_and_matches_eager():
    eager = _run(_sgd, jit=False)
    replayed = _run(_sgd, jit=True)
    _assert_matches(eager, replayed)
    (plan,) = replayed[2].plans()
    assert plan.graph is not None and plan.graph.captures == 1


def test_a_changed_learning_rate_reuses_the_one_graph():
    eager = _run(_sgd, jit=False, lr_change_at=5)
    replayed = _run(_sgd, jit=True, lr_change_at=5)
    _assert_matches(eager, replayed)
    assert replayed[2].plans()[0].graph.captures == 1  # the new lr is read from the scalar block


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_adam_and_dropout_replay_as_one_graph_matching_eager(dropout):
    def adam(params):
        return optim.Adam(params, lr=1e-2, weight_decay=1e-3)

    eager = _run(adam, jit=False, lr_change_at=4, dropout=dropout)
    replayed = _run(adam, jit=True, lr_change_at=4, dropout=dropout)
    _assert_matches(eager, replayed)
    # Step counts and stream words change every step: all read from the scalar block.
    assert replayed[2].plans()[0].graph.captures == 1
