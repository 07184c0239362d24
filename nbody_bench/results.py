"""From pytest-benchmark entries to comparable numbers: speedups, pair interactions per second.

Each benchmark of the suite records in `extra_info` what it ran: `workload` (an id such as
"lecture" or "derivative-n1000"), `kind` ("lecture", "derivative" or "run"), `backend`, `n`,
`calls` (derivative calls per timed run) and `cores` (the cores the process could use).
Speedups are always against the baseline measured in the same run, never against a
stored figure.

Every ratio uses each benchmark's fastest round, its minimum. On a shared machine
interference only ever adds time, so the minimum is the estimate of the code's own cost
that other load disturbs least: over six runs of an unchanged tree with other work beside
them, the compiled kernels' minimums moved at most 26% where their medians moved over 120%
(docs/calibration.md, "Choosing the statistic and the rounds").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .traits import TWINS

BASELINE = "python"
# The two yardsticks of compiled speed. The C reference is the plain pair loop as gcc
# compiles it: "% of ref" says how well a tool compiles that loop. The limit kernel is the
# fastest this project builds for the CPU: "% of limit" says how far from it a backend is.
REFERENCE = "c-reference"
LIMIT = "simd"
PARALLEL_LIMIT = "simd-parallel"  # the limit kernel on every core
# Each parallel variant and its serial twin: the same arithmetic in one thread or process.
PARALLEL_TWINS = TWINS  # kernels/traits.py
# The GPU's FP64 count, as GPU Gems 3 ch. 31 counts it: 20 flops per pair interaction and
# N^2 interactions a call (the tiled kernel computes every pair twice, once for each body).
FLOPS_PER_INTERACTION = 20
REQUIRED = ("workload", "kind", "backend", "n", "calls")
BUILDS = ("native", "portable")  # kernels.registry.build()
STATISTICS = ("min", "median")  # what the suite reads of pytest-benchmark's stats


class ResultsError(ValueError):
    """A benchmark JSON file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Row:
    workload: str
    kind: str
    backend: str
    n: int
    calls: int
    min: float  # seconds per timed run: the fastest round
    median: float  # seconds per timed run: the middle round
    cores: int | None = None  # usable cores when it ran (None in runs saved before 0.2)
    build: str | None = None  # "native" or "portable" (kernels.registry.build()), if recorded
    cluster: str | None = None  # the dask backend's cluster: kind, address, workers
    # The limit kernel's variant (kernels.simd's VARIANTS, as "avx512-mixed"), recorded by
    # the simd backends: its vector unit keys bounds by CPU (nbody_bench.gate).
    vector: str | None = None
    # A checked-call benchmark's cost over the unchecked kernel, measured with the two
    # alternating (nbody_bench.paired): (median, low, high) seconds a call, 95% interval.
    checked_cost: tuple[float, float, float] | None = None
    # A GPU benchmark's device: its FP64 peak in FLOP/s (no tensor cores) and how that was
    # found (kernels.cuda.fp64_peak), or None.
    fp64_peak: float | None = None
    fp64_peak_source: str | None = None
    # A GPU benchmark's kernel timed on the device, inputs already there (bench/test_gpu.py:
    # extra_info kernel_min and kernel_median, seconds a call), and how it was timed.
    kernel: tuple[float, float] | None = None
    kernel_timing: str | None = None
    speedup: float | None = None  # baseline time / this time, same run
    speedup_estimated: bool = False  # baseline extrapolated by pair count from a smaller n

    @property
    def time(self):
        """The time every ratio and rate uses: the fastest round (see the module's notes)."""
        return self.min

    @property
    def spread(self):
        """How far the middle round lies above the fastest: the run's own noise."""
        return self.median / self.min - 1

    @property
    def pairs(self):
        """Pair interactions per timed run: N(N-1)/2 per derivative call."""
        return self.n * (self.n - 1) // 2 * self.calls

    @property
    def pairs_per_second(self):
        return self.pairs / self.time

    @property
    def ns_per_pair(self):
        return 1e9 * self.time / self.pairs if self.pairs else float("nan")


