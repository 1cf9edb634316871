"""``deeplite train``: train an MLP classifier and write a run folder.

The run folder holds ``checkpoint.safetensors`` (the last good epoch), ``metrics.json`` (per-epoch
losses and accuracies, the final ``test_accuracy``) and ``curves.png``; with ``--diagnose`` also
per-layer gradient norms and dead-ReLU fractions, plotted in ``diagnostics.png``, and the graph of
one training step (``graph.png``).
"""
import argparse
import time

from tqdm import tqdm

from .. import backends, nn, optim
from ..creation import manual_seed, tensor
from ..data import DataLoader, TensorDataset, split_and_standardize
from ..train import Classification, fit, make_train_step
from . import CommandError, plots, resume, run_files, tensorboard_run
from .sources import BUILTIN, load_dataset

# Learning rate used when --lr is not given: each optimizer's usual starting point.
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus")
DEFAULT_EPOCHS = 20
PROBE_ROWS = 512  # training rows on which --diagnose counts dead ReLUs
TEST_BATCH = 1024  # evaluation needs no gradients, so large batches are fine


def register(subparsers) -> None:
    """Add the ``train`` subcommand and its options."""
    parser = subparsers.add_parser(
        "train", help="train an MLP classifier (default: digits) and write a run folder",
        description="Train an MLP classifier and write a run folder with the checkpoint, "
                    "metrics.json and a plot of the loss and accuracy curves. The same seed and "
                    "device give the same result.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="digits",
                      help=f"{' | '.join(BUILTIN)} | PATH.csv | PATH.npz")
    data.add_argument("--target", default=None,
                      help="target column of a csv (default: the last column)")
    data.add_argument("--test-fraction", type=float, default=0.2,
                      help="share of the samples held out for testing (stratified)")
    model = parser.add_argument_group("model and optimisation")
    model.add_argument("--hidden", default="512",
                       help="hidden layer widths, comma-separated (e.g. 128,128)")
    model.add_argument("--activation", default="relu", choices=ACTIVATIONS)
    model.add_argument("--optimizer", default="adam", choices=sorted(DEFAULT_LR))
    model.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: sgd 0.1, adagrad 0.01, others 0.001)")
    model.add_argument("--momentum", type=float, default=0.9, help="momentum of sgd and rmsprop")
    model.add_argument("--weight-decay", type=float, default=0.0)
    model.add_argument("--epochs", type=int, default=None,
                       help=f"epochs in all (default {DEFAULT_EPOCHS}; with --resume: the run's)")
    model.add_argument("--batch-size", type=int, default=32)
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0,
                     help="seeds the split, the weights and the order")
    run.add_argument("--device", default="auto",
                     help="auto (cuda, else cpu, else numpy) | cuda | cpu | numpy")
    run.add_argument("--out", default=None, help="run folder (default: runs/<dataset>-<time>)")
    run.add_argument("--diagnose", action="store_true",
                     help="record per-layer gradient norms and dead-ReLU fractions each epoch")
    run.add_argument("--cuda-graph", action="store_true",
                     help="capture the training step as one CUDA graph (cuda, sgd only; drops "
                          "the last partial batch; see deeplite.cuda.CUDAGraph)")
    run.add_argument("--no-jit", action="store_true",
                     help="run every step eagerly instead of replaying the captured step "
                          "(deeplite.jit, on cpu and numpy; the results are identical)")
    run.add_argument("--resume", metavar="RUN_DIR", default=None,
                     help="continue a run from its checkpoint, exactly; its saved settings apply "
                          "(only --epochs, --device, --quiet, --tensorboard are read)")
    run.add_argument("--tensorboard", nargs="?", const="", default=None, metavar="DIR",
                     help="log curves, histograms and hparams for TensorBoard (DIR default: tb/ "
                          "in the run folder; needs pip install 'deeplite[tensorboard]')")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train)


def resolve_device(name: str) -> str:
    """``auto`` -> the fastest available backend; an unavailable device is a CommandError."""
    if name == "auto":
        return backends.available()[0]  # available() lists the fastest first: cuda, cpu, numpy
    if name not in backends.MODULES:
        raise CommandError(f"unknown device {name!r}; choose auto, {', '.join(backends.MODULES)}")
    reason = backends.why_unavailable(name)
    if reason is not None:
        raise CommandError(f"device {name!r} is not available here: {reason}. Run 'deeplite "
                           f"doctor' for the fix, or use --device auto")
    return name


def parse_hidden(text: str) -> list:
    """"128,128" -> [128, 128]; "" -> [] (a linear model)."""
    try:
        widths = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--hidden {text!r}: expected comma-separated integers such as "
                           f"128,128") from None
    if any(width < 1 for width in widths):
        raise CommandError(f"--hidden {text!r}: layer widths must be positive")
    return widths


