"""What a case gets: the contenders, the thread count, the machine's limits, and ``measure``.

``measure`` is the one place that times contenders and turns their timings into records, so every
case reports the same fields: case, shape, backend, dtype, threads, median and min-max seconds,
the derived rate (GFLOP/s, GB/s, samples/s) and its fraction of the machine's limit.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from . import timing
from .contenders import Contender


@dataclass
class Context:
    """The run's settings for one thread count, shared by every case."""

    contenders: List[Contender]
    threads: int
    quick: bool
    limits: Dict[str, float]
    repeats: int
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def base_record(self, case: str, shape: str, contender: Contender, dtype: str) -> dict:
        """The fields every record carries, before any timing."""
        return {"case": case, "shape": shape, "backend": contender.name,
                "framework": contender.framework, "device": contender.device, "dtype": dtype,
                "threads": self.threads}

    def measure(self, case: str, shape: str, make: Callable[[Contender], Optional[Callable]], *,
                dtype: str = "float32", flops: float = None, bytes_moved: float = None,
                samples: int = None, ops_per_call: int = 1, repeats: int = None,
                extra: dict = None) -> List[dict]:
        """Time ``make(contender)()`` for every contender (None: it sits this case out).

        Args:
            case, shape: what the report's rows show.
            flops / bytes_moved / samples: work of one call, for GFLOP/s, GB/s and samples/s.
            ops_per_call: one call repeats the op this many times; times are per op.
            extra: more fields for every record (a scaling sweep's ``x``, say).
        Returns:
            One record per contender that took part.
        """
        calls, syncs, taking_part = {}, {}, []
        for contender in self.contenders:
            call = make(contender)
            if call is not None:
                calls[contender.name], syncs[contender.name] = call, contender.sync
                taking_part.append(contender)
        # One thread runs no pool that could spin between samples: no pause needed.
        settle = timing.SETTLE_S if self.threads > 1 else 0.0
        stats = timing.compare(calls, syncs, repeats or self.repeats, settle_s=settle)
        records = []
        for contender in taking_part:
            result = stats[contender.name]
            record = self.base_record(case, shape, contender, dtype)
            record.update(median_s=result.median_s / ops_per_call,
                          min_s=result.min_s / ops_per_call, max_s=result.max_s / ops_per_call,
                          repeats=result.repeats, calls_per_sample=result.inner, **(extra or {}))
            self._add_rates(record, contender, flops, bytes_moved, samples)
            records.append(record)
        return records

    def _add_rates(self, record: dict, contender: Contender, flops, bytes_moved, samples) -> None:
        """GFLOP/s, GB/s, samples/s and the fraction of the machine's limit they reach."""
        median = record["median_s"]
        if samples:
            record["samples_per_s"] = samples / median
        # The limits are the host's: a GPU contender's fraction of them would mean nothing.
        host = not contender.on_gpu
        if flops:
            record["gflops"] = flops / median / 1e9
            if host:
                record["limit"] = "gemm"
                record["fraction_of_limit"] = record["gflops"] / self.limits["gemm_gflops"]
        elif bytes_moved:
            record["gbps"] = bytes_moved / median / 1e9
            if host:
                record["limit"] = "copy"
                record["fraction_of_limit"] = record["gbps"] / self.limits["copy_gbps"]
