"""``deeplite eval`` (a saved run's test metrics) and ``deeplite predict`` (a CSV's predictions)."""
import csv
import sys

import numpy as np

from ..autograd import no_grad
from ..creation import tensor
from ..data import DataError, DataLoader, TensorDataset, load_features_csv, train_test_split
from ..train import evaluate
from . import CommandError, data_source, run_files
from .sources import BUILTIN, load_dataset, with_task
from .train_command import TEST_BATCH, resolve_device


def register(subparsers) -> None:
    """Add the ``eval`` and ``predict`` subcommands."""
    evaluation = subparsers.add_parser(
        "eval", help="test metrics of a saved run on its held-out split or on another dataset",
        description="Evaluate a checkpoint. Without --dataset (or with the dataset it was trained "
                    "on) it uses the run's own held-out test split, reproducing its test metrics "
                    "(accuracy; RMSE, MAE and R² for a regression), from any folder: the run "
                    "records where its data file is. On another file it uses every row.")
    evaluation.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT",
                            help="a run folder written by deeplite train, or its checkpoint")
    evaluation.add_argument("--dataset", default=None,
                            help=f"{' | '.join(BUILTIN)} | PATH.csv | PATH.npz (default: the "
                                 f"run's own)")
    evaluation.add_argument("--target", default=None,
                            help="target column of a csv (default: the run's)")
    evaluation.add_argument("--device", default="auto",
                            help="auto | cuda | cpu | numpy (default: auto)")
    evaluation.set_defaults(func=run_eval)
    prediction = subparsers.add_parser(
        "predict", help="predict the class (or value) of each row of a CSV file",
        description="Write one line per row of the CSV: the predicted class and the probability "
                    "of each class, or for a regression the predicted value. The CSV needs the "
                    "feature columns the model was trained on (by name); other columns are "
                    "ignored.")
    prediction.add_argument("checkpoint", metavar="CHECKPOINT",
                            help="a run folder written by deeplite train, or its checkpoint")
    prediction.add_argument("csv", metavar="PATH.csv", help="the rows to predict")
    prediction.add_argument("--out", default=None, help="output CSV (default: standard output)")
    prediction.add_argument("--device", default="auto",
                            help="auto | cuda | cpu | numpy (default: auto)")
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


def _eval_data(args, config: dict, checkpoint) -> tuple:
    """(dataset name, table of the rows to score, which rows, labels or values)."""
    if args.dataset is None or data_source.same_file(args.dataset, config):
        # The run's own data, wherever this command runs from; the same split as training (same
        # seed and fraction): its held-out samples, labels encoded exactly as in training.
        dataset, note = data_source.locate(config, checkpoint.parent)
        if args.dataset is not None:
            dataset = args.dataset
        if note:
            print(note, file=sys.stderr)
        table, _, _ = with_task(load_dataset(dataset, config.get("target"), config["seed"]),
                                config.get("task", "classification"))
        try:
            _, table = train_test_split(table, config["test_fraction"], config["seed"])
        except ValueError as error:
            raise CommandError(f"{dataset}: {error}") from None
        return dataset, table, "held-out test split", table.y
    dataset = args.dataset
    table = load_dataset(dataset, args.target or config.get("target"), config["seed"])
    if config.get("task") == "regression":
        return dataset, table, "all rows", table.y
    table, _, _ = with_task(table, "classification")
    return dataset, table, "all rows", _class_indices(table.y, table.classes, config["classes"],
                                                      dataset)


def run_eval(args) -> int:
    """Print the loss and the task's metrics of the checkpoint on the chosen data."""
    device = resolve_device(args.device)
    model, config, scaler, checkpoint = run_files.load_checkpoint(args.checkpoint, device)
    task = run_files.make_task(config, checkpoint)
    dataset, table, which, labels = _eval_data(args, config, checkpoint)
    if table.n_features != config["sizes"][0]:
        raise CommandError(f"{dataset} has {table.n_features} features but the model takes "
                           f"{config['sizes'][0]}")
    # Always the training run's scaling: a model only understands inputs scaled as it saw them.
    table = scaler.apply(table)
    loader = DataLoader(TensorDataset(table.x, task.targets(labels)), TEST_BATCH, device=device)
    scores = evaluate(model, task, loader)
    print(f"{dataset} ({which}, {len(table)} samples): {task.describe(scores)}, "
          f"loss {scores['loss']:.4f}")
    return 0


def _outputs(model, features: np.ndarray, device: str, source: str):
    """The model's outputs on ``features``; a CommandError when any is not finite."""
    model.eval()
    with no_grad():
        outputs = model(tensor(features, device=device))
    finite = np.isfinite(outputs.numpy()).all(axis=tuple(range(1, outputs.ndim)))
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise CommandError(f"{source}: the model's output is not finite for {len(rows)} row(s) "
                           f"(the first is data row {rows[0] + 1}); the inputs are far outside "
                           f"what it was trained on, or its weights are broken")
    return outputs


def run_predict(args) -> int:
    """Write the predicted class and class probabilities (or the value) of each CSV row."""
    device = resolve_device(args.device)
    model, config, scaler, checkpoint = run_files.load_checkpoint(args.checkpoint, device)
    task = run_files.make_task(config, checkpoint)
    features = scaler.transform(load_features_csv(args.csv, config["feature_names"]))
    outputs = _outputs(model, features, device, args.csv)
    if task.kind == "regression":
        header = ["prediction"]
        rows = [[f"{value:.6g}"] for value in task.values(outputs)]
    else:
        classes = config["classes"]
        probabilities = task.probabilities(outputs)
        header = ["prediction", *(f"p_{name}" for name in classes)]
        rows = [[classes[int(np.argmax(row))], *(f"{p:.6f}" for p in row)]
                for row in probabilities]
    # Standard output by default, so predictions pipe into other tools; messages go to stderr.
    handle = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    finally:
        if args.out:
            handle.close()
    if args.out:
        print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
    return 0
