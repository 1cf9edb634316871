"""The Tensor methods and conversions a PyTorch user reaches for, and the errors they catch."""
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import deeplite as dl


def test_python_protocols(rng):
    data = rng.standard_normal((3, 4))
    x = dl.tensor(data)
    assert len(x) == 3 and [row.shape for row in x] == [(4,)] * 3
    assert format(dl.tensor(3.14159), "+.2f") == "+3.14" and f"{dl.tensor(2.5):.1f}" == "2.5"
    assert f"{x}" == repr(x)
    with pytest.raises(TypeError, match="format .item"):
        format(x, ".2f")
    assert bool(dl.tensor([1.0])) and not bool(dl.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError):
        len(dl.tensor(1.0))
    with pytest.raises(TypeError):
        iter(dl.tensor(1.0)).__next__()


def test_size_dim_numel_type(rng):
    x = dl.tensor(rng.standard_normal((2, 3, 4)), dtype=dl.float32)
    assert x.size() == (2, 3, 4) and x.size(0) == 2 and x.size(-1) == 4
    assert x.dim() == 3 and x.numel() == 24
    with pytest.raises(IndexError, match="size: dim 3 is out of range"):
        x.size(3)
    assert x.type() == "deeplite.FloatTensor" and x.long().type() == "deeplite.LongTensor"
    assert x.type(dl.float64).dtype == dl.float64
    assert x.type("torch.LongTensor").dtype == dl.int64
    assert x.int().dtype == dl.int32 and x.bool().dtype == dl.bool_
    assert x.half().dtype == dl.float16


def test_mm_clone_contiguous_view(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    x = dl.tensor(a, dtype=dl.float64, requires_grad=True)
    np.testing.assert_allclose(x.mm(dl.tensor(b, dtype=dl.float64)).detach().numpy(), a @ b)
    with pytest.raises(ValueError, match="mm: expects two 2-D tensors"):
        x.mm(dl.ones(4, dtype=dl.float64))
    copy = x.clone()
    assert copy.data is not x.data and np.shares_memory(copy.data, x.data) is False
    (copy * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0))
    transposed = x.detach().transpose(0, 1)
    assert not transposed.data.flags.c_contiguous
    assert transposed.contiguous().data.flags.c_contiguous
    assert x.contiguous() is x
    assert x.view(4, 3).shape == (4, 3) and x.view(-1).shape == (12,)


def test_method_forms_match_the_functions(rng):
    data = rng.standard_normal((3, 4))
    x = dl.tensor(data, dtype=dl.float64)
    index = dl.tensor(rng.integers(0, 4, (3, 2)))
    pairs = [(x.flatten(), dl.flatten(x)), (x.unsqueeze(0), dl.unsqueeze(x, 0)),
             (x.cumsum(1), dl.cumsum(x, 1)), (x.sort(0).values, dl.sort(x, 0).values),
             (x.topk(2).indices, dl.topk(x, 2).indices), (x.sin(), dl.sin(x)),
             (x.gather(1, index), dl.gather(x, 1, index)), (x.prod(0), dl.prod(x, 0)),
             (x.amax(1), dl.amax(x, 1)), (x.argmin(1), dl.argmin(x, 1)), (x.tril(), dl.tril(x)),
             (x.expand(2, 3, 4), dl.expand(x, 2, 3, 4)), (x.mT, x.transpose(0, 1)),
             (x.masked_fill(x > 0, 0.0), dl.masked_fill(x, x > 0, 0.0)),
             (x.clamp_min(0.0), dl.clip(x, min=0.0)), (x.logsumexp(1), dl.logsumexp(x, 1))]
    for method, function in pairs:
        np.testing.assert_array_equal(method.numpy(), function.numpy())


def test_integer_and_bitwise_operators():
    a, b = dl.tensor([7, -7, 12]), dl.tensor([2, 2, 5])
    assert (a // b).tolist() == [3, -4, 2] and (a % b).tolist() == [1, 1, 2]
    assert (a & b).tolist() == [2, 0, 4] and (a | b).tolist() == [7, -5, 13]
    assert (a ^ b).tolist() == [5, -5, 9] and (~a).tolist() == [-8, 6, -13]
    assert (a << 1).tolist() == [14, -14, 24] and (a >> 1).tolist() == [3, -4, 6]
    assert (7 // b).tolist() == [3, 3, 1] and (13 % b).tolist() == [1, 1, 3]
    mask = dl.tensor([True, False, True])
    assert (mask & dl.tensor([True, True, False])).tolist() == [True, False, False]
    assert (~mask).tolist() == [False, True, False]
    assert (dl.tensor([1.5, -1.5]) // 1).tolist() == [1.0, -2.0]
    with pytest.raises(TypeError, match="bitwise_and: needs integer or bool tensors"):
        dl.tensor([1.5]) & dl.tensor([1.0])


def test_random_fills_in_place_are_seeded():
    x = dl.empty(2000)
    dl.manual_seed(1)
    assert x.uniform_(-2.0, 3.0) is x
    values = x.numpy().copy()
    assert values.min() >= -2.0 and values.max() < 3.0 and abs(values.mean() - 0.5) < 0.1
    dl.manual_seed(1)
    np.testing.assert_array_equal(dl.empty(2000).uniform_(-2.0, 3.0).numpy(), values)
    normal = dl.empty(4000, dtype=dl.float64).normal_(1.0, 0.5).numpy()
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 0.5) < 0.05
    weight = dl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        weight.uniform_()
    with dl.no_grad():
        weight.normal_()
    assert weight.detach().numpy().std() > 0


def test_errors_name_the_culprit_and_the_fix():
    with pytest.raises(TypeError, match=r"expected a deeplite Tensor, got numpy.ndarray; wrap it "
                                         r"with deeplite.tensor"):
        dl.exp(np.ones(3))
    with pytest.raises(TypeError, match=r"deeplite.empty\(2, 3\)"):
        dl.Tensor(2, 3)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        dl.ones(2) + dl.ones(3)
    with pytest.raises(RuntimeError, match="do not align"):
        dl.ones(2, 3) @ dl.ones(2, 3)
    for mismatch in (lambda: dl.ones(2, 3).reshape(4), lambda: dl.cat([dl.ones(2, 3), dl.ones(2)]),
                     lambda: dl.stack([dl.ones(2), dl.ones(3)]), lambda: dl.ones(3).mT):
        with pytest.raises(RuntimeError):
            mismatch()
    with _no_warnings():
        assert dl.exp(dl.tensor([1000.0])).item() == float("inf")  # quietly, as in PyTorch


def test_a_float64_batch_into_a_float32_model_is_refused():
    torch = pytest.importorskip("torch")
    model = dl.nn.Linear(3, 2)
    batch = np.ones((4, 3))  # NumPy's default: float64
    with pytest.raises(TypeError, match=r"input is float64 but the weight is float32; convert "
                                        r"the input with x.to\('float32'\)"):
        model(dl.tensor(batch))
    with pytest.raises(RuntimeError):  # torch refuses the same batch
        torch.nn.Linear(3, 2)(torch.tensor(batch))
    assert model(dl.tensor(batch.astype(np.float32))).shape == (4, 2)
    assert model.to(dl.float64)(dl.tensor(batch)).dtype == dl.float64


@contextmanager
def _no_warnings():
    """Fail on any warning raised inside the block."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
