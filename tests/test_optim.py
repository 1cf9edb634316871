"""deeplite.optim: update rules vs hand-computed steps and PyTorch; groups, state, schedulers."""
import math

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn, optim
from deeplite.optim import lr_scheduler

STEPS = 4


def _setup(rng, device, shapes=((3, 4), (4,))):
    """Parameters with fresh random values and a fixed sequence of random gradients."""
    initial = [rng.standard_normal(shape) for shape in shapes]
    grads = [[rng.standard_normal(shape) for shape in shapes] for _ in range(STEPS)]
    params = [nn.Parameter(dl.tensor(value, device=device)) for value in initial]
    return params, initial, grads


def _run(optimizer, params, grads, device):
    trajectory = []
    for step_grads in grads:
        for param, grad in zip(params, step_grads):
            param.grad = dl.tensor(grad, device=device)
        optimizer.step()
        trajectory.append([param.detach().numpy().copy() for param in params])
    return trajectory


# ---- hand-computed references: PyTorch's documented rules, written out independently -------------
def _sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    buf, out = None, []
    for g in grads:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def _adam_reference(p, grads, lr, betas, eps, weight_decay, amsgrad=False, decoupled=False):
    m = v = v_max = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - betas[0] ** t)
        v_hat = (v_max if amsgrad else v) / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def _rmsprop_reference(p, grads, lr, alpha, eps, weight_decay, momentum, centered):
    square = np.zeros_like(p)
    mean = np.zeros_like(p)
    buf = np.zeros_like(p)
    out = []
    for g in grads:
        g = g + weight_decay * p
        square = alpha * square + (1 - alpha) * g * g
        if centered:
            mean = alpha * mean + (1 - alpha) * g
        denom = np.sqrt(square - mean * mean) + eps
        if momentum:
            buf = momentum * buf + g / denom
            p = p - lr * buf
        else:
            p = p - lr * g / denom
        out.append(p)
    return out


def _adagrad_reference(p, grads, lr, lr_decay, weight_decay, initial, eps):
    total = np.full_like(p, initial)
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * p
        total = total + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + eps)
        out.append(p)
    return out


CASES = [
    ("SGD", dict(lr=0.1), _sgd_reference),
    ("SGD", dict(lr=0.05, momentum=0.9), _sgd_reference),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1), _sgd_reference),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), _sgd_reference),
    ("Adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), _adam_reference),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True),
     _adam_reference),
    ("AdamW", dict(lr=0.02, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1), _adam_reference),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.0, momentum=0.0,
                     centered=False), _rmsprop_reference),
    ("RMSprop", dict(lr=0.01, alpha=0.95, eps=1e-6, weight_decay=0.1, momentum=0.5,
                     centered=True), _rmsprop_reference),
    ("Adagrad", dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                     eps=1e-10), _adagrad_reference),
    ("Adagrad", dict(lr=0.1, lr_decay=0.2, weight_decay=0.05, initial_accumulator_value=0.4,
                     eps=1e-8), _adagrad_reference),
]


@pytest.mark.parametrize("name, kwargs, reference", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_updates_match_hand_computed_rules(device, rng, name, kwargs, reference):
    params, initial, grads = _setup(rng, device)
    trajectory = _run(getattr(optim, name)(params, **kwargs), params, grads, device)
    extra = {"initial": kwargs["initial_accumulator_value"]} if name == "Adagrad" else {}
    reference_kwargs = {k: v for k, v in kwargs.items() if k != "initial_accumulator_value"}
    if name == "AdamW":
        reference_kwargs["decoupled"] = True
    for index, start in enumerate(initial):
        expected = reference(start, [g[index] for g in grads], **reference_kwargs, **extra)
        for step in range(STEPS):
            # float64 throughout: only rounding-order differences remain
            np.testing.assert_allclose(trajectory[step][index], expected[step], rtol=1e-12,
                                       atol=1e-14, err_msg=f"step {step + 1}")


def test_sgd_momentum_buffer_starts_as_the_first_gradient(rng):
    params, _, grads = _setup(rng, "numpy")
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.5)
    _run(optimizer, params, grads[:1], "numpy")
    np.testing.assert_array_equal(optimizer.state[params[0]]["momentum_buffer"].numpy(),
                                  grads[0][0])


