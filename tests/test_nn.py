"""deeplite.nn: module discovery, state dicts, layers, MLP, initialisation, losses and clipping."""
import math

import numpy as np
import pytest

import deeplite as dl
from deeplite import nn
from deeplite.nn import init


def _param(rng, *shape, device=None, dtype=None):
    return nn.Parameter(dl.tensor(rng.standard_normal(shape), device=device, dtype=dtype))


class Block(nn.Module):
    """A custom module holding parameters directly and inside a list, a dict and a tuple."""

    def __init__(self, rng):
        super().__init__()
        self.first = nn.Linear(3, 4)
        self.scale = _param(rng, 4, dtype=dl.float32)  # float32, as the Linear layers' weights
        self.stack = [nn.Linear(4, 4, activation="tanh"), nn.ReLU()]
        self.heads = {"a": nn.Linear(4, 2), "b": nn.Linear(4, 1, bias=False)}
        self.pair = (self.scale, _param(rng, 2, dtype=dl.float32))  # self.scale again: listed once
        self.note = "not a parameter"

    def forward(self, x):
        h = self.stack[1](self.stack[0](self.first(x) * self.scale))
        return self.heads["a"](h).sum() + self.heads["b"](h).sum() + self.pair[1].sum()


# ---- Module and Parameter ------------------------------------------------------------------------
def test_parameter_wraps_data_without_copy_and_requires_grad(rng):
    t = dl.tensor(rng.standard_normal((2, 3)))
    p = nn.Parameter(t)
    assert isinstance(p, dl.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is t.data  # shared, as documented
    assert repr(p).startswith("Parameter containing:")
    assert type(p * 2) is dl.Tensor  # ops give plain tensors
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(dl.tensor([1, 2]))
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_parameters_are_found_in_assignment_order_through_containers(rng):
    block = Block(rng)
    names = [name for name, _ in block.named_parameters()]
    assert names == ["first.weight", "first.bias", "scale", "stack.0.weight", "stack.0.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight", "pair.1"]
    assert len(list(block.parameters())) == len(names)
    assert [name for name, _ in block.named_children()] == ["first", "stack.0", "stack.1",
                                                            "heads.a", "heads.b"]
    assert len(list(block.modules())) == 6 and next(block.modules()) is block
    assert [name for name, _ in block.named_parameters(recurse=False)] == ["scale", "pair.1"]


def test_gradients_reach_every_discovered_parameter(rng):
    block = Block(rng)
    block(dl.tensor(rng.standard_normal((5, 3)), dtype=dl.float32)).backward()
    for name, parameter in block.named_parameters():
        assert parameter.grad is not None and parameter.grad.shape == parameter.shape, name
    block.zero_grad()
    assert all(parameter.grad is None for parameter in block.parameters())


def test_zero_grad_can_keep_zeroed_tensors(rng):
    layer = nn.Linear(3, 2)
    layer(dl.tensor(rng.standard_normal((4, 3)), dtype=dl.float32)).sum().backward()
    layer.zero_grad(set_to_none=False)
    assert np.all(layer.weight.grad.numpy() == 0) and layer.weight.grad.shape == (3, 2)


def test_cycles_and_shared_modules_are_visited_once(rng):
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    model.loop = model  # a cycle must not hang the walk
    model.twin = [model[0]]
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3


def test_train_and_eval_reach_nested_modules():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.5)))
    assert model.eval() is model
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())


def test_module_without_super_init_still_works(rng):
    class Bare(nn.Module):
        def __init__(self):  # forgets super().__init__()
            self.w = _param(rng, 2)

    bare = Bare()
    assert bare.training and [n for n, _ in bare.named_parameters()] == ["w"]
    with pytest.raises(NotImplementedError, match="Bare does not define forward"):
        bare(1)


