"""bfloat16 weight shadows (deeplite/weight_shadows.py): the fused optimizer steps write autocast's
weight casts, bit for bit as the casts, and every other write to a weight makes its shadow stale."""
import numpy as np
import pytest

import deeplite as dl
import deeplite.functional as F
from deeplite import weight_shadows
from deeplite.backends import amx, get

pytest.importorskip("ml_dtypes")
if amx.bf16_gemm() is None:
    pytest.skip("bfloat16 shadows are written only where oneDNN runs AMX", allow_module_level=True)

SIZES = (300, 256, 256, 7)  # both hidden weights large enough for a shadow, the last one not


@pytest.fixture
def uses(monkeypatch):
    """The number of linear layers that read a shadow instead of casting, so far."""
    count = [0]
    real = weight_shadows.for_linear

    def counting(weight, dtype):
        found = real(weight, dtype)
        count[0] += found is not None
        return found

    monkeypatch.setattr(weight_shadows, "for_linear", counting)
    return count


def _without_shadows(monkeypatch):
    monkeypatch.setattr(weight_shadows, "for_linear", lambda weight, dtype: None)
    monkeypatch.setattr(weight_shadows, "targets", lambda params: None)


def _setup(optimizer, seed=0):
    dl.manual_seed(seed)
    model = dl.nn.MLP(list(SIZES), device="cpu")
    opt = optimizer(model.parameters())
    rng = np.random.default_rng(seed)
    batches = [(dl.tensor(rng.standard_normal((64, SIZES[0])).astype(np.float32), device="cpu"),
                dl.tensor(rng.integers(0, SIZES[-1], 64), device="cpu")) for _ in range(20)]
    return model, opt, batches


def _step(model, opt, x, y):
    return _step_loss(model, opt, x, y).item()


def _step_loss(model, opt, x, y):
    opt.zero_grad()
    with dl.autocast("cpu", dtype=dl.bfloat16):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _train(optimizer):
    model, opt, batches = _setup(optimizer)
    losses = [_step(model, opt, x, y) for x, y in batches]
    return losses, [p.data.copy() for p in model.parameters()]