def make_optimizer(args, parameters):
    """The optimizer named by ``--optimizer`` with the learning rate and weight decay given."""
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer == "sgd":
        return optim.SGD(parameters, lr=lr, momentum=args.momentum, weight_decay=args.weight_decay)
    if args.optimizer == "rmsprop":
        return optim.RMSprop(parameters, lr=lr, momentum=args.momentum,
                             weight_decay=args.weight_decay)
    chosen = {"adam": optim.Adam, "adamw": optim.AdamW, "adagrad": optim.Adagrad}[args.optimizer]
    # --weight-decay defaults to 0 for every optimizer but AdamW, whose point is decoupled decay.
    if args.optimizer == "adamw" and args.weight_decay == 0.0:
        return chosen(parameters, lr=lr)  # AdamW's own default decay (0.01)
    return chosen(parameters, lr=lr, weight_decay=args.weight_decay)


def cuda_graph_step(args, device, model, optimizer, task, train):
    """The training step captured as a CUDA graph (``deeplite.cuda.CUDAGraph``)."""
    if device != "cuda":
        raise CommandError(f"--cuda-graph needs --device cuda (a CUDA graph replays GPU work), "
                           f"but the device is {device}")
    if args.optimizer != "sgd":
        raise CommandError(f"--cuda-graph works with --optimizer sgd only: a graph freezes host "
                           f"scalars at capture, such as {args.optimizer}'s step-dependent terms")
    if args.diagnose:
        raise CommandError("--cuda-graph and --diagnose exclude each other: diagnostics read "
                           "gradients on the host, which a captured step cannot do")
    if len(train) < args.batch_size:
        raise CommandError(f"--cuda-graph: --batch-size {args.batch_size} exceeds the "
                           f"{len(train)} training samples; a graph needs full batches")
    from .. import cuda

    # Labels are 0..K-1 by construction (encode_labels), so the loss may skip its host-side range
    # check, a sync that capture forbids. The static inputs are a slice of the training data, not
    # a loader batch, so the loader's shuffling stays as without --cuda-graph.
    step = make_train_step(model, optimizer, task, labels_checked=True)
    static_x = tensor(train.x[:args.batch_size], device=device)
    static_y = tensor(task.targets(train.y[:args.batch_size]), device=device)
    return cuda.CUDAGraph(step, static_x, static_y)


def jit_step(args, device, model, optimizer, task):
    """The training step captured by ``deeplite.jit`` (None: eager, for --no-jit, --diagnose,
    whose gradient norms are host reads inside the step, and cuda, whose CUDA-graph replay has
    not run on a GPU yet)."""
    if getattr(args, "no_jit", False) or args.diagnose or device == "cuda":
        return None
    from ..jit import jit

    return jit(make_train_step(model, optimizer, task))


