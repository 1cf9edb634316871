"""pandas DataFrames/Series in deeplite.data: feature names kept, text columns one-hot or
label-encoded with the CSV loader's rule, missing values refused, training end to end."""
import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import deeplite  # noqa: E402
from deeplite.data import DataError, DataLoader, TensorDataset, from_pandas, load_csv  # noqa: E402


@pytest.fixture
def frame(rng):
    n = 60
    return pd.DataFrame({
        "size": rng.standard_normal(n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "count": rng.integers(0, 9, n),
        "flag": rng.random(n) < 0.5,
        "kind": pd.Categorical(rng.choice(["a", "b"], n)),
        "label": rng.choice(["yes", "no"], n),
    })


def test_one_hot_features_and_text_target(frame):
    data = from_pandas(frame, target_column="label")
    assert data.feature_names == ["size", "colour=blue", "colour=green", "colour=red", "count",
                                  "flag", "kind=a", "kind=b"]
    assert data.x.dtype == np.float32 and data.x.shape == (60, 8)
    np.testing.assert_allclose(data.x[:, 0], frame["size"].to_numpy(np.float32))
    for k, colour in enumerate(["blue", "green", "red"]):
        np.testing.assert_array_equal(data.x[:, 1 + k], (frame["colour"] == colour).to_numpy())
    np.testing.assert_array_equal(data.x[:, 5], frame["flag"].to_numpy())
    assert data.classes == ["no", "yes"] and data.target_name == "label"
    np.testing.assert_array_equal(data.y, (frame["label"] == "yes").to_numpy().astype(int))


def test_label_encoding_matches_the_csv_loader(frame, tmp_path):
    """The text target of a DataFrame and of the same table as a CSV encode identically."""
    numeric = frame[["size", "count", "label"]]
    path = tmp_path / "t.csv"
    numeric.to_csv(path, index=False)
    from_file = load_csv(path, target="label")
    ours = from_pandas(numeric, target_column="label")
    assert ours.classes == from_file.classes and ours.feature_names == from_file.feature_names
    np.testing.assert_array_equal(ours.y, from_file.y)
    np.testing.assert_allclose(ours.x, from_file.x, rtol=1e-6)
    labelled = from_pandas(frame, target_column="label", categories="label")
    colours = sorted(set(frame["colour"]))
    np.testing.assert_array_equal(labelled.x[:, 1], [colours.index(c) for c in frame["colour"]])
    assert labelled.feature_names == ["size", "colour", "count", "flag", "kind"]


def test_tensor_dataset_and_loader_take_pandas(frame):
    features, labels = frame.drop(columns=["label"]), frame["label"]
    dataset = TensorDataset(features, labels)
    assert dataset.feature_names[:2] == ["size", "colour=blue"] and len(dataset) == 60
    x, y = next(iter(DataLoader(dataset, batch_size=16)))
    assert x.shape == (16, 8) and y.dtype == deeplite.int64
    model = deeplite.nn.MLP([8, 8, 2])
    loss = deeplite.nn.CrossEntropyLoss()(model(x), y)
    loss.backward()
    assert model.layers[0].weight.grad is not None
    numeric = TensorDataset(frame[["size"]], frame["count"])
    assert numeric.tensors[1].dtype == np.int64


def test_missing_values_and_bad_arguments_are_named(frame):
    frame.loc[7, "colour"] = None
    with pytest.raises(DataError, match="column 'colour', row 7: missing value"):
        from_pandas(frame, target_column="label")
    with pytest.raises(DataError, match="no target column 'nope'"):
        from_pandas(frame, target_column="nope")
    with pytest.raises(ValueError, match="categories must be"):
        from_pandas(frame[["size"]], categories="ordinal")
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        from_pandas(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="3 rows of features but 2 targets"):
        from_pandas(frame[["size"]].head(3), y=[0, 1])
