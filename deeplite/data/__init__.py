"""deeplite.data: datasets and a DataLoader that slices whole batches from in-memory arrays.

    >>> from deeplite.data import DataLoader, datasets, split_and_standardize
    >>> train, test, scaler = split_and_standardize(datasets.load_digits(), seed=0)
    >>> loader = DataLoader(train.to_dataset(), batch_size=64, shuffle=True, seed=0)
"""
from . import datasets
from .dataset import Dataset, TensorDataset
from .datasets import load_breast_cancer, load_digits, make_gaussian_classes, make_regression_1d
from .distributed_sampler import DistributedSampler  # noqa: F401
from .loader import DataLoader
from .tabular import (DataError, Standardizer, TabularData, encode_labels, load_csv,
                      load_features_csv, load_npz, load_table, split_and_standardize,
                      train_test_split)

__all__ = ["DataError", "DataLoader", "Dataset", "Standardizer", "TabularData", "TensorDataset",
           "datasets", "encode_labels", "load_breast_cancer", "load_csv", "load_digits",
           "load_features_csv", "load_npz", "load_table", "make_gaussian_classes",
           "make_regression_1d", "split_and_standardize", "train_test_split"]
