"""``deeplite eval`` (accuracy of a saved run) and ``deeplite predict`` (classes for a CSV)."""
import csv
import sys

import numpy as np

from ..autograd import no_grad
from ..creation import tensor
from ..data import DataError, DataLoader, TensorDataset, load_features_csv, train_test_split
from ..train import Classification, evaluate
from . import CommandError, run_files
from .sources import BUILTIN, load_dataset
from .train_command import TEST_BATCH, resolve_device


def register(subparsers) -> None:
    """Add the ``eval`` and ``predict`` subcommands."""
    evaluation = subparsers.add_parser(
        "eval", help="accuracy of a saved run on its held-out split or on another dataset",
        description="Evaluate a checkpoint. Without --dataset (or with the dataset it was trained "
                    "on) it uses the run's own held-out test split, reproducing test_accuracy; "
                    "on another file it uses every row.")
    evaluation.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    evaluation.add_argument("--dataset", default=None,
                            help=f"{' | '.join(BUILTIN)} | PATH.csv | PATH.npz")
    evaluation.add_argument("--target", default=None, help="target column of a csv")
    evaluation.add_argument("--device", default="auto")
    evaluation.set_defaults(func=run_eval)
    prediction = subparsers.add_parser(
        "predict", help="predict the class of each row of a CSV file",
        description="Write one line per row of the CSV: the predicted class and the probability "
                    "of each class. The CSV needs the feature columns the model was trained on "
                    "(by name); other columns are ignored.")
    prediction.add_argument("checkpoint", metavar="CHECKPOINT")
    prediction.add_argument("csv", metavar="PATH.csv")
    prediction.add_argument("--out", default=None, help="output CSV (default: standard output)")
    prediction.add_argument("--device", default="auto")
    prediction.set_defaults(func=run_predict)


def _class_indices(labels: np.ndarray, label_names: list, classes: list, source: str) -> np.ndarray:
    """Map a dataset's labels onto the class indices the model was trained with."""
    # Compare labels as text: the config's JSON turned class labels into str/int, a CSV gives
    # floats (3.0) or strings, and "3" must match 3 either way.
    position = {str(name): index for index, name in enumerate(classes)}
    indices = np.empty(len(labels), dtype=np.int64)
    for row, label in enumerate(labels):
        if label_names is not None:  # text labels, already encoded by the loader
            name = str(label_names[label])
        else:  # numbers: 3.0 -> "3"
            name = str(int(label)) if float(label).is_integer() else str(label)
        if name not in position:
            raise DataError(f"{source}: label {name!r} (sample {row}) is not one of the classes "
                            f"the model was trained on: {', '.join(map(str, classes))}")
        indices[row] = position[name]
    return indices


def run_eval(args) -> int:
    """Print loss and accuracy of the checkpoint on the chosen data."""
    device = resolve_device(args.device)
    model, config, scaler = run_files.load_checkpoint(args.checkpoint, device)
    task = Classification(len(config["classes"]))
    dataset = args.dataset or config["dataset"]
    table = load_dataset(dataset, args.target or config.get("target"), config["seed"])
    if table.n_features != config["sizes"][0]:
        raise CommandError(f"{dataset} has {table.n_features} features but the model takes "
                           f"{config['sizes'][0]}")
    if dataset == config["dataset"]:
        # The same split as training (same seed and fraction): the run's held-out samples, whose
        # labels were encoded exactly as in training.
        _, table = train_test_split(table, config["test_fraction"], config["seed"])
        which, labels = "held-out test split", table.y
    else:
        which = "all rows"
        labels = _class_indices(table.y, table.classes, config["classes"], dataset)
    # Always the training run's scaling: a model only understands inputs scaled as it saw them.
    table = scaler.apply(table)
    loader = DataLoader(TensorDataset(table.x, task.targets(labels)), TEST_BATCH, device=device)
    loss, accuracy = evaluate(model, task, loader)
    print(f"{dataset} ({which}, {len(table)} samples): accuracy {accuracy:.2%}, loss {loss:.4f}")
    return 0


def run_predict(args) -> int:
    """Write the predicted class and class probabilities of each CSV row."""
    device = resolve_device(args.device)
    model, config, scaler = run_files.load_checkpoint(args.checkpoint, device)
    task = Classification(len(config["classes"]))
    features = scaler.transform(load_features_csv(args.csv, config["feature_names"]))
    model.eval()
    with no_grad():
        outputs = model(tensor(features, device=device))
    probabilities = task.probabilities(outputs)
    classes = config["classes"]
    # Standard output by default, so predictions pipe into other tools; messages go to stderr.
    handle = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(["prediction", *(f"p_{name}" for name in classes)])
        for row in probabilities:
            writer.writerow([classes[int(np.argmax(row))], *(f"{p:.6f}" for p in row)])
    finally:
        if args.out:
            handle.close()
    if args.out:
        print(f"wrote {len(probabilities)} predictions to {args.out}", file=sys.stderr)
    return 0
