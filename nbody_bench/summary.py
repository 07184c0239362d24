"""The one summary table printed after every benchmark run, and by the gate."""

from __future__ import annotations

import kernels

from . import formatting
from .results import (
    BASELINE,
    FLOPS_PER_INTERACTION,
    LIMIT,
    PARALLEL_LIMIT,
    PARALLEL_TWINS,
    REFERENCE,
    fraction_of,
    limit_for,
)


def format_table(rows, verdicts=()):
    """Backend by workload: fastest and middle round, speedup over the baseline, pairs/s,
    speed as a percentage of the C reference kernel's and of the limit kernel's on the same
    workload, the gate's verdicts and the targets. Every ratio uses the fastest round
    (results.Row.time)."""
    verdict = {}
    for v in verdicts:
        verdict.setdefault((v.workload, v.backend), []).append(v)
    header = (
        "workload",
        "backend",
        "min",
        "median",
        f"vs {BASELINE}",
        "pairs/s",
        "% of ref",
        "% of limit",
        "gate",
        "target",
    )
    lines = []
    for r in sorted(rows, key=_order):
        found = verdict.get((r.workload, r.backend), [])
        if r.speedup is None:
            speedup = "-"
        else:
            speedup = ("~" if r.speedup_estimated else "") + f"{r.speedup:,.1f}x"
        gate = "; ".join(_verdict(v) for v in found if v.bound.kind != "target") or "-"
        target = "; ".join(_verdict(v) for v in found if v.bound.kind == "target") or "-"
        of_reference = fraction_of(rows, r, REFERENCE)
        of_limit = fraction_of(rows, r, limit_for(r.backend))
        lines.append(
            (
                r.workload,
                r.backend,
                formatting.duration(r.min),
                f"{formatting.duration(r.median)} (+{formatting.percent(r.spread)})",
                speedup,
                f"{r.pairs_per_second:.3g}",
                "-" if of_reference is None else formatting.percent(of_reference),
                "-" if of_limit is None else formatting.percent(of_limit),
                gate,
                target,
            )
        )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    right = {2, 3, 4, 5, 6, 7}

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines]
    out.append(
        "min: the fastest round, which every ratio uses; median (+x%): the middle round and "
        "how far it lies above the fastest."
    )
    if any(r.backend == REFERENCE for r in rows):
        out.append(
            f"% of ref: speed as a percentage of the {REFERENCE} kernel's (the plain pair loop "
            "as gcc compiles it) on the same workload."
        )
    if any(r.backend == LIMIT for r in rows):
        out.append(
            f"% of limit: speed as a percentage of the limit kernel's ({LIMIT}; "
            f"{PARALLEL_LIMIT} for parallel variants) on the same workload."
        )
    for cluster in sorted({r.cluster for r in rows if r.cluster}):
        out.append(f"dask ran on: {cluster}.")
    if any(r.speedup_estimated for r in rows):
        out.append(
            f"~ : the {BASELINE} baseline is too slow at this N; its time is scaled "
            "from the largest N it ran at by the number of pairs."
        )
    return "\n".join(out)


# Beyond the twins: where the cluster backend overtakes the Numba backends on one machine.
CROSSOVERS = (*PARALLEL_TWINS.items(), ("dask", "numba"), ("dask", "numba-parallel"))


