"""The new ops against PyTorch itself (an extra oracle; the op table checks them against NumPy):
values and first derivatives on fresh random inputs, with PyTorch's own argument names."""
import numpy as np
import pytest

import deeplite as dl

torch = pytest.importorskip("torch")
F = dl.functional
TF = torch.nn.functional


def _pair(data, requires_grad=True):
    """The same float64 data as a deeplite tensor and a torch tensor."""
    ours = dl.tensor(data, dtype=dl.float64, requires_grad=requires_grad)
    theirs = torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad)
    return ours, theirs


def _ints(data):
    return dl.tensor(np.asarray(data, np.int64)), torch.tensor(np.asarray(data, np.int64))


def _compare(ours_fn, theirs_fn, *arrays, rtol=1e-10):
    """Values and the gradient of a weighted sum agree for every float input."""
    pairs = [_pair(a) for a in arrays]
    ours = ours_fn(*[p[0] for p in pairs])
    theirs = theirs_fn(*[p[1] for p in pairs])
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=1e-12)
    weights = np.linspace(-1.0, 2.0, max(ours.numel(), 1)).reshape(ours.shape)
    (ours * dl.tensor(weights, dtype=dl.float64)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    for (mine, reference) in pairs:
        if reference.grad is None:
            assert mine.grad is None or not np.any(mine.grad.numpy())
            continue
        # 1e-6: torch spells some constants as float literals (hardsigmoid's 1/6 is 1.0f / 6).
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-6,
                                   atol=1e-10)


def test_activations(rng):
    x = rng.standard_normal((4, 6)) * 3
    for ours, theirs in [
        (F.gelu, TF.gelu), (lambda t: F.gelu(t, approximate="tanh"),
                            lambda t: TF.gelu(t, approximate="tanh")),
        (F.elu, TF.elu), (F.selu, TF.selu), (lambda t: F.celu(t, 0.5),
                                             lambda t: TF.celu(t, 0.5)),
        (F.silu, TF.silu), (F.mish, TF.mish), (F.hardsigmoid, TF.hardsigmoid),
        (F.hardswish, TF.hardswish), (F.hardtanh, TF.hardtanh), (F.relu6, TF.relu6),
        (F.softsign, TF.softsign), (lambda t: F.softmin(t, dim=1), lambda t: TF.softmin(t, 1)),
        (lambda t: F.softplus(t, beta=2, threshold=3), lambda t: TF.softplus(t, 2, 3)),
        (lambda t: F.glu(t, dim=1), lambda t: TF.glu(t, 1)), (F.normalize, TF.normalize),
        (F.hardshrink, TF.hardshrink), (F.softshrink, TF.softshrink),
        (F.tanhshrink, TF.tanhshrink), (lambda t: F.threshold(t, 0.3, -1.0),
                                        lambda t: TF.threshold(t, 0.3, -1.0))]:
        _compare(ours, theirs, x)


def test_activation_modules_match_torch_modules(rng):
    x = rng.standard_normal((3, 4))
    for name, args in [("GELU", ()), ("SiLU", ()), ("ELU", (0.3,)), ("SELU", ()), ("CELU", ()),
                       ("Mish", ()), ("Hardsigmoid", ()), ("Hardswish", ()),
                       ("Hardtanh", (-0.5, 0.5)), ("ReLU6", ()), ("Softsign", ()),
                       ("Softmin", (1,)), ("Softplus", (2.0, 1.0)), ("GLU", (0,)),
                       ("LogSoftmax", (1,)), ("LogSigmoid", ())]:
        if name == "GLU":
            data = rng.standard_normal((4, 3))
        else:
            data = x
        ours = getattr(dl.nn, name)(*args)(dl.tensor(data, dtype=dl.float64))
        theirs = getattr(torch.nn, name)(*args)(torch.tensor(data))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, err_msg=name)


