"""deeplite.data: TensorDataset, DataLoader, tabular loading (and its errors), splits, datasets."""
import numpy as np
import pytest

import deeplite as dl
from deeplite.data import (
    DataError,
    DataLoader,
    Dataset,
    Standardizer,
    TensorDataset,
    encode_labels,
    load_csv,
    load_features_csv,
    load_npz,
    make_gaussian_classes,
    make_regression_1d,
    train_test_split,
)


# ---- TensorDataset and DataLoader ---------------------------------------------------------------
def test_tensor_dataset_rows_and_length_check(rng):
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)
    data = TensorDataset(dl.tensor(x), y)
    row_x, row_y = data[4]
    np.testing.assert_array_equal(row_x.numpy(), x[4].astype(np.float64))
    assert row_y == y[4] and len(data) == 7
    with pytest.raises(ValueError, match=r"\(7, 3\), \(6,\)"):
        TensorDataset(x, y[:6])


@pytest.mark.parametrize("drop_last", [False, True])
def test_loader_shuffled_epoch_visits_each_sample_once(device, rng, drop_last):
    n = 23
    x = rng.standard_normal((n, 3)).astype(np.float32)
    ids = np.arange(n)
    loader = DataLoader(TensorDataset(x, ids), batch_size=5, shuffle=True, drop_last=drop_last,
                        seed=3, device=device)
    assert len(loader) == (4 if drop_last else 5)
    batches = list(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([batch_ids.numpy() for _, batch_ids in batches])
    for batch_x, batch_ids in batches:
        assert batch_x.device == device and batch_ids.device == device
        # each batch's rows still belong together
        np.testing.assert_array_equal(batch_x.numpy(), x[batch_ids.numpy()])
    assert len(seen) == (20 if drop_last else n) and len(set(seen.tolist())) == len(seen)
    assert not np.array_equal(seen, ids[:len(seen)])  # shuffled (23! orders: not the identity)


def test_loader_reshuffles_each_epoch_and_repeats_with_the_seed(rng):
    data = TensorDataset(rng.standard_normal((40, 2)), np.arange(40))

    def orders(loader):
        return [np.concatenate([ids.numpy() for _, ids in loader]) for _ in range(3)]

    first = orders(DataLoader(data, batch_size=8, shuffle=True, seed=11))
    again = orders(DataLoader(data, batch_size=8, shuffle=True, seed=11))
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_loader_without_seed_follows_manual_seed(rng):
    data = TensorDataset(rng.standard_normal((30, 2)), np.arange(30))
    dl.manual_seed(5)
    first = np.concatenate([ids.numpy() for _, ids in DataLoader(data, 7, shuffle=True)])
    dl.manual_seed(5)
    second = np.concatenate([ids.numpy() for _, ids in DataLoader(data, 7, shuffle=True)])
    np.testing.assert_array_equal(first, second)


def test_loader_in_order_slices(device, rng):
    x = rng.standard_normal((10, 4)).astype(np.float32)
    batches = [xb.numpy() for (xb,) in DataLoader(TensorDataset(x), 4, device=device)]
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(batches), x)


def test_loader_collates_a_generic_dataset(device, rng):
    table = rng.standard_normal((9, 2)).astype(np.float32)

    class Squares(Dataset):
        def __len__(self):
            return len(table)

        def __getitem__(self, index):
            return table[index], table[index] ** 2

    batches = list(DataLoader(Squares(), batch_size=4, device=device))
    assert len(batches) == 3
    xb, sq = batches[0]
    np.testing.assert_allclose(sq.numpy(), table[:4] ** 2)
    assert xb.device == device


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True])
def test_loader_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(np.ones((3, 1))), batch_size=batch_size)


# ---- CSV and NPZ --------------------------------------------------------------------------------
def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_numbers_and_text_labels(tmp_path, rng):
    values = rng.standard_normal((5, 2)).round(4)
    labels = ["cat", "dog", "cat", "eel", "dog"]
    lines = ["a,label,b"] + [f"{v[0]},{lab},{v[1]}" for v, lab in zip(values, labels)]
    data = load_csv(_write(tmp_path, "\n".join(lines) + "\n\n"), target="label")
    np.testing.assert_allclose(data.x, values.astype(np.float32))
    assert data.feature_names == ["a", "b"] and data.classes == ["cat", "dog", "eel"]
    np.testing.assert_array_equal(data.y, [0, 1, 0, 2, 1])
    # the default target is the last column; numeric targets stay numbers
    last = load_csv(_write(tmp_path, "x,y\n1.5,0\n2,1\n", "b.csv"))
    assert last.target_name == "y" and last.classes is None and last.y.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("text, message", [
    ("a,b,y\n1,2,0\n3,x7,1\n", r"line 3, column 'b': cannot read 'x7'"),
    ("a,b,y\n1,2,0\n\n3,nan,1\n", r"line 4, column 'b': 'nan' is not a finite"),
    ("a,b,y\n1,inf,0\n", r"line 2, column 'b': 'inf' is not a finite"),
    ("a,b,y\n1,2,0\n3,,1\n", r"line 3, column 'b': empty cell"),
    ("a,b,y\n1,2,0\n3,4\n", r"line 3: 2 cells but the header has 3"),
    ("a,b,y\n1,2,0\n3,4,1,9\n", r"line 3: 4 cells"),
    ("", r"the file is empty"),
    ("a,b,y\n", r"no data rows"),
    ("a,b,y\n1,2,0\n3,4,one\n", r"line 3, column 'y': 'one' among numbers"),
    ("a,b,y\n1,2,0\n3,4,\n", r"line 3, column 'y': empty cell"),
])
def test_load_csv_errors_name_file_line_and_column(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_csv(path)
    assert str(path) in str(info.value)


def test_load_csv_missing_target_column(tmp_path):
    path = _write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"no target column 'label'; the columns are a, b"):
        load_csv(path, target="label")


