"""The end of ``deeplite train``: ``metrics.json``, the plots and the lines printed."""
import time

import numpy as np

from .. import plotting
from ..autograd import no_grad
from ..creation import tensor
from . import run_files

LAYER_SERIES = ("grad_norms", "dead_relu")  # per-layer records: {layer: value}


def metrics(args, run: dict, stopped) -> dict:
    """The content of metrics.json: per-epoch series, the final test metrics, the outcome."""
    epochs = run["epochs"]
    keys = [key for key in (epochs[0] if epochs else {}) if key not in LAYER_SERIES]
    series: dict = {key: [record.get(key) for record in epochs] for key in keys}
    for key in LAYER_SERIES:
        if epochs and key in epochs[-1]:
            series[key] = {layer: [record[key][layer] for record in epochs]
                           for layer in epochs[-1][key]}
    final = {key: (epochs[-1][key] if epochs else None) for key in run["final_keys"]}
    return {"format": run_files.FORMAT, "dataset": args.dataset, "task": run["task"].kind,
            "device": run["device"],
            "arguments": {key: value for key, value in vars(args).items() if key != "func"},
            "n_train": run["n_train"], "n_test": run["n_test"], "history": series, **final,
            "checkpoint_epoch": run["checkpoint_epoch"], "stopped": stopped,
            "wall_seconds": time.perf_counter() - run["started"]}


def final_keys(task) -> list:
    """The metrics.json keys of the final test figures: test_accuracy, or test_rmse/mae/r2."""
    return ["test_accuracy"] if task.kind == "classification" else \
        ["test_rmse", "test_mae", "test_r2"]


def predicted_and_true(model, task, test, device) -> tuple:
    """(true values, predictions) of a regression on the test split, in the target's units."""
    model.eval()
    with no_grad():
        predicted = task.values(model(tensor(test.x, device=device)))
    return np.asarray(test.y, dtype=np.float64), predicted


def report(args, run: dict, stopped, model, test) -> int:
    """Write metrics.json and the plots, print the outcome; the exit status."""
    run_dir, epochs, task = run["dir"], run["epochs"], run["task"]
    payload = metrics(args, run, stopped)
    run_files.write_json(run_dir / run_files.METRICS, payload)
    title = f"deeplite train --dataset {args.dataset} ({run['device']})"
    written = [run_files.CHECKPOINT, run_files.METRICS]
    if epochs:
        plotting.plot_curves(epochs, run_dir / run_files.CURVES, title, task.score_name)
        written.append(run_files.CURVES)
        if args.diagnose:
            plotting.plot_diagnostics(epochs, run_dir / run_files.DIAGNOSTICS, title)
            written += [run_files.DIAGNOSTICS, run_files.GRAPH]
        if task.kind == "regression" and not stopped:
            truth, predicted = predicted_and_true(model, task, test, run["device"])
            plotting.plot_predictions(truth, predicted, run_dir / run_files.PREDICTIONS, title)
            written.append(run_files.PREDICTIONS)
    if stopped:
        print(f"stopped early, {stopped}")
        print(f"kept the last good checkpoint (epoch {run['checkpoint_epoch']}) in {run_dir}")
        return 1
    last = epochs[-1]
    if task.kind == "classification":
        right = round(last["test_accuracy"] * run["n_test"])
        outcome = f"test accuracy: {last['test_accuracy']:.2%} ({right}/{run['n_test']})"
    else:
        shown = task.describe({key: last[f"test_{key}"] for key in ("rmse", "mae", "r2")})
        outcome = f"test {shown} ({run['n_test']} samples)"
    # The one line a user (or a script) looks for: the score, samples, epochs, time, device.
    print(f"{outcome} after {len(epochs)} epochs, {payload['wall_seconds']:.1f}s on "
          f"{run['device']}")
    print(f"wrote {run_dir}: {', '.join(written)}")
    return 0
