"""Normalisation, embedding, containers and reshape layers against NumPy and PyTorch."""
import numpy as np
import pytest

import deeplite as dl
from deeplite import nn

# float32 forward passes agree with float64 references to ~1e-5 relative; gradients through a
# normalisation divide by a standard deviation, so allow a little more.
F32 = dict(rtol=1e-4, atol=1e-5)


def _t(array, device, requires_grad=False):
    return dl.tensor(np.asarray(array), device=device, requires_grad=requires_grad)


def _np(tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _module_gradcheck(module, inputs, names=("weight", "bias")) -> bool:
    """gradcheck of ``module(x)`` in x and the parameters ``names`` (gradcheck hands the function
    perturbed copies, so they are set on the module before each call)."""
    params = tuple(getattr(module, name) for name in names)

    def run(*values):
        for name, value in zip(names, values[len(inputs):], strict=True):
            setattr(module, name, value)
        return module(*values[:len(inputs)])
    return dl.gradcheck(run, tuple(inputs) + params)


def _layer_norm_reference(x, weight, bias, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("shape, normalized", [((7, 5), 5), ((3, 4, 6), (4, 6))])
def test_layer_norm_matches_numpy_and_gradcheck(device, rng, shape, normalized):
    norm = nn.LayerNorm(normalized).to(device).double()
    with dl.no_grad():
        norm.weight.copy_(rng.normal(size=norm.weight.shape))
        norm.bias.copy_(rng.normal(size=norm.bias.shape))
    x = rng.normal(2.0, 3.0, shape)
    axes = tuple(range(len(shape) - norm.weight.ndim, len(shape)))
    expected = _layer_norm_reference(x, _np(norm.weight), _np(norm.bias), axes, 1e-5)
    np.testing.assert_allclose(_np(norm(_t(x, device))), expected, rtol=1e-10, atol=1e-12)
    assert _module_gradcheck(norm, [_t(x, device, True)])


def test_layer_norm_matches_torch_gradients(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(6, 8)).astype(np.float32)
    ours = nn.LayerNorm(8, eps=1e-3)
    theirs = torch.nn.LayerNorm(8, eps=1e-3)
    weight = rng.normal(size=8).astype(np.float32)
    with dl.no_grad():
        ours.weight.copy_(weight)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(weight))
    xd, xt = dl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(xd) ** 3).sum().backward()
    (theirs(xt) ** 3).sum().backward()
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), **F32)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **F32)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), **F32)
    assert repr(ours) == repr(theirs)


def test_layer_norm_without_affine_has_no_parameters_and_checks_shape():
    norm = nn.LayerNorm((3, 4), elementwise_affine=False)
    assert list(norm.parameters()) == []
    with pytest.raises(ValueError, match=r"last dimensions are \(3, 4\)"):
        norm(dl.randn(2, 4, 3))


def test_rms_norm_matches_numpy_torch_and_gradcheck(device, rng):
    x = rng.normal(size=(5, 6))
    norm = nn.RMSNorm(6).to(device).double()
    with dl.no_grad():
        norm.weight.copy_(rng.normal(size=6))
    eps = np.finfo(np.float64).eps
    expected = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * _np(norm.weight)
    np.testing.assert_allclose(norm(_t(x, device)).detach().numpy(), expected, rtol=1e-12)
    assert _module_gradcheck(norm, [_t(x, device, True)], ["weight"])
    torch = pytest.importorskip("torch")
    theirs = torch.nn.RMSNorm(6, eps=0.1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(norm.weight.detach().numpy()))
    norm.eps = 0.1
    np.testing.assert_allclose(norm(_t(x, device)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("shape", [(16, 4), (8, 4, 3)])
def test_batch_norm_trajectory_matches_torch(device, rng, momentum, shape):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm1d(4, momentum=momentum).to(device)
    theirs = torch.nn.BatchNorm1d(4, momentum=momentum)
    for _ in range(3):  # three training batches update the running statistics
        x = rng.normal(1.5, 2.0, shape).astype(np.float32)
        xd, xt = _t(x, device, True), torch.tensor(x, requires_grad=True)
        (ours(xd) ** 2 * 0.5 + ours(xd)).sum().backward()
        (theirs(xt) ** 2 * 0.5 + theirs(xt)).sum().backward()
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).numpy(),
                                   getattr(theirs, name).numpy(), **F32)
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 6
    ours.eval()
    theirs.eval()
    x = rng.normal(size=shape).astype(np.float32)
    np.testing.assert_allclose(ours(_t(x, device)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), **F32)


