"""``deeplite train``: train an MLP classifier or regressor and write a run folder.

The run folder holds ``checkpoint.safetensors`` (the last good epoch, with the run's history),
``metrics.json`` (per-epoch losses and scores, the final test metrics) and ``curves.png``; a
regression also ``predictions.png`` (predicted against true values); with ``--diagnose`` also
per-layer gradient norms and dead-ReLU fractions, plotted in ``diagnostics.png``, and the graph of
one training step (``graph.png``).
"""
import logging
import sys
import threading
import time

from tqdm import tqdm

from .. import backends, nn, optim
from ..creation import manual_seed, tensor
from ..data import DataLoader, TensorDataset, split_and_standardize
from ..tasks import Classification, Regression
from ..train import DivergenceMonitor, fit, make_train_step
from . import (
    CommandError,
    data_source,
    distributed_session,
    resume,
    run_files,
    run_report,
    tensorboard_run,
    train_checks,
)
from .checkpoint_cadence import CheckpointCadence
from .sources import BUILTIN, load_dataset, with_task

# Learning rate used when --lr is not given: each optimizer's usual starting point.
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adagrad": 1e-2}
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus")
DEFAULT_EPOCHS = 20
PROBE_ROWS = 512  # training rows on which --diagnose counts dead ReLUs
TEST_BATCH = 1024  # evaluation needs no gradients, so large batches are fine
log = logging.getLogger(__name__)
SHOWN = {"accuracy": "acc", "rmse": "rmse"}  # a task's score, as the progress bar names it


class ProgressBar(tqdm):
    """The run's progress bar: tqdm, locked by a thread lock alone. tqdm's default lock also
    makes a multiprocessing lock for bars in forked workers, which this one process has none
    of; importing multiprocessing for it took 6 ms of the digits run's training loop."""


ProgressBar.set_lock(threading.RLock())


