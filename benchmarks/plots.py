"""PNG plots of a run: deeplite's ratios to its peers, and the log-log scaling sweeps.

Ratios are drawn on a log axis so that 2x slower and 2x faster sit equally far from the line at 1.
The sweeps are drawn log-log so that a slope of 1 reads as "cost proportional to work" and a flat
start as fixed per-call overhead.
"""
from collections import defaultdict
from pathlib import Path
from typing import List

SWEEPS = {"scale_batch": "batch size", "scale_width": "hidden width",
          "scale_sigmoid": "sigmoid elements"}


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def ratio_plot(records: List[dict], path: Path) -> bool:
    """Bars of deeplite's time over NumPy's and PyTorch's per case (log scale); False if none."""
    # The sweeps have their own plot; here one bar pair per deeplite record that has a peer.
    rows = [r for r in records if r["framework"] == "deeplite"
            and not r["case"].startswith("scale_") and ("ratio_numpy" in r or "ratio_torch" in r)]
    if not rows:
        return False
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 1.5 + 0.22 * len(rows)))  # tall enough to read labels
    positions = range(len(rows))
    bars = ((-0.2, "ratio_numpy", "vs NumPy"), (0.2, "ratio_torch", "vs PyTorch"))
    for offset, key, label in bars:
        # NaN leaves a gap where the peer did not run (PyTorch not installed, say).
        axes.barh([p + offset for p in positions], [r.get(key, float("nan")) for r in rows],
                  height=0.4, label=label)
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yticks(list(positions))
    axes.set_yticklabels([f"{r['case']} {r['shape']} {r['backend']} t{r['threads']}" for r in rows],
                         fontsize=6)
    axes.invert_yaxis()
    axes.set_xlabel("deeplite / peer (time or memory; < 1 is better)")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def scaling_plot(records: List[dict], path: Path) -> bool:
    """Log-log cost against batch size, width and array size, per contender; False if none ran."""
    sweeps = [case for case in SWEEPS if any(r["case"] == case for r in records)]
    if not sweeps:
        return False
    plt = _pyplot()
    from matplotlib.ticker import NullFormatter
    figure, all_axes = plt.subplots(1, len(sweeps), figsize=(5 * len(sweeps), 4), squeeze=False)
    for axes, case in zip(all_axes[0], sweeps):
        lines = defaultdict(list)
        for record in records:
            if record["case"] == case:  # one line per contender and thread count
                lines[f"{record['backend']} t{record['threads']}"].append(
                    (record["x"], record["median_s"]))
        for label, points in lines.items():
            points.sort()
            axes.loglog([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        axes.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short axes
        axes.set_xlabel(SWEEPS[case])
        axes.set_ylabel("seconds per call (median)")
        axes.set_title(case)
        axes.grid(True, which="both", linewidth=0.3)
        axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
