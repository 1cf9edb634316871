"""deeplite.amp.GradScaler against torch.amp.GradScaler's trajectory, and its contract."""
import math

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim


def _toy(rng):
    return (rng.standard_normal((32, 3)).astype(np.float32),
            rng.standard_normal((32, 1)).astype(np.float32),
            rng.standard_normal((3, 1)).astype(np.float32))


OVERFLOW_STEPS = {2, 3, 8}  # the loss is multiplied by inf here: every gradient is NaN/inf


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the injected inf losses
def test_trajectory_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    x, y, w0 = _toy(rng)
    w = dl.tensor(w0, device=device, requires_grad=True)
    sgd = optim.SGD([w], lr=0.05, momentum=0.9)
    scaler = dl.amp.GradScaler(device, init_scale=256.0, growth_interval=3)
    tw = torch.tensor(w0, requires_grad=True)
    tsgd = torch.optim.SGD([tw], lr=0.05, momentum=0.9)
    tscaler = torch.amp.GradScaler("cpu", init_scale=256.0, growth_interval=3)
    xs, ys = dl.tensor(x, device=device), dl.tensor(y, device=device)
    for step in range(12):
        factor = math.inf if step in OVERFLOW_STEPS else 1.0
        sgd.zero_grad()
        scaler.scale(((xs @ w - ys) ** 2).mean() * factor).backward()
        scaler.unscale_(sgd)  # as before gradient clipping
        before = w.detach().numpy().copy()
        scaler.step(sgd)
        scaler.update()
        tsgd.zero_grad()
        tscaler.scale(((torch.tensor(x) @ tw - torch.tensor(y)) ** 2).mean() * factor).backward()
        tscaler.unscale_(tsgd)
        tscaler.step(tsgd)
        tscaler.update()
        assert scaler.get_scale() == tscaler.get_scale(), f"step {step}"
        skipped = np.array_equal(w.detach().numpy(), before)
        assert skipped == (step in OVERFLOW_STEPS), f"step {step}"
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert scaler.state_dict() == {k: v for k, v in tscaler.state_dict().items()}


def test_state_dict_round_trip_and_misuse(rng):
    model = nn.Linear(3, 1, device="numpy")
    sgd = optim.SGD(model.parameters(), lr=0.1)
    scaler = dl.amp.GradScaler("numpy", init_scale=8.0, growth_interval=1)
    x = dl.tensor(rng.standard_normal((4, 3)).astype(np.float32), device="numpy")
    scaler.scale(model(x).sum()).backward()
    scaler.unscale_(sgd)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(sgd)
    scaler.step(sgd)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(sgd)
    scaler.update()
    assert scaler.get_scale() == 16.0
    restored = dl.amp.GradScaler("numpy")
    restored.load_state_dict(scaler.state_dict())
    assert restored.state_dict() == scaler.state_dict()
    with pytest.raises(RuntimeError, match="No inf checks"):
        restored.update()
    with pytest.raises(RuntimeError, match="Closure"):
        restored.step(sgd, closure=lambda: None)


def test_disabled_scaler_passes_through(rng):
    scaler = dl.amp.GradScaler("numpy", enabled=False)
    loss = dl.tensor(2.0)
    assert scaler.scale(loss) is loss and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    if not dl.backends.is_available("cuda"):  # PyTorch's default device, absent here
        with pytest.warns(UserWarning, match="not available"):
            assert not dl.amp.GradScaler().is_enabled()


@pytest.mark.parametrize("kwargs", [{"growth_factor": 1.0}, {"backoff_factor": 1.5},
                                    {"growth_interval": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="GradScaler"):
        dl.amp.GradScaler("numpy", **kwargs)
