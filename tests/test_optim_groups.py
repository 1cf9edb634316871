"""Every optimizer honours per-group options, against PyTorch's trajectories on every backend.

Each case trains two parameter groups with different hyperparameters (lr, weight decay, ...)
for several steps from the same gradients, adds a third group part-way (add_param_group), and
compares the parameters with PyTorch's after every step. float32 state on both sides; the
kernels order their float32 operations differently from PyTorch, so agreement is to ~1e-5.
"""
import numpy as np
import pytest

import deeplite as dl

TOL = dict(rtol=2e-5, atol=2e-6)

# (optimizer, defaults, per-group overrides for group 0, for the group added later)
CASES = [
    ("SGD", dict(lr=0.1), dict(lr=0.02, weight_decay=0.1), dict(lr=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), dict(momentum=0.5, weight_decay=0.01),
     dict(lr=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True), dict(lr=0.2),
     dict(momentum=0.0)),
    ("Adam", dict(lr=0.01), dict(lr=0.05, weight_decay=0.1, amsgrad=True), dict(betas=(0.8, 0.9))),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True), dict(eps=1e-3), dict(lr=0.1)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5), dict(lr=0.03, amsgrad=True)),
    ("RMSprop", dict(lr=0.01), dict(momentum=0.9, centered=True), dict(alpha=0.9)),
    ("Adagrad", dict(lr=0.1), dict(lr_decay=0.1, weight_decay=0.2), dict(lr=0.5)),
    ("NAdam", dict(lr=0.01), dict(weight_decay=0.1, momentum_decay=0.01), dict(lr=0.05)),
    ("NAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.3, maximize=True),
     dict(betas=(0.8, 0.99)), dict(lr=0.05)),
    ("RAdam", dict(lr=0.01), dict(weight_decay=0.1), dict(betas=(0.5, 0.9))),
    ("RAdam", dict(lr=0.02, decoupled_weight_decay=True, weight_decay=0.2), dict(lr=0.1),
     dict(lr=0.01, maximize=True)),
]


def _make(module, arrays, device=None):
    if device is None:
        return [module.tensor(a.copy(), requires_grad=True) for a in arrays]
    return [dl.tensor(a.copy(), device=device, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name, defaults, first, later", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_param_groups_follow_pytorch(device, rng, name, defaults, first, later):
    torch = pytest.importorskip("torch")
    shapes = [(3, 4), (4,), (2, 5), (5,)]
    arrays = [rng.normal(size=s).astype(np.float32) for s in shapes]
    extra = rng.normal(size=(6,)).astype(np.float32)
    ours, theirs = _make(dl, arrays, device), _make(torch, arrays)
    ours_extra, theirs_extra = _make(dl, [extra], device), _make(torch, [extra])

    def groups(params):
        return [dict(params=params[:2], **first), dict(params=params[2:])]
    ours_opt = getattr(dl.optim, name)(groups(ours), **defaults)
    theirs_opt = getattr(torch.optim, name)(groups(theirs), **defaults)
    for step in range(12):
        if step == 4:  # a group added mid-run gets the defaults plus its own options
            ours_opt.add_param_group(dict(params=ours_extra, **later))
            theirs_opt.add_param_group(dict(params=theirs_extra, **later))
        current = ours + (ours_extra if step >= 4 else [])
        reference = theirs + (theirs_extra if step >= 4 else [])
        for p, q in zip(current, reference, strict=True):
            grad = rng.normal(size=p.shape).astype(np.float32)
            p.grad = dl.tensor(grad, device=device)
            q.grad = torch.from_numpy(grad)
        ours_opt.step()
        theirs_opt.step()
        for p, q in zip(current, reference, strict=True):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOL,
                                       err_msg=f"{name} step {step}")
    assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in theirs_opt.param_groups]


def test_zero_grad_set_to_none_as_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = dl.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    for tensor, module in ((ours, dl), (theirs, torch)):
        optimizer = (dl.optim.SGD if module is dl else torch.optim.SGD)([tensor], lr=0.1)
        (tensor * 2).sum().backward()
        optimizer.zero_grad(set_to_none=False)
        assert tensor.grad is not None and not tensor.grad.numpy().any()
        optimizer.zero_grad()
        assert tensor.grad is None


def test_nadam_and_radam_state_and_errors(device):
    param = dl.tensor([1.0, -2.0], device=device, requires_grad=True)
    for optimizer in (dl.optim.NAdam([param]), dl.optim.RAdam([param])):
        param.grad = dl.tensor([0.5, 0.5], device=device)
        optimizer.step()
        state = optimizer.state[param]
        assert state["step"] == 1 and state["exp_avg"].device == device
        if isinstance(optimizer, dl.optim.NAdam):  # mu_1 = beta1 (1 - 0.5 * 0.96^0.004)
            assert state["mu_product"] == pytest.approx(0.9 * (1 - 0.5 * 0.96 ** 0.004))
        restored = type(optimizer)([param])
        restored.load_state_dict(optimizer.state_dict())
        assert restored.state[param]["step"] == 1
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        dl.optim.RAdam([param], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid momentum_decay value: -1"):
        dl.optim.NAdam([param], momentum_decay=-1)


def test_radam_first_steps_are_momentum_sgd():
    # rho_t <= 5 for the first steps with beta2 = 0.999: the update is lr * m_hat exactly.
    param = dl.tensor([0.0], dtype="float64", requires_grad=True)
    optimizer = dl.optim.RAdam([param], lr=0.1, betas=(0.5, 0.999))
    param.grad = dl.tensor([2.0], dtype="float64")
    optimizer.step()
    assert param.detach().numpy()[0] == pytest.approx(-0.1 * 2.0)
