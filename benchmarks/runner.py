"""The runner: one pinned worker subprocess per thread count, a progress bar, and the outputs.

Outputs in the --out folder: results.json (records, machine, limits per thread count),
results.md (the Markdown table, also printed on stdout), summary.md (the same figures with the
contenders side by side, as the README shows them) and the PNG plots. results.json is read
back and checked before the run reports success, so a smoke run also proves its output parses.
"""
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import deeplite

from . import plots, report
from .cases import FAMILIES, load
from .machine import pinned_environment
from .worker import PREFIX

log = logging.getLogger("benchmarks")

# Measured once, in the first thread configuration: a thread pool barely changes memory, and
# the distributed ranks pin one thread each.
ONCE = ("memory", "distributed")


def families_for(only: List[str], quick: bool) -> List[str]:
    """The families to run, in run order: those named by --only, else all (quick: the fast ones)."""
    if only:
        for family in only:
            load(family)  # raises ValueError listing the valid names
        return [family for family in FAMILIES if family in only]
    return [family for family in FAMILIES if not quick or load(family).IN_QUICK]


def _worker_command(options, threads: int, families: List[str]) -> List[str]:
    """The command line of one worker."""
    return [sys.executable, "-m", "benchmarks.worker", "--threads", str(threads),
            "--backends", ",".join(options.backends), "--peers", ",".join(options.peers),
            "--families", ",".join(families), "--repeats", str(options.repeats)] \
        + (["--quick"] if options.quick else [])


def run_worker(options, threads: int, families: List[str], progress, results: dict) -> int:
    """Run one worker to its end, folding its events into ``results``; its exit code."""
    # Quick runs are smoke tests: leave the OpenBLAS overrides as the machine has them.
    env = pinned_environment(threads, keep_openblas_overrides=options.quick)
    # The worker must import the deeplite this process imported (a checkout's, or an installed one
    # with its compiled _C), then this benchmarks package; it runs in the output folder so that
    # the current folder, first on sys.path, shadows neither.
    first = Path(deeplite.__file__).resolve().parent.parent
    root = Path(__file__).resolve().parent.parent
    paths = [str(first), str(root), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    process = subprocess.Popen(_worker_command(options, threads, families), stdout=subprocess.PIPE,
                               text=True, env=env, cwd=Path(options.out).resolve())
    for line in process.stdout:
        if not line.startswith(PREFIX):
            progress.write(line.rstrip(), file=sys.stderr)  # a library's stray print
            continue
        event = json.loads(line[len(PREFIX):])
        kind = event.pop("event")
        if kind == "start":
            results["runs"].append(event)
            for reason in event["skipped"]:
                progress.write(reason, file=sys.stderr)
        elif kind == "records" and event["records"]:
            report.add_ratios(event["records"])
            results["records"].extend(event["records"])
            progress.write(report.summary(event["records"]), file=sys.stderr)
        elif kind == "error":
            results["errors"].append(event)
        elif kind == "done":
            progress.update(1)
    return process.wait()


def _stamp(records: List[dict], runs: List[dict]) -> None:
    """Give every record its machine and library versions, so each one stands on its own."""
    machine_of = {run["threads"]: run["machine"] for run in runs}
    for record in records:
        machine = machine_of.get(record["threads"], {})
        record["cpu"] = machine.get("cpu")
        record["versions"] = machine.get("versions")


def write_outputs(out: Path, results: dict) -> str:
    """Write results.json, results.md and the plots into ``out``; the Markdown table."""
    out.mkdir(parents=True, exist_ok=True)
    report.add_ratios(results["records"])
    _stamp(results["records"], results["runs"])
    (out / "results.json").write_text(json.dumps(results, indent=1))
    table = report.markdown(results["records"])
    (out / "results.md").write_text(f"Command: `{results['command']}`\n\n{table}")
    (out / "summary.md").write_text(f"Command: `{results['command']}`\n\n"
                                    f"{report.compact(results['records'])}")
    plots.ratio_plot(results["records"], out / "ratios.png")
    plots.scaling_plot(results["records"], out / "scaling.png")
    return table


def run(options, command: str) -> int:
    """Run the benchmark as ``options`` say; 0 when every case ran and the output parses."""
    from tqdm import tqdm

    families = families_for(options.only, options.quick)
    Path(options.out).mkdir(parents=True, exist_ok=True)
    plan = [(threads, families if i == 0 else [f for f in families if f not in ONCE])
            for i, threads in enumerate(options.threads)]
    plan = [(threads, fams) for threads, fams in plan if fams]  # e.g. --only memory: one run
    results = {"command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "quick": options.quick, "runs": [], "errors": [], "records": []}
    failed = False
    with tqdm(total=sum(len(fams) for _, fams in plan), desc="benchmarks", unit="case",
              file=sys.stderr) as progress:
        for threads, fams in plan:
            progress.set_postfix(threads=threads)
            failed |= run_worker(options, threads, fams, progress, results) != 0
    if not results["records"]:
        if failed or results["errors"]:
            log.error("benchmarks: nothing was measured; see the errors above")
            return 1
        skipped = [reason for run in results["runs"] for reason in run["skipped"]]
        log.warning("benchmarks: no deeplite backend among %s can run here, nothing was measured "
                    "(%s)", ",".join(options.backends), "; ".join(skipped) or "no reason given")
        return 0
    table = write_outputs(Path(options.out), results)
    print(f"Command: `{command}`\n\n{table}")
    report.validate(Path(options.out) / "results.json")  # raises if the output does not parse
    for error in results["errors"]:
        log.error("%s failed with %d threads: %s", error["family"], error["threads"],
                  error["message"])
    return 1 if failed or results["errors"] else 0
