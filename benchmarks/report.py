"""Results: ours/peer ratios, the Markdown table, results.json, and a check that it parses.

A ratio is deeplite's time over the peer's time in the same group (case, shape, dtype, threads):
below 1 deeplite is faster. For peak memory it is deeplite's MiB over the peer's.
"""
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

REQUIRED_FIELDS = ("case", "shape", "backend", "framework", "dtype", "threads")
COLUMNS = ("case", "shape", "backend", "threads", "median", "min-max", "GFLOP/s or GB/s",
           "fraction of limit", "ratio to numpy", "ratio to torch")


def _cost(record: dict):
    """What a ratio compares: seconds per call, or MiB for a memory record."""
    return record.get("median_s", record.get("peak_rss_mib"))


def add_ratios(records: List[dict]) -> None:
    """Set ratio_numpy and ratio_torch on each deeplite record that has the peer beside it."""
    groups: Dict[tuple, List[dict]] = defaultdict(list)
    for record in records:
        groups[(record["case"], record["shape"], record["dtype"], record["threads"])].append(record)
    for group in groups.values():
        numpy_peer = next((r for r in group if r["framework"] == "numpy"), None)
        for record in group:
            if record["framework"] != "deeplite":
                continue
            # A GPU contender's torch peer is torch on the GPU; a host one's, torch on the CPU.
            torch_device = "cuda" if record["device"] == "cuda" else "cpu"
            torch_peer = next((r for r in group if r["framework"] == "torch"
                               and r["device"] == torch_device), None)
            for key, peer in (("ratio_numpy", numpy_peer), ("ratio_torch", torch_peer)):
                if peer is not None and _cost(peer):
                    record[key] = _cost(record) / _cost(peer)


def _number(value: float) -> str:
    """Three significant digits, without switching to exponent notation for large values."""
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _duration(seconds: float, unit_of: float) -> str:
    """``seconds`` in the unit that suits ``unit_of`` (so a min-max shares the median's unit)."""
    for scale, unit in ((1e-6, "µs"), (1e-3, "ms")):
        if unit_of < scale * 1000:
            return f"{_number(seconds / scale)} {unit}"
    return f"{_number(seconds)} s"


def _rate(record: dict) -> str:
    """GFLOP/s or GB/s, plus samples/s for a training step."""
    parts = []
    for key, unit in (("gflops", "GFLOP/s"), ("gbps", "GB/s"), ("samples_per_s", "samples/s")):
        if key in record:
            parts.append(f"{_number(record[key])} {unit}")
    return ", ".join(parts)


def _optional(value, template: str) -> str:
    """``template`` filled with value, or empty when there is no value."""
    return "" if value is None else template.format(value)


def row(record: dict) -> List[str]:
    """One record as the table's cells."""
    if "peak_rss_mib" in record:
        median, spread = f"{record['peak_rss_mib']:.0f} MiB peak RSS", ""
    else:
        median = _duration(record["median_s"], record["median_s"])
        spread = (_duration(record["min_s"], record["median_s"]) + " - "
                  + _duration(record["max_s"], record["median_s"]))
    return [record["case"], record["shape"], record["backend"], str(record["threads"]), median,
            spread, _rate(record), _optional(record.get("fraction_of_limit"), "{:.0%}"),
            _optional(record.get("ratio_numpy"), "{:.2f}x"),
            _optional(record.get("ratio_torch"), "{:.2f}x")]


def _table(header: List[str], rows: List[List[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def markdown(records: List[dict]) -> str:
    """The results as a Markdown table, one row per record, in run order."""
    return _table(list(COLUMNS), [row(record) for record in records])


def compact(records: List[dict]) -> str:
    """A narrower table: one row per case, shape and thread count, the contenders side by side.

    Each contender's cell is its median (or peak RSS); then each deeplite backend's ratios to
    NumPy and PyTorch. This is the table the README carries.
    """
    groups: Dict[tuple, Dict[str, dict]] = defaultdict(dict)
    for record in records:
        groups[(record["case"], record["shape"], record["threads"])][record["backend"]] = record
    names = list(dict.fromkeys(record["backend"] for record in records))
    ours = [name for name in names if name.startswith("deeplite")]
    header = ["case", "shape", "threads", *names]
    header += [f"{name} / {peer}" for name in ours for peer in ("numpy", "torch")]
    rows = []
    for (case, shape, threads), by_name in groups.items():
        cells = [case, shape, str(threads)]
        cells += [row(by_name[name])[4].replace(" peak RSS", "") if name in by_name else ""
                  for name in names]
        cells += [_optional(by_name.get(name, {}).get(f"ratio_{peer}"), "{:.2f}x")
                  for name in ours for peer in ("numpy", "torch")]
        rows.append(cells)
    return _table(header, rows)


def summary(records: List[dict]) -> str:
    """One line for a finished group: each deeplite contender's figure and its ratios."""
    first = records[0]
    parts = []
    for record in records:
        if record["framework"] != "deeplite":
            continue
        cells = row(record)
        ratios = [cell + " " + peer for cell, peer in ((cells[8], "numpy"), (cells[9], "torch"))
                  if cell]
        parts.append(f"{record['backend']} {cells[4]}"
                     + (f" ({', '.join(ratios)})" if ratios else ""))
    return (f"{first['case']} {first['shape']} t{first['threads']}: "
            + ("; ".join(parts) or "no deeplite contender"))


def validate(path: Path) -> dict:
    """Load results.json and check every record; raise ValueError naming the first bad one."""
    results = json.loads(Path(path).read_text())
    records = results.get("records")
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: no records (did every case fail or get skipped?)")
    for index, record in enumerate(records):
        missing = [name for name in REQUIRED_FIELDS if name not in record]
        if missing:
            raise ValueError(f"{path}: record {index} lacks {', '.join(missing)}")
        if "peak_rss_mib" in record:
            values = [record["peak_rss_mib"]]
        else:
            values = [record.get("min_s"), record.get("median_s"), record.get("max_s")]
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"{path}: record {index} ({record['case']}) has bad figures {values}")
        if len(values) == 3 and not values[0] <= values[1] <= values[2]:
            raise ValueError(f"{path}: record {index} ({record['case']}) has min/median/max "
                             f"out of order: {values}")
    return results