def test_maximize_climbs(rng):
    params, initial, grads = _setup(rng, "numpy")
    trajectory = _run(optim.SGD(params, lr=0.1, maximize=True), params, grads[:1], "numpy")
    np.testing.assert_allclose(trajectory[0][0], initial[0] + 0.1 * grads[0][0], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
])
def test_training_trajectory_matches_pytorch(device, rng, name, kwargs):
    torch = pytest.importorskip("torch")
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    model = nn.MLP([3, 8, 1], activation="tanh", dtype=dl.float64).to(device)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(),
                                    torch.nn.Linear(8, 1)).double()
    with torch.no_grad():
        for ours, theirs in zip(model.layers, (reference[0], reference[2])):
            theirs.weight.copy_(torch.tensor(ours.weight.detach().numpy().T))  # (out, in) there
            theirs.bias.copy_(torch.tensor(ours.bias.detach().numpy()))
    optimizer = getattr(optim, name)(model.parameters(), **kwargs)
    torch_optimizer = getattr(torch.optim, name)(reference.parameters(), **kwargs)
    for _ in range(5):
        optimizer.zero_grad()
        nn.MSELoss()(model(dl.tensor(x, device=device)), dl.tensor(y, device=device)).backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        torch.nn.functional.mse_loss(reference(torch.tensor(x)), torch.tensor(y)).backward()
        torch_optimizer.step()
    for ours, theirs in zip(model.layers, (reference[0], reference[2])):
        np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy().T,
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.bias.detach().numpy(), theirs.bias.detach().numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_float32_training_reduces_the_loss(device, rng):
    dl.manual_seed(int(rng.integers(1 << 30)))
    x = dl.tensor(rng.standard_normal((64, 2)), dtype=dl.float32, device=device)
    y = dl.tensor((rng.standard_normal(64) > 0).astype(np.float32), device=device)
    model = nn.MLP([2, 16, 1]).to(device)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.BCEWithLogitsLoss()(model(x).reshape(-1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] and all(p.dtype == dl.float32 for p in model.parameters())


# ---- one fused kernel call per group -------------------------------------------------------------
@pytest.mark.parametrize("name, kernel", [("SGD", "sgd_step"), ("Adam", "adam_step"),
                                          ("AdamW", "adam_step"), ("RMSprop", "rmsprop_step"),
                                          ("Adagrad", "adagrad_step")])
def test_each_group_is_one_fused_kernel_call(device, rng, monkeypatch, name, kernel):
    backend = dl.backends.get(device)
    calls = []
    original = getattr(backend, kernel)
    monkeypatch.setattr(backend, kernel, lambda *args: calls.append(len(args[0])) or
                        original(*args))
    params, _, grads = _setup(rng, device, shapes=((3, 4), (4,), (2,)))
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.5}]
    _run(getattr(optim, name)(groups, lr=0.1), params, grads[:2], device)
    assert calls == [2, 1, 2, 1]


# ---- groups, validation, zero_grad ---------------------------------------------------------------
def test_param_groups_take_their_own_hyperparameters(rng):
    params, initial, grads = _setup(rng, "numpy")
    optimizer = optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 1.0}], lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 1.0]
    _run(optimizer, params, grads[:1], "numpy")
    np.testing.assert_allclose(params[0].detach().numpy(), initial[0] - 0.1 * grads[0][0])
    np.testing.assert_allclose(params[1].detach().numpy(), initial[1] - 1.0 * grads[0][1])


