"""deeplite.data: datasets and a DataLoader that slices whole batches from in-memory arrays.

    >>> from deeplite.data import DataLoader, datasets, split_and_standardize
    >>> train, test, scaler = split_and_standardize(datasets.load_digits(), seed=0)
    >>> loader = DataLoader(train.to_dataset(), batch_size=64, shuffle=True, seed=0)
"""
from . import datasets
from .collate import default_collate, default_convert
from .dataset import ConcatDataset, Dataset, StackDataset, Subset, TensorDataset, random_split
from .datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_gaussian_classes,
    make_regression_1d,
)
from .distributed_sampler import DistributedSampler
from .loader import DataLoader
from .pandas_support import from_pandas
from .samplers import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .tabular import (
    DataError,
    Standardizer,
    TabularData,
    encode_labels,
    load_csv,
    load_features_csv,
    load_npz,
    load_table,
    split_and_standardize,
    train_test_split,
)

__all__ = ["DataError", "DataLoader", "Dataset", "Standardizer", "TabularData", "TensorDataset",
           "datasets", "encode_labels", "load_breast_cancer", "load_csv", "load_digits",
           "load_features_csv", "load_npz", "load_table", "make_gaussian_classes",
           "make_regression_1d", "split_and_standardize", "train_test_split",
           "ConcatDataset", "StackDataset", "Subset", "random_split", "default_collate",
           "default_convert", "load_diabetes", "load_iris", "load_wine", "BatchSampler",
           "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "DistributedSampler", "from_pandas"]