OPTIMIZERS = {
    "sgd_momentum": lambda params: dl.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
    "sgd_plain": lambda params: dl.optim.SGD(params, lr=0.05, weight_decay=1e-3),
    "adam": lambda params: dl.optim.Adam(params, lr=1e-3),
    "adamw_amsgrad": lambda params: dl.optim.AdamW(params, lr=1e-3, amsgrad=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_twenty_steps_bit_identical_with_and_without_shadows(name, uses, monkeypatch):
    with_losses, with_weights = _train(OPTIMIZERS[name])
    assert uses[0] == 2 * 19  # both large weights read their shadow from the second step on
    _without_shadows(monkeypatch)
    plain_losses, plain_weights = _train(OPTIMIZERS[name])
    assert with_losses == plain_losses
    for a, b in zip(with_weights, plain_weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_shadow_equals_the_cast_it_replaces(name):
    model, opt, batches = _setup(OPTIMIZERS[name], seed=3)
    for x, y in batches[:3]:
        _step(model, opt, x, y)
    cast = get("cpu").astype
    for layer in model.layers[:2]:
        shadow = weight_shadows.for_linear(layer.weight, dl.bfloat16)
        assert shadow is not None
        expected = cast(layer.weight.data, shadow.dtype)
        np.testing.assert_array_equal(shadow.view(np.uint16), expected.view(np.uint16))


def test_kernel_rounds_special_values_as_the_cast():
    """Ties to even, denormals, infinities, NaNs, overflow: the oneDNN cast's bits exactly."""
    rng = np.random.default_rng(7)
    weight = rng.standard_normal((300, 230)).astype(np.float32)
    special = np.array([0, 0x80000000, 1, 0x80000001, 0x007FFFFF, 0x00800000, 0x7F800000,
                        0xFF800000, 0x7FC00001, 0xFFA00001, 0x7F800001, 0x3F808000, 0x3F818000,
                        0x3F808001, 0x7F7FFFFF], np.uint32)
    weight.view(np.uint32).reshape(-1)[:special.size] = special
    backend = get("cpu")
    bf16 = dl.bfloat16
    for kernel in ("sgd", "adam"):
        shadow = np.empty(weight.shape, backend.astype(weight[:1, :1], bf16).dtype)
        if kernel == "sgd":
            wrote = backend.sgd_step([weight], [np.zeros_like(weight)], None, False, 0.0, 0.0,
                                     0.0, 0.0, False, False, shadows=[shadow])
        else:
            wrote = backend.adam_step([weight], [np.zeros_like(weight)], [np.zeros_like(weight)],
                                      [np.zeros_like(weight)], None, [1], 0.0, 0.9, 0.999, 1e-8,
                                      0.0, False, False, False, shadows=[shadow])
        assert wrote
        expected = backend.astype(weight, bf16)
        np.testing.assert_array_equal(shadow.view(np.uint16), expected.view(np.uint16))


def test_shadow_of_wrong_shape_is_refused():
    backend = get("cpu")
    weight = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="shadow"):
        backend.sgd_step([weight], [weight.copy()], None, False, 0.1, 0.0, 0.0, 0.0, False,
                         False, shadows=[np.empty((4, 3), np.uint16)])


def _rmsprop_step(model, opt):
    other = dl.optim.RMSprop(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = dl.ones_like(p)
    other.step()


def _load_state(model, opt):
    state = {key: value.detach().clone() * 0.5 for key, value in model.state_dict().items()}
    model.load_state_dict(state)


def _assign_data(model, opt):
    layer = model.layers[0]
    layer.weight.data = layer.weight.data * 0.5


def _assign_strided(model, opt):
    """A new array the shadow cannot follow (not C-contiguous): the shadow goes for good."""
    layer = model.layers[0]
    layer.weight.data = layer.weight.data[:, ::-1]


INVALIDATIONS = {
    "copy_": lambda model, opt: model.layers[0].weight.detach().copy_(
        dl.zeros_like(model.layers[0].weight) + 0.01),
    "in_place_op": lambda model, opt: model.layers[0].weight.detach().mul_(0.5),
    "view_in_place": lambda model, opt: model.layers[0].weight.detach()[3].fill_(0.25),
    "load_state_dict": _load_state,
    "other_optimizer": _rmsprop_step,
    "data_assignment": _assign_data,
    "data_assignment_strided": _assign_strided,
}


@pytest.mark.parametrize("name", sorted(INVALIDATIONS))
def test_every_other_write_makes_the_shadow_stale(name, uses):
    model, opt, batches = _setup(OPTIMIZERS["sgd_momentum"], seed=5)
    for x, y in batches[:2]:
        _step(model, opt, x, y)
    weight = model.layers[0].weight
    assert weight_shadows.for_linear(weight, dl.bfloat16) is not None
    with dl.no_grad():
        INVALIDATIONS[name](model, opt)
    assert weight_shadows.for_linear(weight, dl.bfloat16) is None
    # The next step recasts, and matches a model that never had shadows.
    x, y = batches[2]
    _assert_forward_as_a_copy_without_shadows(model, x)
    # ... and the step after writes a fresh shadow again (none for a strided weight).
    _step(model, opt, x, y)
    shadow = weight_shadows.for_linear(weight, dl.bfloat16)
    assert (shadow is not None) == weight.data.flags.c_contiguous


@pytest.mark.parametrize("device", ["numpy", "cpu"])
def test_a_model_moved_away_and_back_drops_or_refreshes_its_shadows(device):
    model, opt, batches = _setup(OPTIMIZERS["adam"], seed=11)
    for x, y in batches[:2]:
        _step(model, opt, x, y)
    model.to(device)  # "cpu": to itself; "numpy": the steps there must not see shadows
    x, y = (t.to(device) for t in batches[2])
    _step(model, opt, x, y)
    weight = model.layers[0].weight
    assert (getattr(weight, "_bf16_shadow", None) is not None) == (device == "cpu")
    model.to("cpu")
    _step(model, opt, *batches[3])
    _step(model, opt, *batches[4])
    assert weight_shadows.for_linear(weight, dl.bfloat16) is not None
    _assert_forward_as_a_copy_without_shadows(model, batches[5][0])


def test_jit_replay_makes_shadows_stale(uses):
    """Shadows written by eager steps between replays go stale at the next replay (which writes
    the weights and ticks their versions, as Optimizer.step does)."""
    model, opt, batches = _setup(OPTIMIZERS["sgd_momentum"], seed=9)
    jitted = dl.jit(lambda x, y: _step_loss(model, opt, x, y))
    for x, y in batches[:3]:  # warm-up, trace, replay
        jitted(x, y)
    for x, y in batches[3:5]:  # eager steps: the shadows are current
        _step(model, opt, x, y)
    assert all(weight_shadows.for_linear(layer.weight, dl.bfloat16) is not None
               for layer in model.layers[:2])
    jitted(*batches[5])
    for layer in model.layers[:2]:
        assert weight_shadows.for_linear(layer.weight, dl.bfloat16) is None
    _assert_forward_as_a_copy_without_shadows(model, batches[6][0])


def _assert_forward_as_a_copy_without_shadows(model, x):
    """model's autocast forward equals that of a fresh copy of its weights (which casts them)."""
    twin = dl.nn.MLP(list(SIZES), device="cpu")
    twin.load_state_dict({k: v.detach().clone() for k, v in model.state_dict().items()})
    with dl.autocast("cpu", dtype=dl.bfloat16), dl.no_grad():
        ours, theirs = model(x), twin(x)
    np.testing.assert_array_equal(ours.float().numpy(), theirs.float().numpy())