def register(subparsers) -> None:
    """Add the ``train`` subcommand and its options (each help line states its default once)."""
    parser = subparsers.add_parser(
        "train", help="train an MLP (default: digits) and write a run folder",
        description="Train an MLP classifier or regressor and write a run folder with the "
                    "checkpoint, metrics.json and plots of the training curves. The same seed "
                    "and device give the same result.")
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="digits",
                      help=f"{' | '.join(BUILTIN)} | PATH.csv | PATH.npz (default: digits)")
    data.add_argument("--target", default=None,
                      help="target column of a csv (default: the last column)")
    data.add_argument("--task", default="auto", choices=("auto", "classification", "regression"),
                      help="what to learn (default: auto: text labels and few distinct integers "
                           "are classes; other numbers are a regression)")
    data.add_argument("--test-fraction", type=float, default=0.2,
                      help="share of the samples held out for testing, stratified for classes "
                           "(default: 0.2)")
    model = parser.add_argument_group("model and optimisation")
    model.add_argument("--hidden", default="512",
                       help="hidden layer widths, comma-separated, e.g. 128,128; '' for a linear "
                            "model (default: 512)")
    model.add_argument("--activation", default="relu", choices=ACTIVATIONS,
                       help="activation of the hidden layers (default: relu)")
    model.add_argument("--optimizer", default="adam", choices=sorted(DEFAULT_LR),
                       help="the optimizer (default: adam)")
    model.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: sgd 0.1, adagrad 0.01, others 0.001)")
    model.add_argument("--momentum", type=float, default=0.9,
                       help="momentum of sgd and rmsprop (default: 0.9)")
    model.add_argument("--weight-decay", type=float, default=0.0,
                       help="L2 penalty; adamw's decoupled decay (default: 0, adamw 0.01)")
    model.add_argument("--epochs", type=int, default=None,
                       help=f"epochs in all (default: {DEFAULT_EPOCHS}; with --resume: the run's)")
    model.add_argument("--batch-size", type=int, default=32,
                       help="samples per optimizer step (default: 32)")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0,
                     help="seeds the split, the weights and the order (default: 0)")
    run.add_argument("--device", default="auto",
                     help="auto (cuda, else cpu, else numpy) | cuda | cpu | numpy (default: auto)")
    run.add_argument("--out", default=None, help="run folder (default: runs/<dataset>-<time>)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the run already in --out (without it, such an --out is refused)")
    run.add_argument("--diagnose", action="store_true",
                     help="record per-layer gradient norms and dead-ReLU fractions each epoch")
    run.add_argument("--cuda-graph", action="store_true",
                     help="on cuda, replay the training step as one CUDA graph launch "
                          "(deeplite.jit, opt-in there until it has run on a GPU; docs/jit.md)")
    run.add_argument("--amp", choices=("bf16", "fp16"), default=None,
                     help="mixed precision: GEMMs in bfloat16/float16 under deeplite.autocast "
                          "(fp16 with loss scaling); see docs/amp.md")
    run.add_argument("--resume", metavar="RUN_DIR", default=None,
                     help="continue a run from its checkpoint, exactly; its saved settings apply "
                          "(only --epochs, --device, --quiet, --tensorboard are read)")
    run.add_argument("--tensorboard", nargs="?", const="", default=None, metavar="DIR",
                     help="log curves, histograms and hparams for TensorBoard (DIR default: tb/ "
                          "in the run folder; needs pip install 'deeplite[tensorboard]')")
    run.add_argument("--no-jit", action="store_true",
                     help="run every step eagerly instead of replaying the captured step "
                          "(deeplite.jit, on cpu and numpy; the results are identical)")
    run.add_argument("--distributed", action="store_true",
                     help="data-parallel over the ranks of mpiexec -n N (--batch-size is the "
                          "global batch; see docs/distributed.md)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train)


def resolve_device(name: str) -> str:
    """``auto`` -> the fastest available backend; an unavailable device is a CommandError."""
    if name == "auto":
        chosen = backends.available()[0]  # available() lists the fastest first: cuda, cpu, numpy
        if chosen == "numpy":  # the slow reference: say why the cpu backend is not in use
            print(f"deeplite: using --device numpy (slower): the cpu backend is unavailable: "
                  f"{backends.why_unavailable('cpu')}", file=sys.stderr)
        return chosen
    if name not in backends.MODULES:
        raise CommandError(f"unknown device {name!r}; choose auto, {', '.join(backends.MODULES)}")
    reason = backends.why_unavailable(name)
    if reason is not None:
        raise CommandError(f"device {name!r} is not available here: {reason}. Run 'deeplite "
                           f"doctor' for the fix, or use --device auto")
    return name


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


def jit_step(args, device, model, optimizer, task, step=None):
    """The training step (``step``, default ``make_train_step``'s) captured by ``deeplite.jit``
    (None: eager). By default on cpu and numpy; on cuda only with --cuda-graph, the opt-in name
    of the jit's CUDA-graph replay there (it has not run on a GPU yet); never with --no-jit or
    --diagnose (its gradient norms are host reads inside the step)."""
    if args.cuda_graph:
        if device != "cuda":
            raise CommandError(f"--cuda-graph needs --device cuda (a CUDA graph replays GPU "
                               f"work), but the device is {device}")
        if args.diagnose or getattr(args, "no_jit", False):
            raise CommandError("--cuda-graph is deeplite.jit's replay on cuda: it excludes "
                               "--diagnose (host reads inside the step) and --no-jit")
    elif getattr(args, "no_jit", False) or args.diagnose or device == "cuda":
        return None
    from ..jit import jit

    return jit(step or make_train_step(model, optimizer, task))


def progress_postfix(loss: float, score_name: str, score: float) -> dict:
    """The progress bar's figures, 4 significant digits: a late loss shows as 3.2e-05, not 0."""
    return {"loss": f"{loss:.4g}", SHOWN[score_name]: f"{score:.4g}"}


def _prepare_data(args, resumed):
    """(train, test, scaler, table, task, why): the dataset split, scaled, with its task."""
    table, kind, why = with_task(load_dataset(args.dataset, args.target, args.seed), args.task)
    why = resumed.config.get("task_why", why) if resumed else why
    print(f"task: {kind} ({why})")
    log.debug("%s: %d rows, %d features, target %r", args.dataset, len(table), table.n_features,
              table.target_name)
    try:
        task = Classification(len(table.classes)) if kind == "classification" else None
        # Split first, then fit the scaling on the training part only: statistics of the test
        # rows must not leak into the inputs the model learns from.
        train, test, scaler = split_and_standardize(table, args.test_fraction, args.seed)
    except ValueError as error:  # one class only, too few rows for the split
        raise CommandError(f"{args.dataset}: {error}") from None
    return train, test, scaler, table, task or Regression.fit(train.y), why


def run_train(args) -> int:
    """Run ``deeplite train``; exit status 0, or 1 when training diverged."""
    session = distributed_session.start(args)  # None unless --distributed
    main_rank = session is None or session.is_main
    files = session or run_files  # under --distributed, rank 0 writes and the others wait
    if args.resume:
        resumed = (session or resume).resume_arguments(args)
    else:
        resumed = None
        args.epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
    train_checks.check_numbers(args)
    device = resolve_device(args.device)
    hidden = train_checks.parse_hidden(args.hidden)
    train, test, scaler, table, task, why = _prepare_data(args, resumed)
    kind = task.kind
    manual_seed(args.seed)  # the weights (and anything else drawn) follow the seed
    model = nn.MLP([table.n_features, *hidden, task.n_outputs], activation=args.activation,
                   device=device)
    optimizer = make_optimizer(args, model.parameters())
    log.debug("model %s on %s, %s lr %g", model.sizes, device, type(optimizer).__name__,
              optimizer.param_groups[0]["lr"])
    # The loader owns a generator seeded from --seed, so the batch order is reproducible and a
    # resumed run can fast-forward it.
    train_loader = DataLoader(TensorDataset(train.x, task.targets(train.y)), args.batch_size,
                              shuffle=True, seed=args.seed, device=device)
    test_loader = DataLoader(TensorDataset(test.x, task.targets(test.y)), TEST_BATCH,
                             device=device)
    monitor = DivergenceMonitor(optimizer.param_groups[0]["lr"])
    done, finished = (resumed.done, resumed.records) if resumed else (0, [])
    if args.amp and args.cuda_graph:
        raise CommandError("--amp does not combine with --cuda-graph yet; drop one of them")
    from ..amp.training import loss_scaler

    grad_scaler = loss_scaler(device, args.amp)  # fp16's; its state rides in the checkpoint
    if resumed:
        (session or resume).restore(resumed, model, optimizer, train_loader, monitor,
                                    grad_scaler)
    step = None if args.amp else jit_step(args, device, model, optimizer, task)
    if session is not None:
        step = session.train_step(model, optimizer, task, args.amp, grad_scaler)
    elif args.amp:  # under deeplite.autocast, captured by deeplite.jit as the float32 step is
        from ..amp.training import amp_train_step

        step = amp_train_step(model, optimizer, task, device, args.amp, scaler=grad_scaler)
        step = jit_step(args, device, model, optimizer, task, step) or step
    run_dir = resumed.path.parent if resumed else \
        files.new_run_dir(args.out, args.dataset, args.overwrite)
    for name in run_files.remove_stale_temporaries(run_dir) if main_rank else ():
        print(f"removed {run_dir / name}, left by a write that was interrupted", file=sys.stderr)
    if args.diagnose:  # the lecture's computational graph of one step (--distributed refuses it)
        from ..viz.training import draw_training_step

        draw_training_step(model, task, train.x, train.y, device, run_dir / run_files.GRAPH)
    config = {"format": run_files.FORMAT, "dataset": args.dataset, "target": table.target_name,
              "task": kind, "task_why": why, "sizes": model.sizes, "activation": args.activation,
              "classes": table.classes if kind == "classification" else None,
              "feature_names": table.feature_names, "seed": args.seed,
              "test_fraction": args.test_fraction, "device": device,
              "amp": args.amp,
              "optimizer": args.optimizer, "lr": optimizer.param_groups[0]["lr"],
              "momentum": args.momentum, "weight_decay": args.weight_decay,
              "batch_size": args.batch_size, "epochs": args.epochs, "diagnose": args.diagnose,
              "scaler": {"mean": scaler.mean.tolist(), "scale": scaler.scale.tolist()},
              "data_file": resumed.config.get("data_file") if resumed else
              data_source.describe(args.dataset, run_dir)}
    if kind == "regression":
        config["target_scaler"] = {"mean": task.mean, "scale": task.scale}
    checkpoint = run_dir / run_files.CHECKPOINT
    run = {"dir": run_dir, "device": device, "n_train": len(train), "n_test": len(test),
           "checkpoint_epoch": done, "started": time.perf_counter(), "epochs": finished,
           "task": task, "final_keys": run_report.final_keys(task)}

    cadence = CheckpointCadence(every_epoch=session is not None)
    pending = None  # (epoch, snapshot) of the last finished epoch, taken but not written yet

    def save(epoch: int, with_metrics: bool = False) -> None:
        nonlocal pending
        pending = None  # this write supersedes it
        write(epoch, snapshot(epoch, copy=False), with_metrics)  # written now: no copy needed

    def snapshot(epoch: int, copy: bool) -> tuple:
        # The records and the divergence watch ride in the checkpoint: it alone resumes the run.
        state = {**config, "epoch": epoch, "history": list(finished),
                 "monitor": monitor.state_dict()}
        if session is not None:  # collectives, in step with the other ranks: written at once
            return state, None
        return state, run_files.checkpoint_contents(model, optimizer, grad_scaler, copy=copy)

    def write(epoch: int, taken: tuple, with_metrics: bool) -> None:
        state, contents = taken
        kept = run["checkpoint_epoch"] if epoch else None
        started = cadence.clock()
        if session is not None:
            session.save_checkpoint(checkpoint, model, optimizer, state, kept_epoch=kept,
                                    scaler=grad_scaler)
        else:
            run_files.write_checkpoint(checkpoint, contents, state, kept)
        run["checkpoint_epoch"] = epoch
        if with_metrics:  # metrics.json too, so a killed run still tells its story
            files.write_json(run_dir / run_files.METRICS, run_report.metrics(args, run, None))
        cadence.wrote(started)

    def write_pending() -> None:
        nonlocal pending
        if pending is not None:
            (epoch, taken), pending = pending, None
            write(epoch, taken, with_metrics=True)

    if resumed is None:
        # Epoch 0 (the initial weights) is saved too, so a run that diverges in its first epoch
        # still leaves a loadable checkpoint behind.
        save(0)
    tensorboard = tensorboard_run.open_logger(args.tensorboard, run_dir, done, config) \
        if main_rank else None
    bar = ProgressBar(total=(args.epochs - done) * len(train_loader), unit="step",
                      disable=args.quiet, desc=f"{args.dataset} on {device}", dynamic_ncols=True)

    postfix_due = 0.0  # the clock from which the bar's figures are worth formatting again

    def on_step(loss: float, score: float) -> None:
        # The figures only change what tqdm shows when it redraws (every bar.mininterval), so
        # they are formatted on that clock, not in each of thousands of steps (at 45 steps an
        # epoch, formatting them every step cost the digits run 6% of its time); refresh=False:
        # tqdm redraws on its own clock too.
        nonlocal postfix_due
        if not bar.disable:  # --quiet: no figures
            now = time.monotonic()
            if now >= postfix_due:
                postfix_due = now + bar.mininterval
                bar.set_postfix(progress_postfix(loss, task.score_name, score), refresh=False)
        bar.update(1)

    def on_epoch(record: dict) -> None:
        nonlocal pending
        if tensorboard is not None:  # before the checkpoint: a resume purges what follows it
            tensorboard.log_epoch(record, model, optimizer)
        # Only finished, healthy epochs reach here: the checkpoint is always the last good one.
        finished.append(record)
        if cadence.due() or record["epoch"] == args.epochs:
            save(record["epoch"], with_metrics=True)
        else:  # kept, to be written by the next due write or wherever the run stops first
            pending = record["epoch"], snapshot(record["epoch"], copy=True)
        score = task.score_name  # the epoch's own figures, whatever the clock said
        bar.set_postfix(progress_postfix(record["train_loss"], score, record[f"train_{score}"]),
                        refresh=False)
        # refresh=False here too: tqdm redraws on its own clock, not after every short epoch
        bar.set_description(f"epoch {record['epoch']}/{args.epochs} test "
                            f"{SHOWN[task.score_name]} {record[f'test_{task.score_name}']:.4g}",
                            refresh=False)

    probe = tensor(train.x[:PROBE_ROWS], device=device) if args.diagnose else None
    try:
        history = fit(model, optimizer, task, train_loader, args.epochs,
                      test_loader=test_loader, diagnose=args.diagnose, probe=probe, step=step,
                      on_step=on_step, on_epoch=on_epoch, first_epoch=done + 1, monitor=monitor)
    finally:  # every way out (a divergence, an error, Ctrl-C) keeps the last finished epoch
        write_pending()
    bar.close()
    if tensorboard is not None:
        tensorboard.close(finished)
    if session is not None and not session.is_main:
        return session.follow(history["stopped"])
    return run_report.report(args, run, history["stopped"], model, test)
