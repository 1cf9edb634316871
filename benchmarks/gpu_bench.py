"""GPU benchmarks: the ``gpu`` case family (benchmarks/cases/gpu.py) alone, with its verdicts.

deeplite's cuda backend beside PyTorch on the same GPU, timed by the suite's one timer
(``timing.compare``: warm-up, interleaved rounds, median and min-max) and reported as the suite's
records. A case that fails prints its error in its own row and the others still run; the exit
status is 0 when every target is met, 2 when one is missed, 1 when CUDA is unavailable.

    python3 benchmarks/gpu_bench.py           # the full run (about a minute on an H100)
    python3 benchmarks/gpu_bench.py --quick   # small sizes: a smoke test of the script itself
"""
import argparse
import pathlib
import sys
import traceback

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable as a package
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks import report  # noqa: E402
from benchmarks.cases import gpu  # noqa: E402
from benchmarks.contenders import select  # noqa: E402
from benchmarks.context import Context  # noqa: E402


def run_cases(ctx) -> tuple:
    """(records, failures): every GPU case's records; a failed case is (its name, the error)."""
    records, failures, floor = [], [], {}
    for case in gpu.CASES:
        try:
            for group in case(ctx, floor):
                records.extend(group)
        except Exception as error:  # one broken case must not hide the others
            traceback.print_exc(file=sys.stderr)
            first = str(error).splitlines()[0] if str(error) else ""
            failures.append((case.__name__, f"{type(error).__name__}: {first[:120]}"))
    return records, failures


def verdicts(records, failures) -> list:
    """Markdown lines: each target, its figure and whether it is met, then the failed cases."""
    lines = ["| case | shape | figure | target | met |", "|---|---|---|---|---|"]
    for record in records:
        if "target" not in record:
            continue
        figure = (f"{record['speedup']:.2f}x torch" if "speedup" in record
                  else f"{record['fraction_of_limit']:.0%} of {record['limit']}")
        met = "" if "met" not in record else ("yes" if record["met"] else "NO")
        lines.append(f"| {record['case']} | {record['shape']} | {figure} | {record['target']} "
                     f"| {met} |")
    lines += [f"| {name} | | FAILED: {message} | | NO |" for name, message in failures]
    return lines


def main(argv=None) -> int:
    """Run the GPU cases and print the records table and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    args = parser.parse_args(argv)
    import deeplite

    if not deeplite.cuda.is_available():
        print(f"deeplite GPU benchmarks: CUDA unavailable: {deeplite.cuda.why_unavailable()}")
        return 1
    contenders, skipped = select(["cuda"], ["torch"])
    ctx = Context([c for c in contenders if c.on_gpu], threads=1, quick=args.quick, limits={},
                  repeats=3 if args.quick else 7)
    records, failures = run_cases(ctx)
    report.add_ratios(records)
    cupy = deeplite.backends.get("cuda").xp
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    print(f"\n### deeplite GPU benchmarks on {name}\n")
    print(report.markdown(records) if records else "(no records)")
    print("\n" + "\n".join(verdicts(records, failures)))
    if not any(c.framework == "torch" for c in ctx.contenders):
        print("\nPyTorch with CUDA is not available here: no torch rows. " + "; ".join(skipped))
    missed = failures or any(record.get("met") is False for record in records)
    return 2 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