def test_cross_entropy_options(rng):
    logits = rng.standard_normal((6, 4))
    labels = np.array([0, 3, -100, 1, 2, 3])
    weight = rng.uniform(0.5, 2, 4)
    for kwargs in [{}, {"label_smoothing": 0.15}, {"reduction": "sum", "label_smoothing": 0.3},
                   {"reduction": "none", "label_smoothing": 0.1}]:
        for use_weight in (False, True):
            ours_w = dl.tensor(weight, dtype=dl.float64) if use_weight else None
            theirs_w = torch.tensor(weight) if use_weight else None
            _compare(lambda z, w=ours_w, k=kwargs: F.cross_entropy(z, _ints(labels)[0], weight=w,
                                                                   **k),
                     lambda z, w=theirs_w, k=kwargs: TF.cross_entropy(z, _ints(labels)[1],
                                                                      weight=w, **k),
                     logits)
    spatial = rng.standard_normal((2, 3, 4, 5))
    spatial_labels = rng.integers(0, 3, (2, 4, 5))
    _compare(lambda z: F.cross_entropy(z, _ints(spatial_labels)[0], label_smoothing=0.2),
             lambda z: TF.cross_entropy(z, _ints(spatial_labels)[1], label_smoothing=0.2), spatial)
    _compare(lambda z: F.cross_entropy(z, _ints(2)[0], reduction="none"),
             lambda z: TF.cross_entropy(z, _ints(2)[1], reduction="none"), logits[0])
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    _compare(lambda z, p: F.cross_entropy(z, p, weight=dl.tensor(weight, dtype=dl.float64),
                                          label_smoothing=0.2),
             lambda z, p: TF.cross_entropy(z, p, weight=torch.tensor(weight),
                                           label_smoothing=0.2), logits, probabilities[::-1].copy())


def test_nll_loss_spatial_and_unbatched(rng):
    log_probs = rng.standard_normal((2, 3, 4))
    labels = rng.integers(0, 3, (2, 4))
    labels[0, 1] = 1
    weight = rng.uniform(0.5, 2, 3)
    _compare(lambda lp: F.nll_loss(lp, _ints(labels)[0], weight=dl.tensor(weight), ignore_index=1),
             lambda lp: TF.nll_loss(lp, _ints(labels)[1], weight=torch.tensor(weight),
                                    ignore_index=1), log_probs)
    _compare(lambda lp: F.nll_loss(lp, _ints(1)[0]), lambda lp: TF.nll_loss(lp, _ints(1)[1]),
             log_probs[0, :, 0])


def test_other_losses(rng):
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    signs = rng.choice([-1.0, 1.0], (5, 3))
    probs = rng.uniform(0.05, 0.95, (5, 3))
    _compare(lambda x, y: F.l1_loss(x, y), lambda x, y: TF.l1_loss(x, y), a, b)
    _compare(lambda x, y: F.smooth_l1_loss(x, y, beta=0.6),
             lambda x, y: TF.smooth_l1_loss(x, y, beta=0.6), a, b)
    _compare(lambda x, y: F.huber_loss(x, y, delta=0.4, reduction="none"),
             lambda x, y: TF.huber_loss(x, y, delta=0.4, reduction="none"), a, b)
    log_p = np.log(probs / probs.sum(1, keepdims=True))
    for reduction in ("batchmean", "sum"):
        _compare(lambda x, t, r=reduction: F.kl_div(x, t, reduction=r),
                 lambda x, t, r=reduction: TF.kl_div(x, t, reduction=r), log_p, probs)
    _compare(lambda x, t: F.kl_div(x, t, reduction="batchmean", log_target=True),
             lambda x, t: TF.kl_div(x, t, reduction="batchmean", log_target=True), log_p,
             log_p[::-1].copy())
    _compare(lambda x: F.hinge_embedding_loss(x, dl.tensor(signs, dtype=dl.float64), margin=0.5),
             lambda x: TF.hinge_embedding_loss(x, torch.tensor(signs), margin=0.5), a)
    labels = rng.integers(0, 3, 5)
    weight = rng.uniform(0.5, 2, 3)
    for p in (1, 2):
        _compare(lambda x, p=p: F.multi_margin_loss(x, _ints(labels)[0], p=p, margin=0.7,
                                                    weight=dl.tensor(weight)),
                 lambda x, p=p: TF.multi_margin_loss(x, _ints(labels)[1], p=p, margin=0.7,
                                                     weight=torch.tensor(weight)), a)
    pos_weight = rng.uniform(0.5, 3, 3)
    _compare(lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, weight=dl.tensor(probs), pos_weight=dl.tensor(pos_weight)),
        lambda z, y: TF.binary_cross_entropy_with_logits(z, y, weight=torch.tensor(probs),
                                                         pos_weight=torch.tensor(pos_weight)),
        a * 4, probs)
    _compare(lambda x, y: F.cosine_similarity(x, y), lambda x, y: TF.cosine_similarity(x, y),
             a, b)
    # Norms below eps: the values agree; torch's gradient there treats the clamp as the identity
    # (it clamps in place under no_grad), so it is not the derivative of its documented formula.
    # deeplite's is (the op table's gradcheck checks it), so only the values are compared here.
    small = [dl.tensor(v * 0.1, dtype=dl.float64) for v in (a, b)]
    np.testing.assert_allclose(
        F.cosine_similarity(*small, dim=0, eps=0.5).numpy(),
        TF.cosine_similarity(*[torch.tensor(v * 0.1) for v in (a, b)], dim=0, eps=0.5).numpy(),
        rtol=1e-12)