def test_state_dict_round_trip_and_strictness(rng):
    source, target = nn.MLP([3, 5, 2]), nn.MLP([3, 5, 2])
    state = source.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert not any(value.requires_grad for value in state.values())
    result = target.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for a, b in zip(source.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert a.data is not b.data  # copied, not aliased
    partial = {"layers.0.weight": rng.standard_normal((3, 5)), "extra": np.zeros(1)}
    with pytest.raises(ValueError, match=r"missing keys \['layers.0.bias'.*unexpected keys "
                                         r"\['extra'\]"):
        target.load_state_dict(partial)
    result = target.load_state_dict(partial, strict=False)
    assert result.unexpected_keys == ["extra"] and "layers.1.weight" in result.missing_keys
    np.testing.assert_allclose(target.layers[0].weight.detach().numpy(),
                               partial["layers.0.weight"].astype(np.float32))


def test_load_state_dict_refuses_a_transposed_weight_naming_key_and_shapes(rng):
    layer = nn.Linear(3, 5)
    pytorch_layout = {"weight": rng.standard_normal((5, 3)), "bias": rng.standard_normal(5)}
    with pytest.raises(ValueError, match=r"'weight' has shape \(5, 3\) in the checkpoint but "
                                         r"\(3, 5\) in the model.*transposed"):
        layer.load_state_dict(pytorch_layout)
    before = layer.weight.detach().numpy().copy()
    with pytest.raises(ValueError, match=r"'bias' has shape \(4,\)"):
        layer.load_state_dict({"weight": rng.standard_normal((3, 5)), "bias": np.zeros(4)})
    np.testing.assert_array_equal(layer.weight.detach().numpy(), before)  # nothing half-loaded


def test_to_moves_parameters_in_place_keeping_the_objects(device, rng):
    model = nn.MLP([3, 4, 1])
    before = [p.detach().numpy().copy() for p in model.parameters()]
    parameters = list(model.parameters())
    model(dl.tensor(rng.standard_normal((2, 3)), dtype=dl.float32)).sum().backward()
    assert model.to(device) is model
    assert all(a is b for a, b in zip(parameters, model.parameters()))
    assert all(p.device == device and p.grad.device == device for p in model.parameters())
    for value, p in zip(before, model.parameters()):
        np.testing.assert_array_equal(np.asarray(p.detach()), value)
    out = model(dl.tensor(rng.standard_normal((2, 3)), dtype=dl.float32, device=device))
    assert out.device == device and out.shape == (2, 1)
    model.to(dl.float64)
    assert all(p.dtype == dl.float64 for p in model.parameters())


def test_repr_is_readable():
    text = repr(nn.Sequential(nn.Linear(2, 3, activation="leaky_relu"), nn.Dropout(0.25),
                              nn.MLP([3, 2])))
    assert text == ("Sequential(\n"
                    "  (0): Linear(in_features=2, out_features=3, bias=True, "
                    "activation='leaky_relu', negative_slope=0.01)\n"
                    "  (1): Dropout(p=0.25)\n"
                    "  (2): MLP(\n"
                    "    sizes=[3, 2]\n"
                    "    (layers.0): Linear(in_features=3, out_features=2, bias=True)\n"
                    "  )\n)")
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.MSELoss()) == "MSELoss(reduction='mean')"


def test_apply_visits_children_before_parent():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh(), nn.ReLU()))
    seen = []
    assert model.apply(lambda module: seen.append(type(module).__name__)) is model
    assert seen == ["Linear", "Tanh", "ReLU", "Sequential", "Sequential"]


# ---- layers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu", "sigmoid", "tanh",
                                        "softplus"])
def test_linear_is_x_at_weight_plus_bias_with_fused_activation(device, rng, activation):
    layer = nn.Linear(4, 3, activation=activation, negative_slope=0.2, dtype=dl.float64)
    layer.to(device)
    assert layer.weight.shape == (4, 3) and layer.bias.shape == (3,)  # lecture layout (in, out)
    x = rng.standard_normal((6, 4))
    pre = x @ layer.weight.detach().numpy() + layer.bias.detach().numpy()
    expected = {"identity": pre, "relu": np.maximum(pre, 0),
                "leaky_relu": np.where(pre > 0, pre, 0.2 * pre),
                "sigmoid": 1 / (1 + np.exp(-pre)), "tanh": np.tanh(pre),
                "softplus": np.log1p(np.exp(pre))}[activation]
    out = layer(dl.tensor(x, device=device))
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_linear_gradients_pass_gradcheck(rng):
    layer = nn.Linear(3, 2, activation="tanh", dtype=dl.float64)
    x = dl.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert dl.gradcheck(lambda x, w, b: dl.functional.linear(x, w, b, "tanh"),
                        (x, layer.weight, layer.bias))


def test_linear_default_init_is_pytorch_uniform_bound(rng):
    dl.manual_seed(int(rng.integers(1 << 30)))
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for values in (layer.weight.detach().numpy(), layer.bias.detach().numpy()):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.95 * bound  # spread over the whole interval
    assert abs(layer.weight.detach().numpy().std() - bound / math.sqrt(3)) < 0.02 * bound
    assert nn.Linear(2, 3, bias=False).bias is None
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        nn.Linear(2, 3, activation="gelu")