def test_parameters_without_gradients_are_left_alone(rng):
    params, initial, grads = _setup(rng, "numpy")
    optimizer = optim.Adam(params, lr=0.1)
    params[0].grad = dl.tensor(grads[0][0], device="numpy")
    optimizer.step()
    np.testing.assert_array_equal(params[1].detach().numpy(), initial[1])
    assert params[1] not in optimizer.state and optimizer.state[params[0]]["step"] == 1


def test_zero_grad_and_closure(rng):
    params, _, grads = _setup(rng, "numpy")
    optimizer = optim.SGD(params, lr=0.1)
    for param, grad in zip(params, grads[0]):
        param.grad = dl.tensor(grad, device="numpy")
    optimizer.zero_grad(set_to_none=False)
    assert all(np.all(param.grad.numpy() == 0) for param in params)
    optimizer.zero_grad()
    assert all(param.grad is None for param in params)

    def closure():
        optimizer.zero_grad()
        loss = (params[0] * params[0]).sum()
        loss.backward()
        return loss

    before = params[0].detach().numpy().copy()
    loss = optimizer.step(closure)
    assert loss.item() == pytest.approx((before ** 2).sum())
    np.testing.assert_allclose(params[0].detach().numpy(), before * 0.8)  # p - 0.1 * 2p


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-1.0), "Invalid learning rate: -1.0"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD(p + p, lr=0.1), "more than once"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
])
def test_validation_messages_follow_pytorch(rng, make, message):
    params, _, _ = _setup(rng, "numpy")
    with pytest.raises(ValueError, match=message):
        make(params)


def test_type_errors_for_wrong_params(rng):
    params, _, _ = _setup(rng, "numpy")
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor"):
        optim.SGD(params[0], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)


def test_a_group_on_two_devices_is_a_clear_error(rng):
    devices = dl.backends.available()
    if len(devices) < 2:
        pytest.skip("needs two available devices")
    params, _, grads = _setup(rng, devices[0])
    params[1].data = dl.tensor(params[1].detach().numpy(), device=devices[1]).data
    params[1]._backend = dl.backends.get(devices[1])
    optimizer = optim.SGD(params, lr=0.1)
    for param, grad in zip(params, grads[0]):
        param.grad = dl.tensor(grad, device=param.device)
    with pytest.raises(ValueError, match="SGD.step: parameter group 0 mixes devices"):
        optimizer.step()


def test_moving_the_model_after_some_steps_moves_the_state(rng):
    devices = dl.backends.available()
    if len(devices) < 2:
        pytest.skip("needs two available devices")
    source, target = devices[-1], devices[0]
    params, _, grads = _setup(rng, source)
    still = [nn.Parameter(dl.tensor(p.detach().numpy(), device=source)) for p in params]
    moving, staying = optim.Adam(params, lr=0.1), optim.Adam(still, lr=0.1)
    _run(moving, params, grads[:2], source)
    _run(staying, still, grads[:2], source)
    holder = nn.Module()
    holder.params = params
    holder.to(target)
    _run(moving, params, grads[2:], target)
    _run(staying, still, grads[2:], source)
    assert moving.state[params[0]]["exp_avg"].device == target
    for a, b in zip(params, still):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


# ---- state_dict ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)),
                                          ("Adam", dict(lr=0.01, amsgrad=True)),
                                          ("RMSprop", dict(momentum=0.3, centered=True)),
                                          ("Adagrad", dict(lr=0.1))])
def test_state_dict_round_trip_continues_identically(device, rng, name, kwargs):
    params, initial, grads = _setup(rng, device)
    optimizer = getattr(optim, name)(params, **kwargs)
    _run(optimizer, params, grads[:2], device)
    saved = optimizer.state_dict()
    assert list(saved["state"]) == [0, 1] and saved["param_groups"][0]["params"] == [0, 1]
    assert name == "SGD" or saved["state"][0]["step"] == 2

    clones = [nn.Parameter(dl.tensor(p.detach().numpy(), device=device)) for p in params]
    resumed = getattr(optim, name)(clones, lr=123.0)  # hyperparameters come from the state
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    first = _run(optimizer, params, grads[2:], device)
    second = _run(resumed, clones, grads[2:], device)
    for a, b in zip(first[-1], second[-1]):
        np.testing.assert_array_equal(a, b)
    key = next(iter(resumed.state[clones[0]].keys() - {"step"}))
    assert resumed.state[clones[0]][key].data is not optimizer.state[params[0]][key].data