def run_train(args) -> int:
    """Run ``deeplite train``; exit status 0, or 1 when training diverged."""
    if args.resume:
        resume_from, done, finished = resume.resume_arguments(args)
    else:
        resume_from, done, finished = None, 0, []
        args.epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
    device = resolve_device(args.device)
    hidden = parse_hidden(args.hidden)
    if args.epochs < 1 or args.batch_size < 1:
        raise CommandError("--epochs and --batch-size must be at least 1")
    table = load_dataset(args.dataset, args.target, args.seed)
    task = Classification(len(table.classes))
    # Split first, then fit the scaling on the training part only: statistics of the test rows
    # must not leak into the inputs the model learns from.
    train, test, scaler = split_and_standardize(table, args.test_fraction, args.seed)
    manual_seed(args.seed)  # the weights (and anything else drawn) follow the seed
    model = nn.MLP([table.n_features, *hidden, task.n_outputs], activation=args.activation,
                   device=device)
    optimizer = make_optimizer(args, model.parameters())
    # The loader owns a generator seeded from --seed, so the batch order is reproducible and a
    # resumed run can fast-forward it. A CUDA graph replays fixed shapes: no partial last batch.
    train_loader = DataLoader(TensorDataset(train.x, task.targets(train.y)), args.batch_size,
                              shuffle=True, drop_last=args.cuda_graph, seed=args.seed,
                              device=device)
    test_loader = DataLoader(TensorDataset(test.x, task.targets(test.y)), TEST_BATCH,
                             device=device)
    if resume_from is not None:
        resume.restore(resume_from, model, optimizer, train_loader, done)
    step = cuda_graph_step(args, device, model, optimizer, task, train) if args.cuda_graph \
        else jit_step(args, device, model, optimizer, task)
    run_dir = run_files.new_run_dir(args.out, args.dataset)
    if args.diagnose:  # the lecture's computational graph of one training step
        from ..viz.training import draw_training_step

        draw_training_step(model, task, train.x, train.y, device, run_dir / "graph.png")
    config = {"format": run_files.FORMAT, "dataset": args.dataset, "target": table.target_name,
              "sizes": model.sizes, "activation": args.activation, "classes": table.classes,
              "feature_names": table.feature_names, "seed": args.seed,
              "test_fraction": args.test_fraction, "device": device,
              "optimizer": args.optimizer, "lr": optimizer.param_groups[0]["lr"],
              "momentum": args.momentum, "weight_decay": args.weight_decay,
              "batch_size": args.batch_size, "epochs": args.epochs, "diagnose": args.diagnose,
              "scaler": {"mean": scaler.mean.tolist(), "scale": scaler.scale.tolist()}}
    checkpoint = run_dir / run_files.CHECKPOINT
    if resume_from is None:
        # Epoch 0 (the initial weights) is saved too, so a run that diverges in its first epoch
        # still leaves a loadable checkpoint behind.
        run_files.save_checkpoint(checkpoint, model, optimizer, {**config, "epoch": 0})
    run = {"dir": run_dir, "device": device, "n_train": len(train), "n_test": len(test),
           "checkpoint_epoch": done, "started": time.perf_counter(), "epochs": finished}

    tensorboard = tensorboard_run.open_logger(args.tensorboard, run_dir, done, config)
    bar = tqdm(total=(args.epochs - done) * len(train_loader), unit="step",
               disable=args.quiet, desc=f"{args.dataset} on {device}", dynamic_ncols=True)

    def on_step(loss: float, accuracy: float) -> None:
        # refresh=False: tqdm redraws on its own clock, not on every one of thousands of steps.
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.4f}", acc=f"{accuracy:.3f}", refresh=False)

    def on_epoch(record: dict) -> None:
        if tensorboard is not None:  # before the checkpoint: a resume purges what follows it
            tensorboard.log_epoch(record, model, optimizer)
        # Only finished, healthy epochs reach here: the checkpoint is always the last good one.
        run_files.save_checkpoint(checkpoint, model, optimizer,
                                  {**config, "epoch": record["epoch"]})
        run["checkpoint_epoch"] = record["epoch"]
        finished.append(record)
        # metrics.json too, each epoch, so a killed run still tells its story (and resumes).
        run_files.write_json(run_dir / run_files.METRICS, _metrics(args, run, None))
        bar.set_description(f"epoch {record['epoch']}/{args.epochs} "
                            f"test acc {record['test_accuracy']:.3f}")

    probe = tensor(train.x[:PROBE_ROWS], device=device) if args.diagnose else None
    history = fit(model, optimizer, task, train_loader, args.epochs, test_loader=test_loader,
                  diagnose=args.diagnose, probe=probe, step=step, on_step=on_step,
                  on_epoch=on_epoch, first_epoch=done + 1)
    bar.close()
    if tensorboard is not None:
        tensorboard.close(finished)
    return _report(args, run, history["stopped"])


def _metrics(args, run: dict, stopped) -> dict:
    """The content of metrics.json: per-epoch series, the final test accuracy, the outcome."""
    epochs = run["epochs"]
    series = {key: [record[key] for record in epochs]
              for key in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                          "seconds")}
    for key in ("grad_norms", "dead_relu"):
        if epochs and key in epochs[-1]:
            series[key] = {layer: [record[key][layer] for record in epochs]
                           for layer in epochs[-1][key]}
    return {"format": run_files.FORMAT, "dataset": args.dataset, "device": run["device"],
            "arguments": {key: value for key, value in vars(args).items() if key != "func"},
            "n_train": run["n_train"], "n_test": run["n_test"], "history": series,
            "test_accuracy": epochs[-1]["test_accuracy"] if epochs else None,
            "checkpoint_epoch": run["checkpoint_epoch"], "stopped": stopped,
            "wall_seconds": time.perf_counter() - run["started"]}


def _report(args, run: dict, stopped) -> int:
    """Write metrics.json and the plots, print the outcome; the exit status."""
    run_dir, epochs = run["dir"], run["epochs"]
    metrics = _metrics(args, run, stopped)
    run_files.write_json(run_dir / run_files.METRICS, metrics)
    title = f"deeplite train --dataset {args.dataset} ({run['device']})"
    written = [run_files.CHECKPOINT, run_files.METRICS]
    if epochs:
        plots.plot_curves(epochs, run_dir / run_files.CURVES, title)
        written.append(run_files.CURVES)
        if args.diagnose:
            plots.plot_diagnostics(epochs, run_dir / run_files.DIAGNOSTICS, title)
            written += [run_files.DIAGNOSTICS, "graph.png"]
    if stopped:
        print(f"stopped early, {stopped}")
        print(f"kept the last good checkpoint (epoch {run['checkpoint_epoch']}) in {run_dir}")
        return 1
    final = metrics["test_accuracy"]
    # The one line a user (or a script) looks for: accuracy, sample counts, epochs, time, device.
    print(f"test accuracy: {final:.2%} ({round(final * run['n_test'])}/{run['n_test']}) after "
          f"{len(epochs)} epochs, {metrics['wall_seconds']:.1f}s on {run['device']}")
    print(f"wrote {run_dir}: {', '.join(written)}")
    return 0