def test_linear_matches_pytorch_with_the_transposed_weight(rng):
    torch = pytest.importorskip("torch")
    layer = nn.Linear(5, 3, dtype=dl.float64)
    reference = torch.nn.Linear(5, 3, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.detach().numpy().T))
        reference.bias.copy_(torch.tensor(layer.bias.detach().numpy()))
    x = rng.standard_normal((7, 5))
    np.testing.assert_allclose(layer(dl.tensor(x)).detach().numpy(),
                               reference(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_sequential_composes_indexes_and_names_like_pytorch(rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    assert len(model) == 3 and isinstance(model[1], nn.Sigmoid) and model[-1] is model[2]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    x = dl.tensor(rng.standard_normal((5, 3)), dtype=dl.float32)
    np.testing.assert_allclose(model(x).detach().numpy(),
                               model[2](model[1](model[0](x))).detach().numpy())
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear"]
    model.append(nn.Identity())
    assert len(model) == 4
    with pytest.raises(TypeError, match="expected a Module, got int"):
        model.append(3)


def test_activation_modules_match_their_formulas(device, rng):
    data = rng.standard_normal((4, 5)) * 3
    data[0, 0] = 0.0  # the step's value at 0
    x = dl.tensor(data, device=device)
    expected = {nn.ReLU(): np.maximum(data, 0), nn.LeakyReLU(0.1): np.where(data > 0, data,
                                                                            0.1 * data),
                nn.Sigmoid(): 1 / (1 + np.exp(-data)), nn.Tanh(): np.tanh(data),
                nn.Identity(): data, nn.Step(): (data > 0).astype(float),
                nn.Step(value=0.5): np.where(data == 0, 0.5, (data > 0).astype(float))}
    for module, want in expected.items():
        np.testing.assert_allclose(module(x).numpy(), want, rtol=1e-12, err_msg=repr(module))
    for softmax in (nn.Softmax(axis=0), nn.Softmax(dim=0)):
        e = np.exp(data - data.max(axis=0))
        np.testing.assert_allclose(softmax(x).numpy(), e / e.sum(axis=0), rtol=1e-12)
    assert nn.LeakyReLU().negative_slope == 0.01


def test_dropout_in_training_and_eval(device, rng):
    x = dl.tensor(rng.standard_normal((200, 50)) + 5, device=device)
    drop = nn.Dropout(0.3)
    out = drop(x).numpy()
    kept = out != 0
    assert 0.6 < kept.mean() < 0.8  # 70% kept in expectation over 10,000 draws
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / 0.7, rtol=1e-12)
    np.testing.assert_array_equal(drop.eval()(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="Dropout: probability must be between 0 and 1"):
        nn.Dropout(1.5)


# ---- MLP -----------------------------------------------------------------------------------------
def test_mlp_fuses_activations_and_names_layers(device, rng):
    model = nn.MLP([3, 8, 6, 2], activation="tanh", output_activation="sigmoid").to(device)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "sigmoid"]
    assert [layer.weight.shape for layer in model.layers] == [(3, 8), (8, 6), (6, 2)]
    x = rng.standard_normal((5, 3)).astype(np.float32)
    h = x
    for index, layer in enumerate(model.layers):
        h = h @ layer.weight.detach().numpy() + layer.bias.detach().numpy()
        h = np.tanh(h) if index < 2 else 1 / (1 + np.exp(-h))
    np.testing.assert_allclose(model(dl.tensor(x, device=device)).detach().numpy(), h, rtol=1e-5)
    assert nn.MLP([2, 3]).layers[0].activation == "identity"  # logits by default


def test_mlp_initialisation_follows_the_activation(rng):
    dl.manual_seed(int(rng.integers(1 << 30)))
    relu = nn.MLP([500, 400, 300], activation="relu")
    weight = relu.layers[0].weight.detach().numpy()
    assert abs(weight.std() - math.sqrt(2 / 500)) < 0.03 * math.sqrt(2 / 500)  # He normal
    assert all(np.all(layer.bias.detach().numpy() == 0) for layer in relu.layers)
    tanh = nn.MLP([500, 400, 300], activation="tanh")
    bound = 5 / 3 * math.sqrt(6 / 900)  # Glorot uniform with tanh's gain
    weight = tanh.layers[0].weight.detach().numpy()
    assert bound * 0.98 < np.abs(weight).max() <= bound
    output_bound = math.sqrt(6 / 700)  # the identity output layer: gain 1
    assert np.abs(tanh.layers[1].weight.detach().numpy()).max() <= output_bound


def test_mlp_is_reproducible_under_manual_seed():
    dl.manual_seed(7)
    first = nn.MLP([4, 6, 1]).state_dict()
    dl.manual_seed(7)
    second = nn.MLP([4, 6, 1]).state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name].numpy(), second[name].numpy())


