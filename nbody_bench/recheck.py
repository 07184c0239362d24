"""The compare's second look: a benchmark slower than in the last saved run is measured
again, against that run's own build, before the compare fails.

    python -m nbody_bench.recheck [--storage .benchmarks] [--threshold 0.1] [--portable]

`./dev compare` saves each suite run and compares it with the one before on the same
machine (pytest-benchmark's --benchmark-compare). Each benchmark there was timed alone,
seconds or minutes apart from its counterpart, and a burst of interference on a shared
machine slows every round of one benchmark by 1.3-1.9x: a fixed threshold on that
comparison either cries wolf or misses a real 20%. So the comparison only nominates, and
by each benchmark's own noise on record: its fastest round is set against the median of
its last saved runs (up to HISTORY), and it is nominated where it is slower by more than
`threshold` and by more than that benchmark's interquartile fence, Q3 + 1.5 IQR of how far
its earlier runs lay from the same median (as rustc-perf judges its runs; with fewer than
FENCE_FROM earlier runs, `threshold` alone). A benchmark whose runs swing by 50% is not
nominated for a 20% move, one that repeats within 2% is. The nominees are measured again
with the A/B check (`nbody_bench.ab`), the previous run's commit against the working
tree, alternating, and fail the compare only if A/B flags them; the pooled backends'
nominees run on one worker a side, as each holds a pool of its own on every core.

Where the previous run's build cannot be had (it ran on uncommitted changes, or its
commit is gone), the suspect is timed again on this build, in up to LOOKS fresh
processes, and compared with every earlier run's fastest round of it: confirmed only if
the fastest look is still slower than all of them by more than `threshold`.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

from . import ab, traits
from .history import saved_runs
from .results import ResultsError, load_run

HISTORY = 8  # earlier runs a benchmark is set against
FENCE_FROM = 4  # earlier runs needed for a fence of the benchmark's own
# Backends that run on a pool of processes or a cluster: one A/B worker a side, since each
# worker's pool takes every core.
POOLED = traits.POOLED


def fence(times):
    """How far above their median a benchmark's runs may lie from noise alone: the upper
    interquartile fence, Q3 + 1.5 IQR, of the runs' relative distances from the median.
    None with fewer than FENCE_FROM runs."""
    if len(times) < FENCE_FROM:
        return None
    middle = statistics.median(times)
    distances = sorted(t / middle - 1 for t in times)
    q1, _, q3 = statistics.quantiles(distances, n=4, method="inclusive")
    return q3 + 1.5 * (q3 - q1)


def suspects(runs, latest, threshold):
    """(benchmark id, slow-down, fence or None) for each benchmark of `latest` slower than
    the median of its earlier `runs` (the last HISTORY of them) by more than `threshold`
    and than its own fence."""
    found = []
    for row in latest.rows:
        name = f"{row.workload}[{row.backend}]"
        earlier = history_of(runs[-HISTORY:], name)
        if not earlier:
            continue
        slower = row.time / statistics.median(earlier) - 1
        noise = fence(earlier)
        if slower > threshold and (noise is None or slower > noise):
            found.append((name, slower, noise))
    return found


def slow_downs_of(run):
    """{backend: factor} of the suite's --slow-down in a saved run: the check of the check
    is applied when measuring again too, or it would vanish there."""
    factors = {}
    for entry in load_run(run.path)["benchmarks"]:
        info = entry.get("extra_info") or {}
        if "slowed_down" in info and "backend" in info:
            factors[str(info["backend"])] = float(info["slowed_down"])
    return factors


def history_of(runs, benchmark):
    """The fastest round of `benchmark` in each of `runs` that has it."""
    workload, backend = benchmark[:-1].split("[")
    return [
        r.time for run in runs for r in run.rows if (r.workload, r.backend) == (workload, backend)
    ]


def time_again(benchmark, slow_downs, blocks=9, block_seconds=0.2):
    """The fastest call of `benchmark` on this build over a few blocks, in seconds."""
    from .ab_worker import slowed_down
    from .workloads import workload  # imports kernels: this build's

    name, backend = benchmark[:-1].split("[")
    fn = slowed_down(workload(name, backend), slow_downs.get(backend, 1.0))
    fn()
    best = math.inf
    for _ in range(blocks):
        deadline = time.perf_counter() + block_seconds
        while True:
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
            if start > deadline:
                break
    return best


def recheck(storage, threshold, portable, ab_threshold, out=None):
    """0 if no slow-down is confirmed, 1 if one is; the report goes to `out` (stdout)."""
    out = out or sys.stdout
    runs = saved_runs(storage)
    machine = runs[-1].path.parent
    runs = [r for r in runs if r.path.parent == machine]
    if len(runs) < 2:
        print(f"recheck: one saved run in {machine}: nothing to compare with yet", file=out)
        return 0
    previous, latest = runs[-2], runs[-1]
    earlier = runs[:-1]
    nominated = suspects(earlier, latest, threshold)
    against = f"the median of the last {min(len(earlier), HISTORY)} saved run(s)"
    if not nominated:
        print(
            f"recheck: no benchmark is more than {threshold:.0%} and its own noise slower "
            f"than {against}: nothing to measure again",
            file=out,
        )
        return 0

    def said(benchmark, slower, noise):
        fenced = "" if noise is None else f", its fence +{noise:.0%}"
        return f"{benchmark} (+{slower:.0%}{fenced})"

    print(
        f"recheck: {len(nominated)} benchmark(s) more than {threshold:.0%} and their own noise "
        f"slower than {against}, measured again: " + ", ".join(said(*n) for n in nominated),
        file=out,
    )
    ids = [b for b, _, _ in nominated]
    slow_downs = slow_downs_of(latest)
    if not previous.dirty and previous.commit != "unknown":

        def ab_of(benchmarks, processes):
            args = argparse.Namespace(
                base=previous.commit,
                head=None,
                repo=None,
                portable=portable,
                k="",
                benchmark=benchmarks,
                threshold=ab_threshold,
                pairs=26,
                processes=processes,
                block=0.02,
                budget=ab.BUDGET,
                slow_down=slow_downs,
            )
            return ab.run(args)

        pooled = [b for b in ids if b[:-1].split("[")[1] in POOLED]
        others = [b for b in ids if b not in pooled]
        try:
            verdicts = []
            for benchmarks, processes in ((others, 4), (pooled, 1)):
                if benchmarks:
                    found, base, head = ab_of(benchmarks, processes)
                    verdicts += found
        except ab.ABError as exc:
            print(f"recheck: A/B against run {previous.label} failed ({exc})", file=out)
        else:
            print(ab.format_report(verdicts, base, head, ab_threshold), file=out)
            confirmed = [v.benchmark for v in verdicts if v.status == "slower"]
            for v in verdicts:  # neither confirmed nor cleared: said, not passed over
                if v.status == "skipped":
                    print(f"recheck: NOT measured again: {v.benchmark} ({v.note})", file=out)
            return _verdict(confirmed, f"A/B against {previous.commit}", out)
    confirmed = []
    for benchmark in ids:
        earlier = history_of(runs[:-1], benchmark)
        limit = max(earlier) * (1 + threshold)
        looks = []
        for _ in range(LOOKS):  # each in a process of its own, until one is within
            looks.append(time_in_a_fresh_process(benchmark, slow_downs))
            if looks[-1] <= limit:
                break
        again = min(looks)
        slower = again > limit
        print(
            f"recheck: {benchmark}: {again * 1e3:.4g} ms now (fastest of {len(looks)} "
            f"process(es)); earlier runs {min(earlier) * 1e3:.4g}-{max(earlier) * 1e3:.4g} "
            "ms: " + ("still slower" if slower else "within them: noise"),
            file=out,
        )
        if slower:
            confirmed.append(benchmark)
    return _verdict(confirmed, "timing again against the history", out)


# Without the previous build to alternate with, a suspect is timed again in up to LOOKS
# fresh processes, a few seconds apart: a process can start slow (where its arrays landed
# in memory, a neighbour's burst), and the suite's own run was one such process. Only a
# slow-down every look repeats is confirmed.
LOOKS = 3


def time_in_a_fresh_process(benchmark, slow_downs):
    """time_again(benchmark) in a new Python process on this build, in seconds."""
    script = (
        "import json, sys\n"
        "from nbody_bench.recheck import time_again\n"
        "print(time_again(sys.argv[1], json.loads(sys.argv[2])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, benchmark, json.dumps(slow_downs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"timing {benchmark} again failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def _verdict(confirmed, how, out):
    if confirmed:
        print(f"recheck: FAILED: slower, confirmed by {how}: {', '.join(confirmed)}", file=out)
        return 1
    print(f"recheck: passed: no slow-down confirmed by {how}", file=out)
    return 0


def arguments(parser):
    """The options of `nbody-bench recheck`."""
    parser.add_argument("--storage", type=Path, default=Path(".benchmarks"))
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.1,
        help="nominate benchmarks slower than the last saved run by more than this",
    )
    parser.add_argument(
        "--ab-threshold", type=float, default=0.05, help="the A/B check's threshold"
    )
    parser.add_argument("--portable", action="store_true", help="the portable build")


def command(args):
    """`nbody-bench recheck`: exit status 0 none confirmed, 1 a slow-down confirmed, 2 error."""
    try:
        return recheck(args.storage, args.threshold, args.portable, args.ab_threshold)
    except (ResultsError, ab.ABError) as exc:
        print(f"recheck: {exc}", file=sys.stderr)
        return 2


def main(argv=None):
    """`nbody-bench recheck` without the rest of the command (python -m nbody_bench.recheck),
    for nox sessions that run it from the source tree, where `kernels` is not built."""
    parser = argparse.ArgumentParser(
        prog="nbody-bench recheck", description=__doc__.split("\n\n")[0]
    )
    arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