def test_batch_norm_buffers_state_dict_and_untracked_mode(rng):
    norm = nn.BatchNorm1d(3)
    assert [name for name, _ in norm.named_buffers()] == ["running_mean", "running_var",
                                                          "num_batches_tracked"]
    assert list(norm.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                       "num_batches_tracked"]
    norm(dl.randn(10, 3) * 3 + 1)
    restored = nn.BatchNorm1d(3)
    restored.load_state_dict(norm.state_dict())
    np.testing.assert_array_equal(restored.running_var.numpy(), norm.running_var.numpy())
    assert int(restored.num_batches_tracked.item()) == 1
    untracked = nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert list(untracked.buffers()) == []
    x = rng.normal(2.0, 3.0, (20, 3))
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(_np(untracked.double()(dl.tensor(x))), expected, rtol=1e-10)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(dl.randn(1, 3))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\)"):
        norm(dl.randn(4, 5))


def test_batch_norm_gradcheck(device, rng):
    norm = nn.BatchNorm1d(3).to(device).double()
    x = _t(rng.normal(size=(6, 3)), device, True)
    assert _module_gradcheck(norm, [x])


def test_embedding_forward_and_dense_gradient_match_torch(device, rng):
    torch = pytest.importorskip("torch")
    table = rng.normal(size=(7, 3)).astype(np.float32)
    ours = nn.Embedding(7, 3, padding_idx=2, _weight=dl.tensor(table)).to(device)
    theirs = torch.nn.Embedding(7, 3, padding_idx=2, _weight=torch.from_numpy(table.copy()))
    indices = np.array([[0, 2, 5, 5], [6, 0, 0, 1]])
    upstream = rng.normal(size=(2, 4, 3)).astype(np.float32)
    out_d = ours(dl.tensor(indices, device=device))
    out_t = theirs(torch.from_numpy(indices))
    np.testing.assert_array_equal(out_d.detach().numpy(), out_t.detach().numpy())
    (out_d * _t(upstream, device)).sum().backward()
    (out_t * torch.from_numpy(upstream)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **F32)
    assert not ours.weight.grad.numpy()[2].any()  # the padding row receives no gradient


def test_embedding_scale_grad_by_freq_and_max_norm_match_torch(rng):
    torch = pytest.importorskip("torch")
    table = rng.normal(0, 2, size=(5, 4)).astype(np.float32)
    ours = nn.Embedding(5, 4, max_norm=1.0, scale_grad_by_freq=True, _weight=dl.tensor(table))
    theirs = torch.nn.Embedding(5, 4, max_norm=1.0, scale_grad_by_freq=True,
                                _weight=torch.from_numpy(table.copy()))
    indices = np.array([1, 1, 1, 3, 4, 3])
    ours(dl.tensor(indices)).sum().backward()
    theirs(torch.from_numpy(indices)).sum().backward()
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), **F32)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **F32)


def test_embedding_gradcheck_and_errors(device, rng):
    table = _t(rng.normal(size=(4, 2)), device, True)
    indices = dl.tensor([[3, 1], [1, 1]], device=device)
    embed = nn.Embedding.from_pretrained(table, freeze=False)
    assert _module_gradcheck(embed, [indices], ["weight"])
    assert not nn.Embedding.from_pretrained(table).weight.requires_grad
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        embed(dl.tensor([4]))
    with pytest.raises(TypeError, match="integers"):
        embed(dl.tensor([1.0]))
    with pytest.raises(ValueError, match="sparse=True"):
        nn.Embedding(3, 2, sparse=True)


def test_embedding_default_init_is_standard_normal_with_zero_padding_row():
    dl.manual_seed(0)
    embed = nn.Embedding(4000, 8, padding_idx=-1)
    values = embed.weight.detach().numpy()
    assert embed.padding_idx == 3999 and not values[-1].any()
    assert abs(values[:-1].mean()) < 0.01 and abs(values[:-1].std() - 1) < 0.01