def load_run(path):
    """A saved pytest-benchmark run as a dict, or ResultsError naming the file and fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        run = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    return checked_run(run, path)


def checked_run(run, path):
    """`run` (parsed from `path`) if it is a pytest-benchmark run with numeric statistics,
    or ResultsError naming the file and fault."""
    if not isinstance(run, dict) or not isinstance(run.get("benchmarks"), list):
        raise ResultsError(f"{path}: not a pytest-benchmark file (no 'benchmarks' list)")
    for i, entry in enumerate(run["benchmarks"]):
        for statistic in STATISTICS:
            try:
                float(entry["stats"][statistic])
            except (KeyError, TypeError, ValueError) as exc:
                raise ResultsError(
                    f"{path}: benchmark {i} has no numeric stats.{statistic}"
                ) from exc
    return run


def rows_from(benchmarks):
    """Rows with speedups for the suite's entries (others, without our extra_info, are ignored)."""
    rows = []
    for entry in benchmarks:
        info = entry.get("extra_info") or {}
        if not all(key in info for key in REQUIRED):
            continue
        rows.append(
            Row(
                workload=str(info["workload"]),
                kind=str(info["kind"]),
                backend=str(info["backend"]),
                n=int(info["n"]),
                calls=int(info["calls"]),
                min=float(entry["stats"]["min"]),
                median=float(entry["stats"]["median"]),
                cores=int(info["cores"]) if "cores" in info else None,
                build=info.get("build") if info.get("build") in BUILDS else None,
                cluster=_cluster(info.get("cluster")),
                vector=info["simd_variant"] if isinstance(info.get("simd_variant"), str) else None,
                checked_cost=_interval(info.get("checked_cost")),
                fp64_peak=_positive_or_none(info.get("fp64_peak")),
                fp64_peak_source=info.get("fp64_peak_source"),
                **_kernel(info),
            )
        )
    return _with_speedups(rows)


def _kernel(info):
    """kernel and kernel_timing of a Row from extra_info, where both times are positive."""
    fastest, middle = (_positive_or_none(info.get(k)) for k in ("kernel_min", "kernel_median"))
    if fastest is None or middle is None:
        return {}
    return {
        "kernel": (fastest, middle),
        "kernel_timing": str(info.get("kernel_timing") or "on the device"),
    }


def _positive_or_none(stored):
    try:
        value = float(stored)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _interval(stored):
    """(median, low, high) from a stored {"median", "low", "high"}, or None."""
    try:
        return tuple(float(stored[key]) for key in ("median", "low", "high"))
    except (KeyError, TypeError, ValueError):
        return None


def _cluster(described):
    """One line from kernels.dask.describe()'s dict, as stored in extra_info."""
    if not isinstance(described, dict):
        return None
    return (
        f"{described.get('cluster', '?')} at {described.get('address', '?')}, "
        f"{described.get('workers', '?')} workers, {described.get('threads', '?')} threads"
    )


def baseline_for(rows, row, over=BASELINE):
    """The row of backend `over` to compare `row` with, and whether it is an estimate.

    The same workload if `over` ran it; else the same kind at the same N (the lecture's
    Python-loop baseline for a whole-run workload); else the largest smaller N of the
    same kind, scaled by the number of pairs (a baseline too slow to run at this N).
    """
    same_kind = [r for r in rows if r.backend == over and r.kind == row.kind and r.n <= row.n]
    for r in same_kind:
        if r.workload == row.workload:
            return r, False
    if not same_kind:
        return None, False
    largest = max(r.n for r in same_kind)
    candidates = [r for r in same_kind if r.n == largest]
    # At the same N, the workload this one extends ("lecture" for "lecture-whole-run").
    best = next((r for r in candidates if row.workload.startswith(r.workload)), candidates[0])
    return best, best.n != row.n


def ratio(rows, row, over=BASELINE):
    """(how many times faster `row` is than backend `over` in the same run, estimated?)."""
    base, estimated = baseline_for(rows, row, over)
    if base is None:
        return None, False
    base_time = base.time * row.pairs / base.pairs if estimated else base.time
    return base_time / row.time, estimated


def _with_speedups(rows):
    out = []
    for r in rows:
        speedup, estimated = ratio(rows, r)
        out.append(replace(r, speedup=speedup, speedup_estimated=estimated))
    return out


def limit_for(backend):
    """The limit kernel a backend is measured against: like for like, a parallel variant
    against the limit kernel on every core, anything else against it on one."""
    return PARALLEL_LIMIT if backend in PARALLEL_TWINS else LIMIT


def fraction_of(rows, row, yardstick):
    """Speed of `row` as a fraction of backend `yardstick`'s on the same workload, or None."""
    for r in rows:
        if r.backend == yardstick and r.workload == row.workload:
            return r.time / row.time
    return None


def extra_info_of(row, rows=()):
    """The derived figures stored back into a benchmark's extra_info."""
    info = {
        "pairs_per_second": row.pairs_per_second,
        "ns_per_pair": row.ns_per_pair,
    }
    for key, yardstick in (("of_reference", REFERENCE), ("of_limit", limit_for(row.backend))):
        fraction = fraction_of(rows, row, yardstick)
        if fraction is not None:
            info[key] = fraction
            info[f"{key}_backend"] = yardstick
    if row.speedup is not None:
        info["speedup_over_python"] = row.speedup
        info["speedup_baseline"] = (
            "estimated from a smaller n" if row.speedup_estimated else "measured"
        )
    return info
