"""Bisect: the first commit between GOOD and BAD that made a benchmark slower.

    python -m nbody_bench.bisect GOOD BAD -k EXPR [--threshold 0.05] [--portable]

Drives `git bisect run` in a worktree of its own (build/bisect/tree, so the working
tree and its builds are left alone), judging each commit it stops at with the A/B check
(`nbody_bench.ab`) against GOOD: a commit is bad where a selected benchmark is flagged
slower by a second A/B (of what the first flagged, or left undecided: an interval reaching
over the threshold), good otherwise, and skipped (exit 125) where it cannot be built or
run. The tree keeps one meson build folder for the whole bisection, so a commit that changes only
Python files costs a reinstall, not a rebuild. Prints git's verdict, the A/B table of the
first bad commit, and exits 0 when it found one, 1 when it did not, 2 on an error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import ab


def step(argv):
    """One commit of the bisection, run by `git bisect run` in the tree: 0 good, 1 bad,
    125 skip (git's meanings)."""
    args = ab_arguments().parse_args(argv)
    args.head = f"tree:{os.getcwd()}"
    args.repo = Path(os.environ["NBODY_BENCH_BISECT_REPO"])
    args.slow_down = {}
    try:
        verdicts, base, head = ab.run(args)
    except ab.ABError as exc:
        print(f"bisect: skipping this commit: {exc}", file=sys.stderr)
        return 125
    print(ab.format_report(verdicts, base, head, args.threshold), flush=True)
    if all(v.status == "skipped" for v in verdicts):
        return 125
    # Either verdict can send the rest of the bisection the wrong way. A burst of load can
    # tilt one A/B into a "slower"; and a real slow-down near the threshold can leave the
    # interval straddling it ("same", yet reaching above 1 + threshold). Both are measured
    # again, with twice the pairs: the commit is bad only if the second look flags one.
    doubtful = [v.benchmark for v in verdicts if v.status == "slower" or undecided(v, args)]
    if not doubtful:
        return 0
    args.benchmark, args.k, args.pairs = doubtful, None, 2 * args.pairs
    try:
        verdicts, base, head = ab.run(args)
    except ab.ABError as exc:
        print(f"bisect: skipping this commit: {exc}", file=sys.stderr)
        return 125
    print("measured again:\n" + ab.format_report(verdicts, base, head, args.threshold), flush=True)
    return 1 if any(v.status == "slower" for v in verdicts) else 0


def undecided(verdict, args):
    """A "same" whose interval reaches above 1 + threshold: too few pairs to tell."""
    return verdict.status == "same" and verdict.ratio[2] > 1 + args.threshold


def ab_arguments(parser=None):
    """The A/B options every step of the bisection is run with."""
    if parser is None:
        parser = argparse.ArgumentParser(prog="nbody-bench bisect --step")
    parser.add_argument("base", help="GOOD: a commit without the slow-down")
    parser.add_argument("-k", default="", help="pytest-style selection of A/B benchmarks")
    parser.add_argument("--benchmark", action="append", metavar="WORKLOAD[BACKEND]")
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--pairs", type=int, default=26)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--block", type=float, default=0.02)
    parser.add_argument("--budget", type=float, default=ab.BUDGET)
    parser.add_argument("--portable", action="store_true")
    parser.add_argument(
        "--setup-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="a meson setup argument for every build, e.g. -Dpythran=disabled (repeatable)",
    )
    return parser


def bisect(good, bad, options, root):
    """Run the bisection in the repository at `root`; returns (first bad commit or None,
    git's output)."""
    commits = []
    for ref in (good, bad):
        try:
            commits.append(
                ab.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=root)
            )
        except ab.ABError as exc:
            raise ab.ABError(f"{ref!r} is not a commit of {root}") from exc
    good_sha, bad_sha = commits
    tree = root / "build" / "bisect" / "tree"
    if tree.exists():
        subprocess.run(["git", "bisect", "reset"], cwd=tree, capture_output=True)
        shutil.rmtree(tree)
    ab.git("worktree", "prune", cwd=root)
    ab.git("worktree", "add", "--detach", str(tree), bad_sha, cwd=root)
    ab.git("bisect", "start", bad_sha, good_sha, cwd=tree)
    # The step is this code, whatever the tree holds: -P keeps the tree's own nbody_bench
    # (the current folder) off sys.path, and PYTHONPATH puts this one first.
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "NBODY_BENCH_BISECT_REPO": str(root),
    }
    command = [sys.executable, "-P", "-m", "nbody_bench.bisect", "--step", good_sha, *options]
    done = subprocess.run(
        ["git", "bisect", "run", *command], cwd=tree, env=env, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    first = None
    for line in output.splitlines():
        if line.endswith("is the first bad commit"):
            first = line.split()[0]
    subprocess.run(["git", "bisect", "reset"], cwd=tree, capture_output=True)
    return first, output


def arguments(parser):
    """The options of `nbody-bench bisect`."""
    ab_arguments(parser)
    parser.add_argument("bad", help="BAD: a later commit with the slow-down")


def command(args):
    """`nbody-bench bisect GOOD BAD`: 0 found, 1 none found, 2 could not run."""
    if not (args.k or args.benchmark):
        print(
            "bisect: name the benchmark: -k EXPR or --benchmark WORKLOAD[BACKEND]",
            file=sys.stderr,
        )
        return 2
    options = ["-k", args.k] if args.k else []
    for benchmark in args.benchmark or ():
        options += ["--benchmark", benchmark]
    options += ["--threshold", str(args.threshold), "--pairs", str(args.pairs)]
    options += ["--block", str(args.block), "--processes", str(args.processes)]
    options += ["--budget", str(args.budget)]
    options += ["--portable"] if args.portable else []
    options += [f"--setup-arg={arg}" for arg in args.setup_arg]
    try:
        first, output = bisect(args.base, args.bad, options, ab.repository())
    except ab.ABError as exc:
        print(f"bisect: {exc}", file=sys.stderr)
        return 2
    print(output)
    if first is None:
        print("bisect: no first bad commit found (see git's output above)")
        return 1
    print(f"bisect: the first commit that made it slower: {first}")
    return 0


def main(argv=None):
    """`nbody-bench bisect ARGS`; and, as `python -m nbody_bench.bisect --step`, the step
    that `git bisect run` calls in each commit's tree (it must not import that tree's code)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--step"]:
        return step(argv[1:])
    parser = argparse.ArgumentParser(
        prog="nbody-bench bisect", description=__doc__.split("\n\n")[0]
    )
    arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