def test_reductions_sorting_and_cumulative(rng):
    x = rng.standard_normal((4, 5))
    for ours, theirs in [
        (lambda t: dl.prod(t, 1), lambda t: torch.prod(t, 1)),
        (lambda t: dl.logsumexp(t, 0), lambda t: torch.logsumexp(t, 0)),
        (lambda t: dl.norm(t, 3, dim=1), lambda t: torch.linalg.vector_norm(t, 3, dim=1)),
        (lambda t: dl.sort(t, 1, descending=True).values,
         lambda t: torch.sort(t, 1, descending=True).values),
        (lambda t: dl.topk(t, 3, dim=0).values, lambda t: torch.topk(t, 3, dim=0).values),
        (lambda t: dl.median(t, 1).values, lambda t: torch.median(t, 1).values),
        (dl.median, torch.median), (lambda t: dl.kthvalue(t, 2, 0).values,
                                    lambda t: torch.kthvalue(t, 2, 0).values),
        (lambda t: dl.cumprod(t, 1), lambda t: torch.cumprod(t, 1)),
        (lambda t: dl.cummax(t, 1).values, lambda t: torch.cummax(t, 1).values),
        (lambda t: dl.cummin(t, 0).values, lambda t: torch.cummin(t, 0).values),
        (lambda t: dl.logcumsumexp(t, 1), lambda t: torch.logcumsumexp(t, 1)),
        (lambda t: dl.stack(list(dl.var_mean(t, 1, correction=0))),
         lambda t: torch.stack(list(torch.var_mean(t, 1, correction=0))))]:
        _compare(ours, theirs, x)
    zeros = np.array([[0.0, 2.0, 0.5, 3.0], [1.0, 0.0, 0.0, 2.0], [0.0, 1.5, -1.0, 0.0]])
    _compare(lambda t: dl.cumprod(t, 1), lambda t: torch.cumprod(t, 1), zeros)
    _compare(lambda t: dl.prod(t, 1), lambda t: torch.prod(t, 1), zeros)
    ties = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 5.0, 5.0]])
    np.testing.assert_array_equal(dl.cummax(dl.tensor(ties), 1).indices.numpy(),
                                  torch.cummax(torch.tensor(ties), 1).indices.numpy())
    np.testing.assert_array_equal(
        dl.sort(dl.tensor(ties), 1, descending=True, stable=True).indices.numpy(),
        torch.sort(torch.tensor(ties), dim=1, descending=True, stable=True).indices.numpy())
    with_nan = np.array([[1.0, np.nan, 3.0], [2.0, 0.0, 1.0]])
    np.testing.assert_array_equal(dl.median(dl.tensor(with_nan), 1).values.numpy(),
                                  torch.median(torch.tensor(with_nan), 1).values.numpy())
    np.testing.assert_array_equal(dl.nanmedian(dl.tensor(with_nan), 1).values.numpy(),
                                  torch.nanmedian(torch.tensor(with_nan), 1).values.numpy())


def test_indexing_ops(rng):
    x = rng.standard_normal((4, 5))
    index = rng.integers(0, 4, (3, 5))
    src = rng.standard_normal((3, 5))
    _compare(lambda t: dl.gather(t, 0, _ints(index)[0]),
             lambda t: torch.gather(t, 0, _ints(index)[1]), x)
    _compare(lambda t, s: dl.scatter_add(t, 0, _ints(index)[0], s),
             lambda t, s: torch.scatter_add(t, 0, _ints(index)[1], s), x, src)
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            _compare(lambda t, s, r=reduce, k=include_self: dl.scatter_reduce(
                t, 0, _ints(index)[0], s, r, include_self=k),
                lambda t, s, r=reduce, k=include_self: torch.scatter_reduce(
                    t, 0, _ints(index)[1], s, r, include_self=k), x, src)
    distinct = np.stack([rng.permutation(4)[:2] for _ in range(5)], 1)
    _compare(lambda t, s: dl.scatter(t, 0, _ints(distinct)[0], s),
             lambda t, s: torch.scatter(t, 0, _ints(distinct)[1], s), x, src[:2])
    mask = rng.random((4, 5)) < 0.4
    _compare(lambda t: dl.masked_fill(t, dl.tensor(mask), 2.0),
             lambda t: t.masked_fill(torch.tensor(mask), 2.0), x)
    _compare(lambda t: dl.masked_select(t, dl.tensor(mask[0])),
             lambda t: torch.masked_select(t, torch.tensor(mask[0])), x)
    _compare(lambda t: dl.index_select(t, 1, _ints([4, 0, 4])[0]),
             lambda t: torch.index_select(t, 1, _ints([4, 0, 4])[1]), x)
    _compare(lambda t: dl.take_along_dim(t, _ints([[1], [0]])[0][:, :1].reshape(1, 2), 0),
             lambda t: torch.take_along_dim(t, _ints([[1, 0]])[1], 0), x[:, :2])
    np.testing.assert_array_equal(dl.nonzero(dl.tensor(mask)).numpy(),
                                  torch.nonzero(torch.tensor(mask)).numpy())


