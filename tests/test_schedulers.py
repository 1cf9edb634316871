"""Learning-rate schedulers: hand-computed values, and trajectories equal to PyTorch's.

Every trajectory runs on two parameter groups with different learning rates (and momentum), so
per-group handling is exercised too. Equality is exact where the arithmetic is the same sequence
of float64 operations; 1e-12 relative otherwise.
"""
import json
import math

import numpy as np
import pytest

import deeplite as dl
from deeplite.optim import lr_scheduler as ours_lr

EXACT = dict(rtol=1e-12, atol=0)


def _groups(module, lrs=(0.1, 0.03)):
    weights = [module.zeros(2, requires_grad=True) for _ in lrs]
    return [{"params": [w], "lr": lr} for w, lr in zip(weights, lrs, strict=True)]


def _trajectory(optimizer, scheduler, steps, metrics=None, momentum=None):
    """The learning rates (and momenta) of every group after construction and each step."""
    rows = []
    for step in range(steps + 1):
        if step:
            optimizer.step()
            scheduler.step() if metrics is None else scheduler.step(metrics[step - 1])
        row = [group["lr"] for group in optimizer.param_groups]
        if momentum:
            row += [_momentum(group, momentum) for group in optimizer.param_groups]
        rows.append(row)
    return np.array(rows)


def _momentum(group, key):
    return group["betas"][0] if key == "betas" else group[key]


# (name, kwargs, optimizer, steps); lambdas are shared by both frameworks.
CASES = [
    ("LambdaLR", dict(lr_lambda=lambda epoch: 0.9 ** epoch + 0.01 * epoch), "SGD", 12),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.5]), "SGD", 6),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.95 if epoch % 2 else 0.8), "SGD", 10),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5), "SGD", 12),
    ("StepLR", dict(step_size=3, gamma=0.3), "SGD", 10),
    ("ExponentialLR", dict(gamma=0.87), "SGD", 10),
    ("ConstantLR", dict(factor=0.25, total_iters=4), "SGD", 8),
    ("LinearLR", dict(start_factor=0.2, end_factor=0.9, total_iters=6), "SGD", 10),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001), "SGD", 13),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.002), "SGD", 25),
    ("CosineAnnealingWarmRestarts", dict(T_0=4), "SGD", 12),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], total_steps=20), "SGD", 20),
    ("OneCycleLR", dict(max_lr=0.01, epochs=3, steps_per_epoch=5, anneal_strategy="linear",
                        three_phase=True, pct_start=0.25), "Adam", 15),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=9, cycle_momentum=False, div_factor=10.0,
                        final_div_factor=100.0), "SGD", 9),
]


def _pair(torch, optimizer_name, **options):
    """The same two-group optimizer in deeplite and PyTorch."""
    extra = {"momentum": 0.9} if optimizer_name == "SGD" else {}
    ours = getattr(dl.optim, optimizer_name)(_groups(dl), **extra, **options)
    theirs = getattr(torch.optim, optimizer_name)(_groups(torch), **extra, **options)
    return ours, theirs


