"""Module features PyTorch users reach for: buffers, hooks, lookups, dtype casts, nn.utils, init."""
import math

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn


def _t(array, device):
    return dl.tensor(np.asarray(array), device=device)


class _Scaler(nn.Module):
    """y = x * scale + shift, with a persistent and a non-persistent buffer."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(dl.randn(3))
        self.register_buffer("shift", dl.randn(3))
        self.register_buffer("cache", dl.zeros(3), persistent=False)
        self.register_buffer("count", dl.tensor(0))

    def forward(self, x):
        return x * self.scale + self.shift


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = _Scaler()
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        return self.head(self.inner(x))


def test_buffers_are_listed_saved_loaded_and_moved(device):
    net = _Net()
    assert [n for n, _ in net.named_buffers()] == ["inner.shift", "inner.cache", "inner.count"]
    assert list(net.state_dict()) == ["inner.scale", "inner.shift", "inner.count", "head.weight",
                                      "head.bias"]
    assert net.get_buffer("inner.shift") is net.inner.shift
    other = _Net()
    other.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(other.inner.shift.numpy(), net.inner.shift.numpy())
    net.to(device).double()
    for buffer in net.buffers():
        assert buffer.device == device
    assert net.inner.shift.dtype == np.float64 and net.inner.count.dtype == np.int64
    net.inner.shift = dl.ones(3, device=device)  # reassigning keeps it a buffer
    assert "inner.shift" in net.state_dict()
    assert net.half().inner.shift.dtype == np.float16
    assert net.float().head.weight.dtype == np.float32


def test_register_buffer_rejects_bad_names_and_values():
    module = _Scaler()
    with pytest.raises(KeyError, match="already exists"):
        module.register_buffer("scale", dl.zeros(1))
    with pytest.raises(KeyError, match="without '.'"):
        module.register_buffer("a.b", dl.zeros(1))
    with pytest.raises(TypeError, match="cannot assign list"):
        module.register_buffer("c", [1.0])
    with pytest.raises(TypeError, match="is a Parameter"):
        module.register_buffer("d", nn.Parameter(dl.zeros(1)))
    module.register_buffer("empty", None)  # a slot filled later: listed nowhere until set
    assert "empty" not in dict(module.named_buffers())


def test_get_submodule_get_parameter_requires_grad_and_parameter_count():
    torch = pytest.importorskip("torch")
    net = _Net()
    assert net.get_submodule("inner") is net.inner and net.get_submodule("") is net
    assert net.get_parameter("head.bias") is net.head.bias
    with pytest.raises(AttributeError, match="no submodule 'tail'"):
        net.get_submodule("tail")
    with pytest.raises(AttributeError, match="no parameter 'head.scale'"):
        net.get_parameter("head.scale")
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.requires_grad_() is net and all(p.requires_grad for p in net.parameters())
    ours = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 2))
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters()) == 58
    assert repr(ours) == repr(theirs)


def test_forward_pre_hooks_and_forward_hooks_change_inputs_and_outputs():
    layer = nn.Linear(2, 2)
    calls = []
    first = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    layer.register_forward_hook(lambda m, args, out: calls.append("second"))
    layer.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    out = layer(dl.randn(4, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy(),
                                                                     (4, 2)), rtol=1e-6)
    assert calls == ["first", "second"]
    first.remove()
    first.remove()  # removing twice is harmless
    replaced = layer.register_forward_hook(lambda m, args, out: out * 0 + 7)
    assert (layer(dl.randn(1, 2)).detach().numpy() == 7).all()
    replaced.remove()
    kw = layer.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] + 1,), kwargs),
                                         with_kwargs=True)
    x = dl.zeros(1, 2)
    expected = (layer.weight.detach().numpy().sum(0) + layer.bias.detach().numpy())
    np.testing.assert_allclose(layer(x).detach().numpy()[0], expected, rtol=1e-6)
    kw.remove()


def test_always_call_hook_runs_when_forward_raises_and_handles_restore_fast_path():
    layer = nn.Linear(2, 2)
    seen = []
    with layer.register_forward_hook(lambda m, a, out: seen.append(out), always_call=True):
        with pytest.raises(ValueError):
            layer(dl.randn(3, 5))
    assert seen == [None]
    assert "_hooks" not in vars(layer)  # the last removal restores the hook-free call


def test_full_backward_hook_sees_and_replaces_gradients_as_torch(rng):
    torch = pytest.importorskip("torch")
    weight = rng.normal(size=(3, 4)).astype(np.float32)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    ours = nn.Linear(3, 4, bias=False)
    theirs = torch.nn.Linear(3, 4, bias=False)
    with dl.no_grad():
        ours.weight.copy_(weight)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(weight.T))  # PyTorch's layout is (out, in)
    recorded = {}

    def hook_for(name):
        def hook(module, grad_input, grad_output):
            recorded[name] = (grad_input[0].detach().numpy().copy(),
                              grad_output[0].detach().numpy().copy())
            return (grad_input[0] * 2,)
        return hook
    ours.register_full_backward_hook(hook_for("ours"))
    theirs.register_full_backward_hook(hook_for("theirs"))
    xd, xt = dl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(xd) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    for got, want in zip(recorded["ours"], recorded["theirs"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xd.grad.numpy(), 2 * recorded["ours"][0], rtol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy().T,
                               rtol=1e-5, atol=1e-6)


def test_full_backward_hook_with_two_inputs_and_inputs_without_grad(device, rng):
    class Mix(nn.Module):
        def forward(self, a, b):
            return a * b, a + b

    mix = Mix()
    seen = []
    mix.register_full_backward_hook(lambda m, gin, gout: seen.append((gin, gout)))
    a = dl.tensor(rng.normal(size=(2, 3)), device=device, requires_grad=True)
    b = dl.tensor(rng.normal(size=(3,)), device=device)  # no grad: its grad_input entry is None
    product, total = mix(a, b)
    (product.sum() + 3 * total.sum()).backward()
    (grad_a, grad_b), grad_out = seen[0]
    assert grad_b is None and len(grad_out) == 2
    np.testing.assert_allclose(grad_a.numpy(), np.broadcast_to(b.numpy() + 3, (2, 3)), rtol=1e-12)
    np.testing.assert_allclose(grad_out[1].numpy(), np.full((2, 3), 3.0))
    layer = nn.Linear(3, 2).to(device).double()
    layer.register_full_backward_hook(lambda m, gin, gout: seen.append((gin, gout)))
    upstream = rng.normal(size=(4, 2))
    (layer(dl.tensor(rng.normal(size=(4, 3)), device=device)) * _t(upstream, device)).sum() \
        .backward()
    assert seen[1][0] == (None,)  # no input needs grad: the hook still runs, as PyTorch's
    np.testing.assert_allclose(seen[1][1][0].numpy(), upstream)


def test_clip_grad_value_and_vector_round_trip_match_torch(rng):
    torch = pytest.importorskip("torch")
    shapes = [(3, 2), (2,), (4, 1)]
    ours = [nn.Parameter(dl.tensor(rng.normal(size=s).astype(np.float32))) for s in shapes]
    theirs = [torch.nn.Parameter(torch.from_numpy(p.detach().numpy().copy())) for p in ours]
    for p, q in zip(ours, theirs, strict=True):
        grad = rng.normal(0, 2, p.shape).astype(np.float32)
        p.grad, q.grad = dl.tensor(grad), torch.from_numpy(grad.copy())
    nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    vector = nn.utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(vector.detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    vector.sum().backward()  # differentiable, as PyTorch's
    new = rng.normal(size=vector.shape).astype(np.float32)
    nn.utils.vector_to_parameters(dl.tensor(new), ours)
    np.testing.assert_array_equal(np.concatenate([p.detach().numpy().ravel() for p in ours]), new)
    with pytest.raises(ValueError, match="hold 12 elements"):
        nn.utils.vector_to_parameters(dl.zeros(5), ours)
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters(new, ours)
    with pytest.raises(ValueError, match="non-negative"):
        nn.utils.clip_grad_value_(ours, -1)


def test_init_constant_ones_eye_and_orthogonal():
    dl.manual_seed(1)
    w = dl.empty(4, 6)
    nn.init.constant_(w, 0.25)
    assert (w.numpy() == 0.25).all()
    nn.init.ones_(w)
    assert (w.numpy() == 1).all()
    nn.init.eye_(w)
    np.testing.assert_array_equal(w.numpy(), np.eye(4, 6))
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        q = nn.init.orthogonal_(dl.empty(*shape, dtype="float64"), gain=2.0).numpy()
        flat = q.reshape(shape[0], -1) / 2.0
        small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(small, np.eye(min(flat.shape)), atol=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        nn.init.eye_(dl.empty(2, 2, 2))


def test_trunc_normal_stays_in_bounds_and_has_the_truncated_moments():
    dl.manual_seed(2)
    mean, std, low, high = 0.5, 2.0, -1.0, 3.0
    values = nn.init.trunc_normal_(dl.empty(200_000, dtype="float64"), mean, std, low,
                                   high).numpy()
    assert values.min() >= low and values.max() <= high
    alpha, beta = (low - mean) / std, (high - mean) / std

    def pdf(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def cdf(z):
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))
    mass = cdf(beta) - cdf(alpha)
    expected_mean = mean + std * (pdf(alpha) - pdf(beta)) / mass
    expected_var = std ** 2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass
                               - ((pdf(alpha) - pdf(beta)) / mass) ** 2)
    # 200k draws: the standard error of the mean is ~0.003, of the variance ~0.006.
    assert abs(values.mean() - expected_mean) < 0.015
    assert abs(values.var() - expected_var) < 0.03
    with pytest.raises(ValueError, match="mass"):
        nn.init.trunc_normal_(dl.empty(3), mean=0, std=1, a=10, b=11)


def test_register_parameter_add_module_and_device_shortcuts():
    net = nn.Module()
    net.register_parameter("scale", nn.Parameter(dl.ones(2)))
    net.add_module("body", nn.Linear(2, 2))
    net.register_module("skip", None)
    net.register_parameter("unused", None)
    assert [n for n, _ in net.named_parameters()] == ["scale", "body.weight", "body.bias"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'w'"):
        net.register_parameter("w", dl.ones(2))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        net.add_module("x", 3)
    with pytest.raises(KeyError, match="without '.'"):
        net.add_module("a.b", nn.Identity())
    net.training_note = "text"
    with pytest.raises(KeyError, match="already exists"):
        net.register_parameter("training_note", None)
    if dl.backends.is_available("cpu"):
        assert net.cpu() is net and net.scale.device == "cpu"
    with pytest.raises(ValueError, match="one GPU"):
        net.cuda(1)


def test_backward_hook_gates_are_exact_identities_under_gradcheck(device, rng):
    class Mix(nn.Module):
        def forward(self, a, b):
            return (a * b).sum(axis=1), a.exp() + b

    mix = Mix()
    calls = []
    mix.register_full_backward_hook(lambda m, gin, gout: calls.append(len(gin)))
    a = dl.tensor(rng.normal(size=(2, 3)), device=device, requires_grad=True)
    b = dl.tensor(rng.normal(size=(2, 3)), device=device, requires_grad=True)
    assert dl.gradcheck(lambda p, q: mix(p, q), (a, b))
    assert calls and set(calls) == {2}  # the hook ran on every backward, with both inputs