def test_shape_ops(rng):
    x = rng.standard_normal((2, 3, 4))
    for ours, theirs in [
        (lambda t: dl.flatten(t, 1), lambda t: torch.flatten(t, 1)),
        (lambda t: dl.unflatten(t, 2, (2, 2)), lambda t: torch.unflatten(t, 2, (2, 2))),
        (lambda t: dl.repeat(t, 1, 2, 1, 2), lambda t: t.repeat(1, 2, 1, 2)),
        (lambda t: dl.tile(t, (2, 1)), lambda t: torch.tile(t, (2, 1))),
        (lambda t: dl.roll(t, (2, -1), (2, 0)), lambda t: torch.roll(t, (2, -1), (2, 0))),
        (lambda t: dl.roll(t, 5), lambda t: torch.roll(t, 5)),
        (lambda t: dl.repeat_interleave(t, dl.tensor([1, 0, 2]), dim=1),
         lambda t: torch.repeat_interleave(t, torch.tensor([1, 0, 2]), dim=1)),
        (lambda t: dl.movedim(t, (0, 1), (2, 0)), lambda t: torch.movedim(t, (0, 1), (2, 0))),
        (lambda t: dl.diagonal(t, -1, 2, 1), lambda t: torch.diagonal(t, -1, 2, 1)),
        (lambda t: dl.diag(t[0], 1), lambda t: torch.diag(t[0], 1)),
        (lambda t: dl.diag_embed(t), lambda t: torch.diag_embed(t)),
        (lambda t: dl.tril(t, -1), lambda t: torch.tril(t, -1)),
        (lambda t: dl.triu(t, 2), lambda t: torch.triu(t, 2)),
        (lambda t: dl.chunk(t, 3, 2)[1], lambda t: torch.chunk(t, 3, 2)[1]),
        (lambda t: dl.tensor_split(t, 3, 2)[2], lambda t: torch.tensor_split(t, 3, 2)[2]),
        (lambda t: dl.expand(t[:, :1], 5, -1, 3, 4), lambda t: t[:, :1].expand(5, -1, 3, 4)),
        (lambda t: F.pad(t, (2, 1, 1, 2), mode="reflect"),
         lambda t: TF.pad(t, (2, 1, 1, 2), mode="reflect")),
        (lambda t: F.pad(t, (3, 1, 0, 2), mode="replicate"),
         lambda t: TF.pad(t, (3, 1, 0, 2), mode="replicate")),
        (lambda t: F.pad(t, (1, 2, 2, 1), mode="circular"),
         lambda t: TF.pad(t, (1, 2, 2, 1), mode="circular")),
        (lambda t: F.pad(t, (1, -2, 0, 0, 2, 1), value=0.5),
         lambda t: TF.pad(t, (1, -2, 0, 0, 2, 1), value=0.5))]:
        _compare(ours, theirs, x)
    a, b = rng.standard_normal(3), rng.standard_normal(4)
    for indexing in ("ij", "xy"):
        _compare(lambda p, q, i=indexing: dl.stack(list(dl.meshgrid(p, q, indexing=i))),
                 lambda p, q, i=indexing: torch.stack(list(torch.meshgrid(p, q, indexing=i))),
                 a, b)


def test_elementwise_binary_ops(rng):
    a = rng.standard_normal((3, 4)) * 3
    b = rng.choice([-1.0, 1.0], (3, 4)) * rng.uniform(0.3, 2, (3, 4))
    for ours, theirs in [(dl.atan2, torch.atan2), (dl.copysign, torch.copysign),
                         (dl.logaddexp, torch.logaddexp), (dl.fmod, torch.fmod),
                         (dl.remainder, torch.remainder), (dl.hypot, torch.hypot),
                         (lambda p, q: dl.lerp(p, q, 0.25), lambda p, q: torch.lerp(p, q, 0.25))]:
        _compare(ours, theirs, a, b)
