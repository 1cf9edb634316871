"""Samplers, dataset wrappers, random_split, collation and the bundled datasets, as PyTorch's."""
import collections

import numpy as np
import pytest

import deeplite as dl
from deeplite.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    datasets,
    default_collate,
    random_split,
)


class _Rows(Dataset):
    """A map-style dataset of (features, label, name) samples."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], int(self.y[index]), f"row{index}"


def test_sequential_random_and_subset_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    order = list(RandomSampler(range(10), generator=1))
    assert sorted(order) == list(range(10)) and order != list(range(10))
    assert list(RandomSampler(range(10), generator=1)) == order  # a seed reproduces
    longer = list(RandomSampler(range(4), num_samples=10, generator=2))
    assert len(longer) == 10 and collections.Counter(longer[:8]) == {i: 2 for i in range(4)}
    with_repeats = RandomSampler(range(3), replacement=True, num_samples=50, generator=3)
    assert len(list(with_repeats)) == 50 and set(with_repeats) <= {0, 1, 2}
    assert sorted(SubsetRandomSampler([5, 7, 9], generator=4)) == [5, 7, 9]
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="generator must be"):
        RandomSampler(range(3), generator="seed")


def test_weighted_random_sampler_follows_the_weights():
    weights = np.array([1.0, 3.0, 0.0, 6.0])
    draws = np.array(list(WeightedRandomSampler(weights, 40_000, generator=5)))
    frequencies = np.bincount(draws, minlength=4) / draws.size
    # 40k draws: the standard error of each frequency is below 0.0025.
    np.testing.assert_allclose(frequencies, weights / weights.sum(), atol=0.01)
    distinct = list(WeightedRandomSampler(weights, 3, replacement=False, generator=6))
    assert sorted(distinct) == [0, 1, 3]
    with pytest.raises(ValueError, match="cannot draw 4 distinct"):
        WeightedRandomSampler(weights, 4, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_batch_sampler_matches_torch():
    torch = pytest.importorskip("torch")
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(range(10)), 3, drop_last)
        theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(10)), 3,
                                               drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("lengths", [[0.7, 0.3], [0.34, 0.33, 0.33], [0.5, 0.5, 0.0],
                                     [3, 7]])
def test_random_split_sizes_match_torch_and_partition_the_data(lengths):
    torch = pytest.importorskip("torch")
    data = TensorDataset(np.arange(10))
    with pytest.warns(UserWarning, match="index 2 is 0") if 0.0 in lengths else _no_warning():
        ours = random_split(data, lengths, generator=0)
    with pytest.warns(UserWarning) if 0.0 in lengths else _no_warning():
        theirs = torch.utils.data.random_split(range(10), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    together = sorted(i for subset in ours for i in subset.indices)
    assert together == list(range(10))
    again = random_split(data, [len(s) for s in ours], generator=0)
    assert [s.indices for s in again] == [s.indices for s in ours]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [3, 3])


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_subset_concat_and_stack_datasets():
    torch = pytest.importorskip("torch")
    first, second = TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 15))
    ours, theirs = ConcatDataset([first, second]), torch.utils.data.ConcatDataset(
        [range(3), range(10, 15)])
    assert len(ours) == len(theirs) == 8
    assert [int(ours[i][0]) for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    assert len(first + second) == 8
    with pytest.raises(ValueError, match="should not exceed"):
        ours[-9]
    subset = Subset(ours, [7, 0, 3])
    assert [int(subset[i][0]) for i in range(3)] == [14, 0, 10]
    pairs = StackDataset(np.arange(4), np.arange(4) * 10)
    assert pairs[2] == (2, 20) and len(pairs) == 4
    named = StackDataset(image=np.arange(4), label=np.arange(4) * 2)
    assert named[3] == {"image": 3, "label": 6}
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(np.arange(3), np.arange(4))


def test_default_collate_structure_matches_torch(rng):
    torch = pytest.importorskip("torch")
    Point = collections.namedtuple("Point", "x y")
    samples = [{"a": rng.normal(size=3), "b": (i, 0.5 * i, f"s{i}"), "p": Point(i, -i),
                "t": np.float32(i), "flag": bool(i % 2)} for i in range(4)]
    ours = default_collate(samples)
    theirs = torch.utils.data.default_collate(samples)
    np.testing.assert_array_equal(ours["a"].numpy(), theirs["a"].numpy())
    assert isinstance(ours["b"], list) and isinstance(theirs["b"], list)
    for got, want in zip(ours["b"][:2], theirs["b"][:2], strict=True):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    assert ours["b"][2] == theirs["b"][2] == ("s0", "s1", "s2", "s3")
    assert type(ours["p"]) is Point and ours["p"].y.numpy().tolist() == [0, -1, -2, -3]
    assert ours["flag"].dtype == np.bool_ and ours["t"].dtype == np.float32
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])


def test_loader_with_sampler_batch_sampler_and_collate_fn(device, rng):
    x = rng.normal(size=(12, 2)).astype(np.float32)
    y = np.arange(12)
    weights = np.where(y < 6, 0.0, 1.0)  # only the second half can be drawn
    sampler = WeightedRandomSampler(weights, 20, generator=7)
    for data in (TensorDataset(x, y), _Rows(x, y)):
        loader = DataLoader(data, batch_size=8, sampler=sampler, device=device)
        batches = list(loader)
        assert len(loader) == 3 and [len(b[1]) for b in batches] == [8, 8, 4]
        labels = np.concatenate([b[1].numpy() for b in batches])
        assert labels.min() >= 6 and batches[0][0].device == device
        np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]),
                                      x[labels])
    batch_sampler = [[0, 1], [5, 4, 3], [11]]
    loader = DataLoader(_Rows(x, y), batch_sampler=batch_sampler, device=device)
    assert [b[1].numpy().tolist() for b in loader] == batch_sampler
    assert [b[2] for b in loader][1] == ("row5", "row4", "row3")  # strings stay as torch's
    summed = DataLoader(_Rows(x, y), batch_size=5, drop_last=True,
                        collate_fn=lambda samples: sum(s[1] for s in samples))
    assert list(summed) == [10, 35]
    single = list(DataLoader(TensorDataset(x, y), batch_size=None))
    assert len(single) == 12 and single[3][1].shape == ()
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(_Rows(x, y), sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(_Rows(x, y), batch_sampler=batch_sampler, batch_size=4)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(_Rows(x, y), num_workers=-1)


def test_loader_gathers_a_random_split_of_a_tensor_dataset(device, rng):
    x = rng.normal(size=(20, 3)).astype(np.float32)
    train, test = random_split(TensorDataset(x, np.arange(20)), [0.75, 0.25], generator=8)
    inner = Subset(train, [2, 0, 1])  # a subset of a subset keeps the fast path too
    for subset in (train, test, inner):
        loader = DataLoader(subset, batch_size=4, shuffle=True, seed=1, device=device)
        assert loader._arrays is not None  # whole-batch gathers, no per-sample collation
        ids = np.concatenate([ids.numpy() for _, ids in loader])
        expected = [subset[i][1] for i in range(len(subset))]
        assert sorted(ids.tolist()) == sorted(int(e) for e in expected)
        first_x = next(iter(DataLoader(subset, batch_size=len(subset), device=device)))[0]
        np.testing.assert_array_equal(first_x.numpy(), np.stack([subset[i][0] for i in
                                                                 range(len(subset))]))


def test_seeded_loader_with_generator_resumes_with_skip_epochs():
    data = TensorDataset(np.arange(30))
    loader = DataLoader(data, batch_size=7, shuffle=True, generator=np.random.default_rng(3))
    epochs = [np.concatenate([b.numpy() for (b,) in loader]) for _ in range(3)]
    resumed = DataLoader(data, batch_size=7, shuffle=True, generator=np.random.default_rng(3))
    resumed.skip_epochs(2)
    np.testing.assert_array_equal(np.concatenate([b.numpy() for (b,) in resumed]), epochs[2])


@pytest.mark.parametrize("name, kwargs", [("wine", {}), ("iris", {}), ("diabetes", {}),
                                          ("diabetes", {"scaled": False})])
def test_bundled_datasets_equal_scikit_learn(name, kwargs):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    ours = getattr(datasets, f"load_{name}")(**kwargs)
    bunch = getattr(sklearn_datasets, f"load_{name}")(**kwargs)
    np.testing.assert_allclose(ours.x, bunch.data.astype(np.float32), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours.y, bunch.target, rtol=1e-6)
    assert ours.feature_names == list(bunch.feature_names)
    if name != "diabetes":
        assert ours.classes == list(bunch.target_names) and ours.y.dtype == np.int64
    else:
        assert ours.classes is None and ours.y.dtype == np.float32


def test_diabetes_scaled_columns_have_unit_norm():
    x = dl.data.load_diabetes().x.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-7)