def test_load_state_dict_rejects_mismatches(rng):
    params, _, grads = _setup(rng, "numpy")
    optimizer = optim.Adam(params)
    _run(optimizer, params, grads[:1], "numpy")
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 1"):
        optim.Adam(params).load_state_dict({"state": {}, "param_groups": saved["param_groups"] * 2})
    with pytest.raises(ValueError, match="group 0 has 2 parameters, the optimizer's has 1"):
        optim.Adam(params[:1]).load_state_dict(saved)
    swapped = [nn.Parameter(dl.tensor(rng.standard_normal((4, 3)))), params[1]]
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(3, 4\), the "
                                         r"parameter has shape \(4, 3\)"):
        optim.Adam(swapped).load_state_dict(saved)


# ---- schedulers ----------------------------------------------------------------------------------
def _lrs(make, epochs=12, lr=0.5):
    optimizer = optim.SGD([nn.Parameter(dl.tensor([1.0]))], lr=lr)
    scheduler = make(optimizer)
    values = [optimizer.param_groups[0]["lr"]]
    for _ in range(epochs):
        optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr()[0])
        assert values[-1] == optimizer.param_groups[0]["lr"]
    return values


def test_step_and_exponential_schedules():
    expected = [0.5 * 0.5 ** (epoch // 3) for epoch in range(13)]
    np.testing.assert_allclose(_lrs(lambda o: lr_scheduler.StepLR(o, 3, gamma=0.5)), expected,
                               rtol=1e-14)
    np.testing.assert_allclose(_lrs(lambda o: lr_scheduler.ExponentialLR(o, 0.9)),
                               [0.5 * 0.9 ** epoch for epoch in range(13)], rtol=1e-13)


def test_cosine_annealing_follows_the_closed_form_and_rises_again():
    values = _lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.1), epochs=12)
    closed = [0.1 + 0.4 * (1 + math.cos(math.pi * epoch / 5)) / 2 for epoch in range(13)]
    np.testing.assert_allclose(values, closed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, kwargs", [("StepLR", dict(step_size=2, gamma=0.3)),
                                          ("ExponentialLR", dict(gamma=0.8)),
                                          ("CosineAnnealingLR", dict(T_max=4, eta_min=0.01))])
def test_schedules_match_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _lrs(lambda o: getattr(lr_scheduler, name)(o, **kwargs), epochs=10)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = getattr(torch.optim.lr_scheduler, name)(optimizer, **kwargs)
    theirs = [optimizer.param_groups[0]["lr"]]
    for _ in range(10):
        optimizer.step()
        scheduler.step()
        theirs.append(scheduler.get_last_lr()[0])
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


def test_scheduler_state_dict_and_errors():
    optimizer = optim.SGD([nn.Parameter(dl.tensor([1.0]))], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    scheduler.step()
    scheduler.step()
    state = scheduler.state_dict()
    assert state["last_epoch"] == 2 and "optimizer" not in state
    other_optimizer = optim.SGD([nn.Parameter(dl.tensor([1.0]))], lr=0.25)
    other = lr_scheduler.StepLR(other_optimizer, step_size=1, gamma=0.5)
    other.load_state_dict(state)
    other.step()
    assert other.last_epoch == 3 and other_optimizer.param_groups[0]["lr"] == 0.125
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        lr_scheduler.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive int"):
        lr_scheduler.CosineAnnealingLR(optimizer, T_max=0)