def test_module_list_and_dict_name_parameters_as_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
    ours.append(nn.Linear(3, 2))
    theirs = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(3)] +
                                 [torch.nn.Linear(3, 2)])
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    assert len(ours[1:]) == 3 and ours[-1].out_features == 2
    ours.insert(0, nn.Identity())
    del ours[0]
    assert ours.pop().out_features == 2 and len(ours) == 3
    heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
    assert list(heads) == ["a", "b"] and "a" in heads
    assert [n for n, _ in heads.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    with pytest.raises(TypeError, match="expected a Module"):
        ours.append(3)
    with pytest.raises(KeyError, match="without '.'"):
        heads["x.y"] = nn.Identity()


def test_parameter_list_and_dict_wrap_tensors():
    scales = nn.ParameterList([dl.ones(2), nn.Parameter(dl.zeros(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in scales)
    assert [n for n, _ in scales.named_parameters()] == ["0", "1"]
    table = nn.ParameterDict({"w": dl.randn(2, 2)})
    assert [n for n, _ in table.named_parameters()] == ["w"]
    with pytest.raises(TypeError, match="Parameter or Tensor"):
        scales.append([1.0])


def test_flatten_and_unflatten_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    for start, end in [(1, -1), (0, 1), (1, 2), (-2, -1)]:
        ours = nn.Flatten(start, end)(dl.tensor(x))
        theirs = torch.nn.Flatten(start, end)(torch.from_numpy(x))
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    flat = rng.normal(size=(2, 12)).astype(np.float32)
    for sizes in [(3, 4), (-1, 2), (2, 2, 3)]:
        ours = nn.Unflatten(1, sizes)(dl.tensor(flat))
        theirs = torch.nn.Unflatten(1, sizes)(torch.from_numpy(flat))
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    with pytest.raises(ValueError, match="cannot split"):
        nn.Unflatten(1, (5, 3))(dl.tensor(flat))
    with pytest.raises(ValueError, match="do not select"):
        nn.Flatten(2, 1)(dl.tensor(x))


def test_flatten_gradient_flows_back_to_the_input_shape(device, rng):
    x = _t(rng.normal(size=(2, 3, 2)), device, True)
    assert dl.gradcheck(lambda a: nn.Flatten()(a) * 2.0, (x,))
    assert dl.gradcheck(lambda a: nn.Unflatten(1, (-1, 1))(a) * 3.0, (x,))


def test_batch_norm_state_survives_a_training_state_checkpoint(tmp_path):
    from deeplite.serialization import load_training_state, save_training_state

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(dl.randn(8, 3))
    save_training_state(tmp_path / "bn.safetensors", model)
    restored = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    load_training_state(tmp_path / "bn.safetensors", restored)
    assert int(restored[1].num_batches_tracked.item()) == 1
    np.testing.assert_array_equal(restored[1].running_mean.numpy(), model[1].running_mean.numpy())


def test_reprs_of_the_new_layers_equal_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Flatten(), lib.nn.Unflatten(1, (2, 3)), lib.nn.Flatten(0, -1),
            lib.nn.BatchNorm1d(4, momentum=None), lib.nn.RMSNorm(6),
            lib.nn.LayerNorm((2, 3), elementwise_affine=False),
            lib.nn.Embedding(5, 4, padding_idx=0, max_norm=2.0),
            lib.nn.ModuleDict({"head": lib.nn.Linear(3, 2), "more": lib.nn.ModuleList(
                [lib.nn.ReLU(), lib.nn.ReLU(), lib.nn.Linear(2, 2, bias=False)])}))
    assert repr(build(dl)) == repr(build(torch))


def test_batch_norm_without_bias_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(3, bias=False), torch.nn.BatchNorm1d(3, bias=False)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    x = rng.normal(size=(6, 3)).astype(np.float32)
    np.testing.assert_allclose(_np(ours(dl.tensor(x))), theirs(torch.from_numpy(x)).detach()
                               .numpy(), **F32)