def test_mlp_dropout_only_between_hidden_layers(rng):
    model = nn.MLP([4, 64, 64, 3], dropout=0.5)
    x = dl.tensor(rng.standard_normal((8, 4)), dtype=dl.float32)
    with dl.no_grad():
        model.eval()
        np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
        model.train()
        assert not np.array_equal(model(x).numpy(), model(x).numpy())
    assert "dropout=0.5" in repr(model)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[3]), "at least an input and an output"),
    (dict(sizes=[3, 0, 1]), "all positive"),
    (dict(sizes=[3, 1], dropout=1.0), "dropout must be in"),
    (dict(sizes=[3, 2, 1], activation="swish"), "unknown activation 'swish'"),
])
def test_mlp_rejects_bad_configurations(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.MLP(**kwargs)


# ---- init ----------------------------------------------------------------------------------------
def test_fans_use_the_in_out_layout():
    assert init.fans(dl.empty(7, 3)) == (7, 3)
    assert init.fans(dl.empty(7, 3, 2)) == (14, 6)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.fans(dl.empty(5))


def test_calculate_gain_table():
    assert init.calculate_gain("sigmoid") == 1 and init.calculate_gain("identity") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("name, call, std, bound", [
    ("xavier_uniform_", lambda w: init.xavier_uniform_(w, gain=2.0),
     2 * math.sqrt(2 / 1000), 2 * math.sqrt(6 / 1000)),
    ("xavier_normal_", init.xavier_normal_, math.sqrt(2 / 1000), None),
    ("kaiming_uniform_", lambda w: init.kaiming_uniform_(w, nonlinearity="relu"),
     math.sqrt(2 / 600), math.sqrt(6 / 600)),
    ("kaiming_normal_", lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
     math.sqrt(2 / 400), None),
    ("normal_", lambda w: init.normal_(w, 3.0, 0.5), 0.5, None),
    ("uniform_", lambda w: init.uniform_(w, -2.0, 2.0), 4 / math.sqrt(12), 2.0),
])
def test_init_distributions_are_right_and_seeded(device, rng, name, call, std, bound):
    weight = dl.empty(600, 400, device=device, dtype=dl.float64)
    seed = int(rng.integers(1 << 30))
    dl.manual_seed(seed)
    assert call(weight) is weight
    values = weight.numpy().copy()
    assert abs(values.std() - std) < 0.02 * std, name  # 240,000 draws: ~0.2% sampling error
    if bound is not None:
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    dl.manual_seed(seed)
    np.testing.assert_array_equal(call(weight).numpy(), values)  # reproducible


def test_init_writes_parameters_in_place_under_grad_mode(rng):
    layer = nn.Linear(3, 2)
    weight = layer.weight
    init.zeros_(layer.weight)
    assert layer.weight is weight and np.all(weight.detach().numpy() == 0)
    assert weight.requires_grad and weight.is_leaf
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(weight, mode="fan_avg")


# ---- losses --------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_equal_their_functional_forms(device, rng, reduction):
    logits = dl.tensor(rng.standard_normal((6, 4)), device=device)
    probabilities = dl.tensor(rng.random((6, 4)), device=device)
    labels = dl.tensor(rng.integers(0, 4, 6), device=device)
    signs = dl.tensor(rng.choice([-1.0, 1.0], (6, 4)), device=device)
    F = dl.functional
    cases = [(nn.BCEWithLogitsLoss, probabilities, F.binary_cross_entropy_with_logits),
             (nn.CrossEntropyLoss, labels, F.cross_entropy),
             (nn.MSELoss, probabilities, F.mse_loss),
             (nn.LogisticLoss, signs, F.logistic_loss)]
    for module, target, function in cases:
        got = module(reduction=reduction)(logits, target)
        np.testing.assert_allclose(got.numpy(), function(logits, target, reduction).numpy())
    z, y = logits.numpy(), signs.numpy()
    logistic = np.log1p(np.exp(-y * z))
    want = {"mean": logistic.mean(), "sum": logistic.sum(), "none": logistic}[reduction]
    np.testing.assert_allclose(nn.LogisticLoss(reduction)(logits, signs).numpy(), want,
                               rtol=1e-10)


def test_loss_modules_validate_reduction():
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be one of"):
        nn.CrossEntropyLoss(reduction="avg")


def test_l2_penalty_is_half_the_squared_weights_without_biases(device, rng):
    model = nn.MLP([3, 4, 2]).to(device)
    weights = [layer.weight.detach().numpy() for layer in model.layers]
    penalty = nn.l2_penalty(model)
    assert penalty.shape == () and penalty.device == device
    np.testing.assert_allclose(penalty.item(), 0.5 * sum((w.astype(float) ** 2).sum()
                                                         for w in weights), rtol=1e-5)
    penalty.backward()
    for layer, weight in zip(model.layers, weights):
        np.testing.assert_allclose(layer.weight.grad.numpy(), weight, rtol=1e-6)
        assert layer.bias.grad is None  # biases are not penalised
    assert nn.l2_penalty(nn.ReLU()).item() == 0


def test_l2_penalty_equals_sgd_weight_decay_on_weights(rng):
    x = dl.tensor(rng.standard_normal((8, 3)))
    y = dl.tensor(rng.standard_normal((8, 1)))
    lam = 0.3
    dl.manual_seed(1)
    explicit = nn.Linear(3, 1, bias=False, dtype=dl.float64)
    decayed = nn.Linear(3, 1, bias=False, dtype=dl.float64)
    decayed.load_state_dict(explicit.state_dict())
    opt_explicit = dl.optim.SGD(explicit.parameters(), lr=0.1)
    opt_decayed = dl.optim.SGD(decayed.parameters(), lr=0.1, weight_decay=lam)
    for _ in range(3):
        for model, opt, extra in ((explicit, opt_explicit, lam), (decayed, opt_decayed, 0.0)):
            opt.zero_grad()
            loss = nn.MSELoss()(model(x), y)
            (loss + extra * nn.l2_penalty(model) if extra else loss).backward()
            opt.step()
    np.testing.assert_allclose(explicit.weight.detach().numpy(), decayed.weight.detach().numpy(),
                               rtol=1e-12)


# ---- clip_grad_norm_ -----------------------------------------------------------------------------
def _with_grads(rng, device, scale):
    params = [_param(rng, 3, 4, device=device), _param(rng, 5, device=device)]
    grads = [rng.standard_normal(p.shape) * scale for p in params]
    for p, g in zip(params, grads):
        p.grad = dl.tensor(g, device=device)
    return params, grads


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_scales_all_gradients_together(device, rng, norm_type):
    params, grads = _with_grads(rng, device, 10.0)
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.linalg.norm(flat, ord=norm_type)
    returned = nn.utils.clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    assert returned.item() == pytest.approx(total, rel=1e-10)
    factor = 1.5 / (total + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g * factor, rtol=1e-10)


def test_clip_grad_norm_leaves_small_gradients_and_flags_nonfinite(device, rng):
    params, grads = _with_grads(rng, device, 0.01)
    nn.utils.clip_grad_norm_(iter(params), max_norm=100.0)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-12)
    single = _param(rng, 3, device=device)
    single.grad = dl.tensor([1.0, float("inf"), 0.0], device=device)
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is inf"):
        nn.utils.clip_grad_norm_(single, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([_param(rng, 2)], 1.0).item() == 0  # no gradients at all


def test_clip_grad_norm_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    params, grads = _with_grads(rng, "numpy", 3.0)
    reference = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for r, g in zip(reference, grads):
        r.grad = torch.tensor(g)
    ours = nn.utils.clip_grad_norm_(params, 0.7)
    theirs = torch.nn.utils.clip_grad_norm_(reference, 0.7)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    for p, r in zip(params, reference):
        np.testing.assert_allclose(p.grad.numpy(), r.grad.numpy(), rtol=1e-12)


def test_nn_functional_reexports_deeplite_functional():
    import ast
    import inspect

    import deeplite.nn.functional as F

    assert F.__all__ == dl.functional.__all__ and nn.functional is F
    assert all(getattr(F, name) is getattr(dl.functional, name) for name in F.__all__)
    # every public function of deeplite.functional is exported (so it reaches nn.functional)
    tree = ast.parse(inspect.getsource(dl.functional))
    defined = {node.name for node in tree.body
               if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}
    assert defined <= set(F.__all__)
