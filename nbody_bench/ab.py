"""A/B: is HEAD slower than BASE? Two builds timed in alternation, so noise hits both.

    python -m nbody_bench.ab BASE [HEAD] [--portable] [-k EXPR] [--threshold 0.05]

Each side is built from its own source (a `git worktree` of the commit under build/ab/;
the working tree itself when HEAD is not given) into its own folder, and runs in
long-lived worker processes (`ab_worker.py`), four per side. For each benchmark a worker
of each side take turns in short blocks (26 pairs of about 20 ms each, in the order
A B, B A, A B, ..., the pairs shared among the four pairs of processes), each block
timed by its fastest call, so a burst of interference on the shared machine, which lasts
a second or more, falls on both sides of the pairs it touches and cancels in their ratio
(nbody_bench.paired), and what sets one process apart from another of the same build
moves only the ratios of its pairs (see `measure`). A benchmark of seconds a call gets two
pairs of processes and the pairs a minute allows, 10 at the least. Per benchmark the
report gives the median ratio HEAD/BASE of the pairs with its 95% interval (the sign
test's, free of any assumption on the noise).

A benchmark is flagged as a regression only where that whole interval lies above
1 + threshold: the slow-down is real (not noise) and larger than the threshold. The run
exits 1 if any is flagged, 2 if it could not run, else 0, so CI or a pre-push hook can
run it. Both workers run the limit kernel's variant BASE's process chose (NBODY_BENCH_SIMD),
so the two sides run the same code paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import formatting, traits
from .paired import Paired

WORKER = Path(__file__).with_name("ab_worker.py")
# The default set: the compiled backends and NumPy, on the workloads where the kernel and
# the Python loop around it each decide.
BACKENDS = ("numpy", "numba", "cython", "fortran", "c-reference", "simd")
DEFAULT_WORKLOADS = ("lecture", "lecture-whole-run", "derivative-n1000", "derivative-n4000")
PORTABLE = {"setup_args": ["-Dnative=false"], "env": {"NUMBA_CPU_NAME": "generic"}}
NATIVE = {"setup_args": [], "env": {}}


def default_benchmarks():
    """WORKLOAD[BACKEND] for the default workloads and backends. Not numpy's whole run,
    which it has not, nor its N = 4000: a 250 ms call through 1.2 GB of temporaries,
    one call a block, spread its pairs' ratios over 10% (a 95% interval 1.04-1.16 for a
    1.1x slow-down); N = 1000 and the lecture show its slow-downs."""
    left_out = {"lecture-whole-run[numpy]", "derivative-n4000[numpy]"}
    return [f"{w}[{b}]" for w in DEFAULT_WORKLOADS for b in BACKENDS if f"{w}[{b}]" not in left_out]


class ABError(RuntimeError):
    """The comparison could not run; the message says what failed and how to fix it."""


@dataclass(frozen=True)
class Side:
    label: str  # what the user named: a commit, or "working tree"
    key: str  # folder name under build/ab/
    source: Path  # what is built
    fixed: bool = False  # a commit's own worktree: built once, reused by later runs


@dataclass(frozen=True)
class Verdict:
    benchmark: str
    base: float  # median over the pairs of BASE's fastest call, seconds
    head: float
    ratio: tuple[float, float, float] | None  # median, low, high of HEAD/BASE
    status: str  # "slower", "faster", "same", "skipped"
    note: str = ""


def git(*args, cwd):
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ABError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def repository(path=None):
    """The top folder of the git repository holding `path` (default: the current one)."""
    try:
        return Path(git("rev-parse", "--show-toplevel", cwd=path or Path.cwd()))
    except ABError as exc:
        raise ABError(f"not in a git repository ({exc}); run from the project's checkout") from exc


def side_for(ref, build, root):
    """The Side for a commit-ish of the repository at `root`, or for its working tree when
    ref is None, or for a folder holding a checkout ("tree:PATH", as bisect gives)."""
    if ref is None:
        return Side("working tree", f"worktree-{build}", root)
    if ref.startswith("tree:"):
        source = Path(ref.removeprefix("tree:")).resolve()
        sha = git("rev-parse", "--short=12", "HEAD", cwd=source)
        return Side(f"{source.name} at {sha}", f"tree-{source.name}-{build}", source)
    try:
        sha = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=root)
    except ABError as exc:
        raise ABError(f"{ref!r} is not a commit of {root}") from exc
    source = root / "build" / "ab" / "src" / sha[:12]
    if not (source / ".git").exists():
        shutil.rmtree(source, ignore_errors=True)
        git("worktree", "prune", cwd=root)
        git("worktree", "add", "--detach", str(source), sha, cwd=root)
    return Side(f"{ref} ({sha[:12]})", f"{sha[:12]}-{build}", source, fixed=True)


def install(side, build, root, log):
    """Build side's project into build/ab/site/KEY (meson's folder kept for next time)."""
    site = root / "build" / "ab" / "site" / side.key
    stamp = site / ".ab-commit"
    commit = git("rev-parse", "HEAD", cwd=side.source)
    if side.fixed and stamp.exists() and stamp.read_text() == commit:
        return site
    shutil.rmtree(site, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
        "--target", str(site), f"-Cbuild-dir={root / 'build' / 'ab' / 'build' / side.key}",
        *(f"-Csetup-args={arg}" for arg in build["setup_args"]), str(side.source),
    ]  # fmt: skip
    print(f"ab: building {side.label} into {site.relative_to(root)}", file=log, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ABError(f"building {side.label} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    stamp.write_text(commit)
    return site


class Worker:
    """A worker process on one build; ask() sends a request and returns its answer."""

    def __init__(self, site, env, numba_cache):
        # Where a process's stack and heap start moves with the size of its environment,
        # and with it, by a few percent, the speed of a kernel for the process's whole life
        # (6.6% in 1 of 8 runs of a commit against itself, every process of one side: the
        # two sides' PYTHONPATHs differ in length). A padding of random length gives each
        # worker a layout of its own, so the four pairs of processes sample four.
        padding = "x" * random.randrange(4096)
        full = {
            **os.environ,
            **worker_threads(),
            **env,
            "PYTHONPATH": str(site),
            "NUMBA_CACHE_DIR": numba_cache,
            "NBODY_BENCH_AB_PADDING": padding,
        }
        # -P: the worker's own folder stays off sys.path (its bisect.py would shadow the
        # standard library's).
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=site,
            env=full,
        )

    def ask(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise ABError(f"a worker process ended (exit {self.process.wait()}); see its stderr")
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


def selected(benchmarks, expression):
    """The benchmarks a pytest-style -k expression picks ("numba and not n4000")."""
    if not expression:
        return list(benchmarks)
    from _pytest.mark.expression import Expression

    try:
        compiled = Expression.compile(expression)
    except SyntaxError as exc:
        raise ABError(f"-k {expression!r}: {exc}") from exc
    return [b for b in benchmarks if compiled.evaluate(lambda word, b=b: word in b)]


# A benchmark of seconds a call (the Python loop, multiprocessing, at N = 1000 or on the
# lecture) would take minutes at 26 pairs, and as long again to load in eight processes:
# it runs on two teams, with the pairs its time budget allows and no fewer than
# MIN_PAIRS. Where a process happens to lie moves microsecond kernels by a few percent, not
# seconds of Python; and fewer pairs give a wider interval: with 10, a slow-down is flagged
# only when 9 of the 10 ratios lie above 1 + threshold.
SLOW_CALL = 0.5  # seconds
BUDGET = 60.0  # seconds
MIN_PAIRS = 10


def measure(teams, workload, backend, pairs, block_seconds, slow_down, budget=math.inf):
    """Paired blocks of one benchmark, or the reason it cannot run.

    `teams` holds (BASE worker, HEAD worker) pairs of processes; pair k of blocks runs on
    team k % len(teams). A process can run one benchmark a few percent faster or slower
    than another process of the same build, for the whole of its life (where its arrays
    and code happen to lie; up to 8% measured, in 2 of 24 comparisons of a commit with
    itself): with the pairs spread over four teams, such an effect in one of them moves a
    quarter of the ratios, and the interval of the median (the 8th to the 19th of 26)
    stays with the other three, while a real slow-down moves all. (With two teams, one
    odd team moved the interval's end: it hid a 10% slow-down in 1 run of 5.) `budget`:
    the seconds the pairs may take, for benchmarks of SLOW_CALL or more a call.
    """
    keys, once = [], []
    for index, team in enumerate(teams):
        if index == 2 and max(once) >= SLOW_CALL:
            teams = teams[:2]
            break
        pin(team, index, backend)
        team_keys = []
        for worker, factor in zip(team, (1.0, slow_down), strict=True):
            answer = worker.ask(op="load", workload=workload, backend=backend, slow_down=factor)
            if "error" in answer:
                return answer["error"]
            team_keys.append(answer["key"])
            once.append(answer["once"])
        keys.append(team_keys)
    calls = max(1, int(block_seconds / max(once)))
    if max(once) >= SLOW_CALL:
        pairs = min(pairs, max(MIN_PAIRS, int(budget / (2 * calls * max(once)))))
    result = Paired()
    for k in range(pairs):
        team, team_keys = teams[k % len(teams)], keys[k % len(teams)]
        order = (0, 1) if (k // len(teams)) % 2 == 0 else (1, 0)
        best = {}
        for side in order:
            best[side] = team[side].ask(op="block", key=team_keys[side], calls=calls)["best"]
        result.a.append(best[0])
        result.b.append(best[1])
    return result


# Backends that run on more than the calling thread: their workers keep every CPU.
PARALLEL = traits.PARALLEL


def pin(team, index, backend):
    """Both workers of a team on one CPU (team k on the k-th usable CPU, round the CPUs),
    for a serial backend. A burst of interference can fall on one vCPU of a shared machine
    and not the other, for seconds: with the two sides' processes on different vCPUs,
    alternating in time would not cancel it (a commit against itself once measured one
    side's lecture[fortran] 1.45x slower in every pair). On one CPU, A and B share it."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    mask = set(cpus) if backend in PARALLEL else {cpus[index % len(cpus)]}
    for worker in team:
        # Every thread of the worker, not only its main one: a thread keeps the CPUs it
        # had when it started, and a runtime's threads started in an earlier benchmark
        # would run a parallel backend on one CPU (A/B once timed simd-parallel at
        # simd's speed that way); threads started later inherit the main thread's.
        for thread in threads_of(worker.process.pid):
            try:
                os.sched_setaffinity(thread, mask)
            except OSError:  # it ended meanwhile
                pass


def threads_of(pid):
    """The thread ids of process `pid` (Linux's /proc; elsewhere the process alone)."""
    try:
        return sorted(int(tid) for tid in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def worker_threads():
    """What each worker's environment sets for the parallel runtimes (a value already set
    stays):

    - NUMBA_NUM_THREADS, the CPUs this process may use. Numba fixes its thread count at
      import from the CPUs of the importing thread: a worker that imports numba for a
      serial benchmark, pinned to one CPU, would run numba-parallel on one thread for the
      rest of its life (A/B timed it at numba's speed, 1.56 ms against 1.53 ms at N = 1000,
      where the suite has 0.70 ms).
    - OMP_WAIT_POLICY=passive. An OpenMP thread done with its part spins for a while before
      it sleeps, and the two sides take turns: the side that just ran spins on a core the
      other side's threads need. Measured on 2 vCPUs (portable build, a commit against
      itself): numba-parallel at N = 4000 took 19.7 ms a call with the spinning and 11.8 ms
      without (the suite: 11.5 ms), and simd-parallel's interval at N = 1000 narrowed from
      [0.094, 3.728] to [0.993, 1.012].
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", str(cores or 1)),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive"),
    }


def judge(benchmark, paired, threshold):
    if isinstance(paired, str):
        return Verdict(benchmark, float("nan"), float("nan"), None, "skipped", paired)
    interval = paired.ratio()
    median_a = sorted(paired.a)[len(paired.a) // 2]
    median_b = sorted(paired.b)[len(paired.b) // 2]
    if interval.low > 1 + threshold:
        status = "slower"
    elif interval.high < 1 / (1 + threshold):
        status = "faster"
    else:
        status = "same"
    ratio = (interval.median, interval.low, interval.high)
    return Verdict(benchmark, median_a, median_b, ratio, status)


def format_report(verdicts, base, head, threshold):
    header = ["benchmark", "BASE", "HEAD", "HEAD/BASE [95% interval]", "verdict"]
    lines = []
    for v in verdicts:
        if v.ratio is None:
            lines.append([v.benchmark, "-", "-", "-", f"skipped: {v.note}"])
            continue
        median, low, high = v.ratio
        lines.append(
            [
                v.benchmark,
                formatting.duration(v.base),
                formatting.duration(v.head),
                f"{median:.3f} [{low:.3f}, {high:.3f}]",
                v.status.upper() if v.status == "slower" else v.status,
            ]
        )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]

    def fmt(cells):
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    slower = [v.benchmark for v in verdicts if v.status == "slower"]
    return "\n".join(
        [
            f"A/B: BASE {base}, HEAD {head}",
            fmt(header),
            fmt(["-" * w for w in widths]),
            *(fmt(x) for x in lines),
            f"slower: the whole 95% interval of HEAD/BASE lies above {1 + threshold:g}; "
            f"faster: below {1 / (1 + threshold):.3g}.",
            f"ab: {len(slower)} regression(s)" + (f": {', '.join(slower)}" if slower else ""),
        ]
    )


def run(args, log=sys.stderr):
    build_name = "portable" if args.portable else "native"
    build = PORTABLE if args.portable else NATIVE
    extra = list(getattr(args, "setup_arg", None) or ())
    if extra:  # another configuration of the build: its own sites and build folders
        build = {**build, "setup_args": [*build["setup_args"], *extra]}
        build_name += "-" + hashlib.sha1(" ".join(extra).encode()).hexdigest()[:8]
    root = repository(args.repo)
    base, head = side_for(args.base, build_name, root), side_for(args.head, build_name, root)
    sites = [install(base, build, root, log), install(head, build, root, log)]
    benchmarks = default_benchmarks()
    if args.benchmark:
        benchmarks = list(args.benchmark)
    benchmarks = selected(benchmarks, args.k)
    if not benchmarks:
        raise ABError(f"-k {args.k!r} selects none of the benchmarks")
    # Numba's cache: one per side, empty at the start, so both sides compile their kernels
    # afresh in their first pair of workers and load them in the others (code loaded from
    # the cache and code just compiled ran 8% apart in the portable build, and a rebuilt
    # side would otherwise have no cache while the other had one).
    caches = [tempfile.TemporaryDirectory(prefix="ab-numba-") for _ in range(3)]
    probe = Worker(sites[0], build["env"], caches[2].name)
    variant = probe.ask(op="describe").get("simd")
    probe.close()
    env = dict(build["env"])
    if variant and "NBODY_BENCH_SIMD" not in os.environ:
        env["NBODY_BENCH_SIMD"] = variant
    teams = [
        tuple(Worker(site, env, cache.name) for site, cache in zip(sites, caches, strict=False))
        for _ in range(args.processes)
    ]
    workers = [worker for team in teams for worker in team]
    for worker, site in zip(workers, sites * args.processes, strict=True):
        found = Path(worker.ask(op="describe")["kernels"])
        if not found.is_relative_to(site):
            for w in workers:
                w.close()
            raise ABError(
                f"the worker for {site.name} imported kernels from {found}, not from its "
                "build: an installed nbody-bench (an editable install, say) shadows it; run "
                "through ./dev ab, whose environment has the dependencies only"
            )
    verdicts = []
    try:
        for benchmark in benchmarks:
            found = re.fullmatch(r"(.+)\[(.+)\]", benchmark)
            if found is None:
                raise ABError(f"benchmark {benchmark!r} is not WORKLOAD[BACKEND]")
            workload, backend = found.groups()
            factor = args.slow_down.get(backend, 1.0)
            paired = measure(teams, workload, backend, args.pairs, args.block, factor, args.budget)
            verdicts.append(judge(benchmark, paired, args.threshold))
            fewer = not isinstance(paired, str) and len(paired.a) < args.pairs
            print(
                f"ab: {benchmark}: {verdicts[-1].status}"
                + (f" ({len(paired.a)} pairs: seconds a call)" if fewer else ""),
                file=log,
                flush=True,
            )
    finally:
        for worker in workers:
            worker.close()
        for cache in caches:
            cache.cleanup()
    return verdicts, base.label, head.label


def _slow_downs(values):
    factors = {}
    for value in values:
        backend, _, factor = value.partition("=")
        try:
            factors[backend] = float(factor)
        except ValueError:
            factors[backend] = float("nan")
        if not factors[backend] >= 1:
            raise ABError(f"--slow-down {value!r}: give BACKEND=FACTOR with a factor of at least 1")
    return factors


def arguments(parser):
    """The options of `nbody-bench ab`."""
    parser.add_argument("base", help="the commit to compare against (any git commit-ish)")
    parser.add_argument("head", nargs="?", help="the commit to judge (default: the working tree)")
    parser.add_argument(
        "--portable", action="store_true", help="the portable build (-Dnative=false)"
    )
    parser.add_argument("-k", default="", help="pytest-style selection, e.g. 'numba and n1000'")
    parser.add_argument(
        "--benchmark",
        action="append",
        metavar="WORKLOAD[BACKEND]",
        help="benchmarks to run instead of the default set, e.g. 'checked-n20[cython]'",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.05,
        help="flag a slow-down whose 95%% interval lies above 1 + this (default 0.05)",
    )
    parser.add_argument(
        "--pairs", type=int, default=26, help="pairs of blocks per benchmark (default 26)"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=4,
        help="worker processes per side, the pairs shared among them (default 4)",
    )
    parser.add_argument(
        "--block", type=float, default=0.02, help="seconds per block (default 0.02)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET,
        help=f"seconds for the pairs of a benchmark of seconds a call (default {BUDGET:g}; "
        f"at least {MIN_PAIRS} pairs)",
    )
    parser.add_argument(
        "--slow-down",
        action="append",
        default=[],
        metavar="BACKEND=FACTOR",
        help="check the check: make HEAD's BACKEND FACTOR times slower (busy-waiting)",
    )
    parser.add_argument(
        "--setup-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="a meson setup argument for both builds, e.g. -Dpythran=disabled (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the verdicts to this JSON file")
    parser.add_argument(
        "--repo", type=Path, help="the repository (default: the one of the current folder)"
    )


def command(args):
    """`nbody-bench ab`: exit status 0 no slow-down, 1 one found, 2 could not run."""
    try:
        args.slow_down = _slow_downs(args.slow_down)
        machine = _machine_key(args) if args.json else None  # before the minutes of the A/B
        verdicts, base, head = run(args)
    except ABError as exc:
        print(f"ab: {exc}", file=sys.stderr)
        return 2
    print(format_report(verdicts, base, head, args.threshold))
    if args.json:  # written whole or not at all
        partial = args.json.with_name(f".{args.json.name}.partial")
        partial.write_text(json.dumps(as_json(verdicts, base, head, args, machine), indent=1))
        partial.replace(args.json)
    return 1 if any(v.status == "slower" for v in verdicts) else 0


def _machine_key(args):
    """This machine's key (nbody_bench.machines) for the build the A/B times."""
    try:
        from .machines import this_machine

        return this_machine("portable" if args.portable else "native").key
    except ImportError as exc:  # py-cpuinfo, which pytest-benchmark brings
        raise ABError(f"--json needs py-cpuinfo to name the machine ({exc})") from exc


def as_json(verdicts, base, head, args, machine=None):
    """What --json writes: the verdicts, with the two sides, the build and the machine
    (`nbody-bench publish` shows the latest of these files it is given)."""
    from datetime import UTC, datetime

    from .history import AB_KIND

    build = "portable" if args.portable else "native"
    return {
        "kind": AB_KIND,
        "base": base,
        "head": head,
        "threshold": args.threshold,
        "build": build,
        "machine": machine or _machine_key(args),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "verdicts": [v.__dict__ for v in verdicts],
    }


def main(argv=None):
    """`nbody-bench ab` without the rest of the command (python -m nbody_bench.ab),
    for nox sessions that run it from the source tree, where `kernels` is not built."""
    parser = argparse.ArgumentParser(prog="nbody-bench ab", description=__doc__.split("\n\n")[0])
    arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