def format_crossover(rows):
    """Per N, how many times faster each parallel variant is than its serial twin (and
    dask than numba and numba-parallel), and the N from which it stays faster (its
    crossover), from the derivative workloads."""
    derivative = {(r.backend, r.n): r.time for r in rows if r.kind == "derivative"}
    sizes = sorted({n for _, n in derivative})
    header = ["parallel variant", "against", *(f"N={n}" for n in sizes), "faster from N"]
    lines = []
    for parallel, twin in CROSSOVERS:
        both = [n for n in sizes if (parallel, n) in derivative and (twin, n) in derivative]
        if not both:
            continue
        speedup = {n: derivative[twin, n] / derivative[parallel, n] for n in both}
        crossover = _stays_faster(both, speedup.get)
        cells = [f"{speedup[n]:.2f}x" if n in speedup else "-" for n in sizes]
        lines.append([parallel, twin, *cells, crossover])
    if not lines:
        return ""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells):
        return "  ".join(
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    title = (
        "Parallel variants against their serial twins, and dask against numba and "
        "numba-parallel (speedup per N, one derivative call):"
    )
    return "\n".join([title, fmt(header), fmt(["-" * w for w in widths]), *(fmt(x) for x in lines)])


GPU_BACKENDS = ("cuda", "cupy", "jax")
HOST_YARDSTICK = PARALLEL_LIMIT  # what a GPU backend must beat: the limit kernel, all cores
GPU_GOALS = (
    "goals: cuda at 40% or more of the FP64 peak by its kernel's time from N = 100000, and "
    "30x simd-parallel on the host's cores at N = 100000"
)


def format_gpu(rows):
    """The GPU table (bench/test_gpu.py, workloads gpu-nN and the cuda kernel's variants
    gpu-VARIANT-nN): per backend and N the end-to-end call's time and the kernel's own
    (Row.kernel: "-" where it was not timed), pairs/s, the
    FP64 rate by the 20-flop count and its share of the GPU's peak from each, how many
    times faster than the limit kernel on every host core at the same N (call against
    call); then the N from which each GPU backend stays faster than it."""
    gpu = [r for r in rows if r.workload.startswith("gpu-")]
    if not gpu:
        return ""
    yardstick = {r.n: r.time for r in gpu if r.backend == HOST_YARDSTICK and r.kind == "derivative"}
    header = [
        "backend",
        "N",
        "call",
        "kernel",
        "pairs/s",
        "FP64 call",
        "% of peak",
        "FP64 kernel",
        "% of peak",
        f"vs {HOST_YARDSTICK}",
    ]
    lines = []
    for r in sorted(
        gpu, key=lambda r: (backend_order(r.backend), r.kind != "derivative", r.workload, r.n)
    ):
        name = r.backend if r.kind == "derivative" else f"{r.backend} ({_variant(r.workload)})"
        on_gpu = r.backend in GPU_BACKENDS
        own = r.kernel if on_gpu else None
        cells = [name, str(r.n), formatting.duration(r.time)]
        cells.append(formatting.duration(own[0]) if own else "-")
        cells.append(f"{r.pairs_per_second:.3g}")
        for seconds in (r.time, own[0] if own else None):
            flops = FLOPS_PER_INTERACTION * r.n * r.n * r.calls / seconds if seconds else None
            cells.append(f"{flops / 1e12:.3g} TFLOP/s" if on_gpu and flops else "-")
            share = on_gpu and flops and r.fp64_peak
            cells.append(formatting.percent(flops / r.fp64_peak) if share else "-")
        cells.append(formatting.speedup(yardstick[r.n] / r.time) if r.n in yardstick else "-")
        lines.append(cells)
    out = [
        f"The derivative on the GPU, one call, beside the host's CPU ({GPU_GOALS}):",
        *_columns(header, lines),
    ]
    derivative = {(r.backend, r.n): r.time for r in gpu if r.kind == "derivative"}
    for backend in GPU_BACKENDS:
        sizes = sorted(n for b, n in derivative if b == backend and n in yardstick)
        if not sizes:
            continue
        crossover = _stays_faster(sizes, lambda n, b=backend: yardstick[n] / derivative[b, n])
        if crossover == "never":
            out.append(f"{backend}: slower than {HOST_YARDSTICK} at the largest N measured")
        else:
            out.append(f"{backend}: faster than {HOST_YARDSTICK} from N = {crossover} on")
    hows = sorted(
        {(r.backend, r.kernel_timing) for r in gpu if r.kernel and r.backend in GPU_BACKENDS}
    )
    out.append(
        "call: the fastest end-to-end call (positions and masses to the device, the kernel, "
        "the accelerations back, the host's transposes and dispatch); kernel: the fastest "
        "of the GPU's own runs on inputs already on the device"
        + (", by " + "; ".join(f"{b}: {how}" for b, how in hows) if hows else ": none timed")
        + "."
    )
    variants = sorted({_variant(r.workload) for r in gpu if r.kind == "variant"})
    if variants:
        out.append(
            "cuda (VARIANT): the kernel with one thing changed: (divide) the pair's square "
            "root and division, (tileT) a tile of T bodies; cuda's own row is the rsqrt "
            "pair with a tile of 128."
        )
    out.append(
        f"FP64: {FLOPS_PER_INTERACTION} flops per interaction, N^2 interactions a call (GPU "
        "Gems 3, ch. 31); pairs/s: N(N-1)/2 pairs a call, as in the table above."
    )
    for source in sorted({r.fp64_peak_source for r in gpu if r.fp64_peak_source}):
        out.append(f"FP64 peak: {source}.")
    return "\n".join(out)


def _variant(workload):
    """'divide' of 'gpu-divide-n100000'."""
    return workload.removeprefix("gpu-").rsplit("-n", 1)[0]


def _stays_faster(sizes, speedup):
    """The smallest of `sizes` (ascending) from which speedup(n) > 1 at every larger one
    measured, as text; "never" if not even at the largest."""
    crossover = "never"
    for n in reversed(sizes):
        if speedup(n) <= 1:
            break
        crossover = str(n)
    return crossover


def format_checked_cost(rows):
    """Per backend and N, what the public, checked derivatives() costs beyond the unchecked
    kernel, a call, and as a percentage of the kernel's time (derivative-nN). Measured
    with the two alternating where the benchmark did (`Row.checked_cost`, shown with its
    95% interval); else checked-nN's fastest round less derivative-nN's, two benchmarks
    timed seconds apart, marked "~": noise can move that by more than the cost."""
    kernel = {(r.backend, r.n): r.time for r in rows if r.kind == "derivative"}
    checked = {(r.backend, r.n): r for r in rows if r.kind == "checked"}
    both = sorted(set(kernel) & set(checked))
    if not both:
        return ""
    sizes = sorted({n for _, n in both})
    backends = sorted({b for b, _ in both}, key=backend_order)
    header = ["backend", *(f"N={n}" for n in sizes)]
    lines = []
    for backend in backends:
        cells = []
        for n in sizes:
            if (backend, n) not in kernel or (backend, n) not in checked:
                cells.append("-")
                continue
            row, base = checked[backend, n], kernel[backend, n]
            if row.checked_cost is None:
                extra = row.time - base
                cells.append(f"~{formatting.signed_duration(extra)} ({extra / base:+.1%})")
            else:
                extra, low, high = (formatting.signed_duration(x) for x in row.checked_cost)
                cells.append(f"{extra} [{low}, {high}] ({row.checked_cost[0] / base:+.1%})")
        lines.append([backend, *cells])
    title = (
        "The checked call: derivatives() beyond the unchecked kernel, per call (goals: within "
        "1 us at N = 20 for compiled backends, 5 us for the others; within 2% from N = 1000):"
    )
    return "\n".join([title, *_columns(header, lines)])


def _columns(header, lines):
    """A table's lines: the header, a rule, the rows; the first column flush left, the
    others flush right."""
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells):
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(x) for x in lines)]


def _verdict(v):
    return f"{v.status} ({v.bound.text})"


def backend_order(backend):
    """The key that lists backends as the registry does (python first), others after."""
    known = kernels.BACKENDS
    return (known.index(backend) if backend in known else len(known), backend)


def _order(row):
    return (row.kind != "lecture", row.n, row.workload, backend_order(row.backend))