def test_load_features_csv_selects_columns_by_name(tmp_path):
    path = _write(tmp_path, "id,b,a\n7,2.5,1\n8,4,3\n")
    np.testing.assert_array_equal(load_features_csv(path, ["a", "b"]), [[1, 2.5], [3, 4]])
    with pytest.raises(DataError, match="missing feature column"):
        load_features_csv(path, ["a", "c"])


def test_load_npz_and_its_errors(tmp_path, rng):
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    np.savez(tmp_path / "ok.npz", X=x, y=y)
    data = load_npz(tmp_path / "ok.npz")
    np.testing.assert_allclose(data.x, x.astype(np.float32))
    np.testing.assert_array_equal(data.y, y)
    x[4, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=y)
    with pytest.raises(DataError, match=r"nan.npz: array 'x', row 4, column 1"):
        load_npz(tmp_path / "nan.npz")
    np.savez(tmp_path / "nokey.npz", features=x)
    with pytest.raises(DataError, match=r"no array 'y'; the file holds features"):
        load_npz(tmp_path / "nokey.npz")


# ---- labels, splits, standardisation ------------------------------------------------------------
def test_encode_labels_maps_any_labels_to_indices(rng):
    raw = rng.choice([-1.0, 1.0], 20)
    data = encode_labels(dl.data.TabularData(rng.standard_normal((20, 2)), raw, ["a", "b"]))
    assert data.classes == [-1, 1]
    np.testing.assert_array_equal(data.y, (raw > 0).astype(np.int64))
    with pytest.raises(DataError, match="non-integer value 0.5"):
        encode_labels(dl.data.TabularData(np.zeros((2, 1)), np.array([1.0, 0.5]), ["a"]))


def test_stratified_split_is_a_partition_keeping_class_shares(rng):
    y = np.repeat([0, 1, 2], [50, 30, 20])
    data = dl.data.TabularData(np.arange(100.0)[:, None], y, ["i"], classes=[0, 1, 2])
    train, test = train_test_split(data, 0.2, seed=4)
    ids = np.concatenate([train.x[:, 0], test.x[:, 0]])
    assert sorted(ids.tolist()) == list(range(100))
    np.testing.assert_array_equal(np.bincount(test.y), [10, 6, 4])
    np.testing.assert_array_equal(train.y, y[train.x[:, 0].astype(int)])  # rows kept together
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(data, 1.0)


def test_standardizer_uses_train_statistics_and_survives_constant_columns(rng):
    x = np.column_stack([rng.normal(5, 3, 200), np.full(200, 7.0)])
    scaler = Standardizer().fit(x)
    z = scaler.transform(x)
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, 0].std(), 1, atol=1e-5)
    np.testing.assert_array_equal(z[:, 1], 0)
    with pytest.raises(ValueError, match=r"expected \(n, 2\)"):
        scaler.transform(x[:, :1])


# ---- datasets -----------------------------------------------------------------------------------
def test_bundled_datasets_load_without_download():
    digits, cancer = dl.data.load_digits(), dl.data.load_breast_cancer()
    assert digits.x.shape == (1797, 64) and digits.classes == list(range(10))
    assert cancer.x.shape == (569, 30) and cancer.classes == ["malignant", "benign"]
    assert digits.x.dtype == np.float32 and set(np.unique(cancer.y)) == {0, 1}


@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_bundled_files_read_directly_match_scikit_learn(monkeypatch, name):
    from sklearn import datasets as sklearn_datasets

    direct = getattr(dl.data.datasets, f"load_{name}")()
    bunch = getattr(sklearn_datasets, f"load_{name}")()
    np.testing.assert_array_equal(direct.x, bunch.data.astype(np.float32))
    np.testing.assert_array_equal(direct.y, bunch.target)
    if name == "breast_cancer":
        assert direct.feature_names == list(bunch.feature_names)
    # where the file is not found, the loader asks scikit-learn and gets the same data
    monkeypatch.setattr(dl.data.datasets, "_bundled_file", lambda file_name: None)
    fallback = getattr(dl.data.datasets, f"load_{name}")()
    np.testing.assert_array_equal(fallback.x, direct.x)


def test_gaussian_classes_have_the_promised_means_and_shared_covariance():
    data = make_gaussian_classes(20000, 3, distance=2.0, correlation=0.5, seed=1)
    means, covariance = data.extras["means"], data.extras["covariance"]
    delta = means[1] - means[0]
    np.testing.assert_allclose(delta @ np.linalg.solve(covariance, delta), 4.0)  # Mahalanobis 2
    for k in (0, 1):
        rows = data.x[data.y == k].astype(np.float64)
        np.testing.assert_allclose(rows.mean(axis=0), means[k], atol=0.05)
        np.testing.assert_allclose(np.cov(rows.T), covariance, atol=0.06)


def test_regression_1d_samples_the_function(rng):
    data = make_regression_1d("sin", 50, seed=2)
    np.testing.assert_allclose(data.y, np.sin(data.x[:, 0]), atol=1e-6)
    assert np.all(np.diff(data.x[:, 0]) >= 0)
    noisy = make_regression_1d(lambda x: 2 * x, 400, noise=0.5, seed=3)
    residual = noisy.y - 2 * noisy.x[:, 0]
    assert 0.4 < residual.std() < 0.6
    with pytest.raises(ValueError, match="unknown function 'zigzag'"):
        make_regression_1d("zigzag")
