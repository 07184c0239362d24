"""Synthetic histories with this project's noise: for the step detector's checks, the
dashboard's browser test and the measurement of how fast `nbody-bench publish` builds.

The noise is the one these shared 2-vCPU machines show (docs/calibration.md): interference
only ever adds time, a few percent from run to run on a benchmark's fastest round, and
in bursts every round of a benchmark runs 1.3-1.9x slower, so that run's figure is too.

    nbody-bench synthetic --runs 100 --benchmarks 150 --out build/synthetic

writes such a history as saved pytest-benchmark runs, one folder per machine.
"""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

JITTER = 0.03  # the scale of the run-to-run excess of a fastest round
BURST_CHANCE = 0.1  # a run of one benchmark caught in a burst of interference
BURST = (1.3, 1.9)  # how much slower every round of it then runs


def noisy(base, runs, rng, step_at=None, step=1.0):
    """`runs` fastest-round times of one benchmark around `base` seconds, each slower than
    the code's own cost by this machine's noise; from run `step_at` on, `step` times slower."""
    times = np.full(runs, float(base))
    if step_at is not None:
        times[step_at:] *= step
    times *= 1 + JITTER * np.abs(rng.standard_normal(runs))
    bursts = rng.random(runs) < BURST_CHANCE
    times[bursts] *= rng.uniform(*BURST, size=bursts.sum())
    return times


# Workloads and backends of the suite's kind, with a cost per pair interaction (seconds)
# that puts each at its usual distance from the baseline.
BACKENDS = {
    "python": 3e-7,
    "numpy": 6e-9,
    "numba": 1.1e-9,
    "cython": 1.2e-9,
    "fortran": 1.1e-9,
    "c-reference": 1.0e-9,
    "simd": 2.5e-10,
    "simd-parallel": 1.4e-10,
    "numba-parallel": 6e-10,
    "multiprocessing": 2e-7,
}
SIZES = (20, 50, 100, 200, 400, 700, 1000, 2000, 3000, 4000, 7000, 10000, 20000, 40000, 100000)
COMMIT_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def commit_id(i):
    return f"{i + 1:07x}{'0' * 33}"


def history(runs=100, benchmarks=150, seed=0, step_at=None, step=1.2, stepped=("numba",)):
    """Saved runs as pytest-benchmark writes them (dicts), one commit each, oldest first.

    `benchmarks` of the suite's shape (backend x N of the derivative), each with this
    machine's noise; with `step_at`, the backends in `stepped` turn `step` times slower
    from that run (that commit) on."""
    rng = np.random.default_rng(seed)
    cases = [(b, n) for n in SIZES for b in BACKENDS][:benchmarks]
    if len(cases) < benchmarks:
        raise ValueError(f"at most {len(cases)} synthetic benchmarks, not {benchmarks}")
    times = {
        (b, n): noisy(
            BACKENDS[b] * n * (n - 1) / 2 + 2e-6,
            runs,
            rng,
            step_at if b in stepped else None,
            step,
        )
        for b, n in cases
    }
    out = []
    for i in range(runs):
        committed = COMMIT_TIME + timedelta(hours=6 * i)
        entries = []
        for b, n in cases:
            t = float(times[b, n][i])
            info = {"workload": f"derivative-n{n}", "kind": "derivative", "backend": b,
                    "n": n, "calls": 1, "cores": 2, "build": "native"}  # fmt: skip
            entries.append(
                {
                    "group": None,
                    "name": f"test_derivative[{b}-{n}]",
                    "fullname": f"bench/test_derivative.py::test_derivative[{b}-{n}]",
                    "params": {"backend": b, "n": n},
                    "extra_info": info,
                    "stats": {"min": t, "median": t * 1.02, "mean": t * 1.03, "rounds": 5},
                }
            )
        out.append(
            {
                "machine_info": copy.deepcopy(MACHINE),
                "commit_info": {
                    "id": commit_id(i),
                    "time": committed.isoformat(),
                    "dirty": False,
                    "branch": "main",
                },
                "benchmarks": entries,
                "datetime": (committed + timedelta(minutes=20)).isoformat(),
                "version": "5.1.0",
            }
        )
    return out


MACHINE = {
    "node": "synthetic",
    "machine": "x86_64",
    "system": "Linux",
    "cpu": {
        "brand_raw": "Synthetic CPU",
        "vendor_id_raw": "AuthenticAMD",
        "family": 25,
        "model": 17,
        "count": 2,
        "flags": ["avx", "avx2", "fma", "avx512f"],
    },
}


def write(runs, folder):
    """`runs` into `folder` as pytest-benchmark's storage names them (NNNN_<commit>.json)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("[0-9][0-9][0-9][0-9]_*.json"):  # a history written before
        old.unlink()
    for i, run in enumerate(runs, 1):
        path = folder / f"{i:04d}_{run['commit_info']['id'][:7]}.json"
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(run), encoding="utf-8")
        os.replace(partial, path)
    return folder


def arguments(parser):
    parser.add_argument("--runs", type=int, default=100, help="runs (commits), default 100")
    parser.add_argument("--benchmarks", type=int, default=150, help="benchmarks a run, default 150")
    parser.add_argument("--seed", type=int, default=0, help="the noise's seed, default 0")
    parser.add_argument(
        "--step-at", type=int, help="the run from which numba is --step times slower"
    )
    parser.add_argument("--step", type=float, default=1.2, help="the planted step, default 1.2")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="the folder to write the history into")
    where.add_argument(
        "--trials",
        type=int,
        help="instead, run the step detector on this many histories of --runs points with "
        "--step planted at a random run, and as many flat ones, and print what it found",
    )


def trials(count, runs=100, step=1.2, seed=0):
    """(planted steps found inside the reported range, histories with a step reported
    elsewhere, flat histories with any step, mean width of the range found) over `count`
    noisy histories of `runs` points with `step` planted, and `count` flat ones."""
    from . import steps

    found = elsewhere = flagged = width = 0
    for i in range(count):
        rng = np.random.default_rng(seed + i)
        at = int(rng.integers(2 * steps.MIN_RUNS, runs - 2 * steps.MIN_RUNS))
        reported = steps.detect(noisy(1.0, runs, rng, at, step))
        hits = [s for s in reported if s.since < at <= s.at]
        found += bool(hits)
        width += sum(s.at - s.since for s in hits[:1])
        elsewhere += len(hits) < len(reported)
        flagged += bool(steps.detect(noisy(1.0, runs, np.random.default_rng(seed + count + i))))
    return found, elsewhere, flagged, width / max(found, 1)


def command(args):
    if args.trials:
        found, elsewhere, flagged, width = trials(args.trials, args.runs, args.step, args.seed)
        n = args.trials
        print(
            f"synthetic: a {args.step:g}x step planted in {n} histories of {args.runs} runs: "
            f"found within its reported range in {found} ({found / n:.1%}; the range "
            f"{width:.2f} commits wide on average), a step reported elsewhere in {elsewhere}; "
            f"{flagged} of {n} flat histories had a step ({flagged / n:.1%})"
        )
        return 0
    runs = history(args.runs, args.benchmarks, args.seed, args.step_at, args.step)
    folder = write(runs, args.out / "synthetic-native")
    print(f"synthetic: {len(runs)} runs of {args.benchmarks} benchmarks in {folder}")
    return 0