@pytest.mark.parametrize("name, kwargs, optimizer_name, steps", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_trajectory_equals_pytorch(name, kwargs, optimizer_name, steps):
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = _pair(torch, optimizer_name)
    momentum = None
    if name == "OneCycleLR" and kwargs.get("cycle_momentum", True):
        momentum = "betas" if optimizer_name == "Adam" else "momentum"
    ours = _trajectory(ours_opt, getattr(ours_lr, name)(ours_opt, **kwargs), steps,
                       momentum=momentum)
    theirs = _trajectory(theirs_opt, getattr(torch.optim.lr_scheduler, name)(theirs_opt,
                                                                             **kwargs),
                         steps, momentum=momentum)
    np.testing.assert_allclose(ours, theirs, **EXACT)


def test_sequential_lr_equals_pytorch():
    torch = pytest.importorskip("torch")
    rows = []
    for lib, module in ((ours_lr, dl), (torch.optim.lr_scheduler, torch)):
        optim = dl.optim if module is dl else torch.optim
        optimizer = optim.SGD(_groups(module), momentum=0.9)
        warmup = lib.LinearLR(optimizer, start_factor=0.1, total_iters=3)
        middle = lib.ConstantLR(optimizer, factor=0.5, total_iters=2)
        cosine = lib.CosineAnnealingLR(optimizer, T_max=6, eta_min=0.001)
        scheduler = lib.SequentialLR(optimizer, [warmup, middle, cosine], milestones=[3, 6])
        rows.append(_trajectory(optimizer, scheduler, 16))
        assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    np.testing.assert_allclose(rows[0], rows[1], **EXACT)


def test_reduce_lr_on_plateau_equals_pytorch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    for options in (dict(patience=1, cooldown=1, min_lr=[0.0, 0.02]),
                    dict(mode="max", patience=2, threshold=0.05, threshold_mode="abs",
                         factor=0.5)):
        ours_opt, theirs_opt = _pair(torch, "SGD")
        ours = _trajectory(ours_opt, ours_lr.ReduceLROnPlateau(ours_opt, **options),
                           len(metrics), metrics)
        theirs = _trajectory(theirs_opt, torch.optim.lr_scheduler.ReduceLROnPlateau(
            theirs_opt, **options), len(metrics), metrics)
        np.testing.assert_allclose(ours, theirs, **EXACT)
        assert ours[0, 0] != ours[-1, 0]  # the schedule did reduce


def test_hand_computed_values():
    def run(make, steps):
        optimizer = dl.optim.SGD([dl.zeros(1, requires_grad=True)], lr=0.05)
        return _trajectory(optimizer, make(optimizer), steps)[:, 0]
    np.testing.assert_allclose(run(lambda o: ours_lr.LinearLR(o, 0.5, total_iters=4), 5),
                               [0.025, 0.03125, 0.0375, 0.04375, 0.05, 0.05], rtol=1e-12)
    np.testing.assert_allclose(run(lambda o: ours_lr.ConstantLR(o, 0.5, total_iters=2), 3),
                               [0.025, 0.025, 0.05, 0.05], rtol=1e-12)
    np.testing.assert_allclose(run(lambda o: ours_lr.MultiStepLR(o, [1, 3], 0.1), 3),
                               [0.05, 0.005, 0.005, 0.0005], rtol=1e-12)
    one_cycle = run(lambda o: ours_lr.OneCycleLR(o, max_lr=1.0, total_steps=11,
                                                 cycle_momentum=False), 10)
    # warm-up ends at step 0.3 * 11 - 1 = 2.3; the last step reaches initial_lr / 1e4
    assert one_cycle[0] == pytest.approx(1 / 25) and one_cycle[-1] == pytest.approx(4e-6)
    assert max(one_cycle) < 1.0 and np.argmax(one_cycle) in (2, 3)
    restarts = run(lambda o: ours_lr.CosineAnnealingWarmRestarts(o, T_0=2), 4)
    np.testing.assert_allclose(restarts, [0.05, 0.025, 0.05, 0.025, 0.05], rtol=1e-12)


def test_state_dict_round_trip_through_json_resumes_exactly():
    def build():
        optimizer = dl.optim.SGD(_groups(dl), momentum=0.9)
        warm = ours_lr.LinearLR(optimizer, start_factor=0.1, total_iters=3)
        steps = ours_lr.MultiStepLR(optimizer, milestones=[5, 7], gamma=0.5)
        return optimizer, ours_lr.SequentialLR(optimizer, [warm, steps], milestones=[3])

    optimizer, scheduler = build()
    _trajectory(optimizer, scheduler, 4)
    saved = json.loads(json.dumps(scheduler.state_dict()))  # as save_training_state stores it
    saved_groups = [{k: v for k, v in g.items() if k != "params"} for g in
                    optimizer.param_groups]
    expected = _trajectory(optimizer, scheduler, 6)
    resumed_opt, resumed = build()
    for group, values in zip(resumed_opt.param_groups, saved_groups, strict=True):
        group.update(values)
    resumed.load_state_dict(saved)
    np.testing.assert_allclose(_trajectory(resumed_opt, resumed, 6), expected, **EXACT)


def test_lambda_state_dict_saves_callable_objects_only():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    optimizer = dl.optim.SGD(_groups(dl), lr=0.1)
    decay = Decay()
    scheduler = ours_lr.LambdaLR(optimizer, [decay, lambda epoch: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    state["lr_lambdas"][0]["rate"] = 0.25
    scheduler.load_state_dict(state)
    assert decay.rate == 0.25


def test_last_epoch_resume_needs_initial_lr_and_uses_closed_form():
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = _pair(torch, "SGD")
    with pytest.raises(KeyError, match="initial_lr"):
        ours_lr.CosineAnnealingLR(ours_opt, T_max=10, last_epoch=3)
    for optimizer in (ours_opt, theirs_opt):
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    ours = _trajectory(ours_opt, ours_lr.CosineAnnealingLR(ours_opt, 10, last_epoch=3), 5)
    theirs = _trajectory(theirs_opt, torch.optim.lr_scheduler.CosineAnnealingLR(
        theirs_opt, 10, last_epoch=3), 5)
    np.testing.assert_allclose(ours, theirs, **EXACT)


def test_bad_arguments_raise_pytorch_errors():
    optimizer = dl.optim.SGD(_groups(dl), lr=0.1)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        ours_lr.LambdaLR(optimizer, [lambda e: 1.0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ours_lr.ConstantLR(optimizer, factor=2)
    with pytest.raises(ValueError, match="total_steps OR"):
        ours_lr.OneCycleLR(optimizer, max_lr=0.1)
    with pytest.raises(ValueError, match="same length as optimizer.param_groups"):
        ours_lr.OneCycleLR(optimizer, max_lr=[0.1], total_steps=5)
    with pytest.raises(ValueError, match="must support momentum"):
        ours_lr.OneCycleLR(dl.optim.Adagrad(_groups(dl)), max_lr=0.1, total_steps=5)
    scheduler = ours_lr.OneCycleLR(optimizer, max_lr=0.1, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        scheduler.step()
    with pytest.raises(ValueError, match="positive integer T_0"):
        ours_lr.CosineAnnealingWarmRestarts(optimizer, T_0=0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        ours_lr.SequentialLR(optimizer, [ours_lr.StepLR(optimizer, 2)], milestones=[3])
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ours_lr.ReduceLROnPlateau(optimizer, factor=1.5)


def test_warm_restarts_fractional_epochs_equal_pytorch():
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = _pair(torch, "SGD")
    ours = ours_lr.CosineAnnealingWarmRestarts(ours_opt, T_0=2, T_mult=3)
    theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs_opt, T_0=2, T_mult=3)
    for epoch in np.arange(0, 12, 0.25):
        ours.step(float(epoch))
        theirs.step(float(epoch))
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
    assert math.isclose(ours.T_i, theirs.T_i)
