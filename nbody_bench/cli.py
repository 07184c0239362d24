"""The `nbody-bench` command: every tool of the project, one subcommand each.

    nbody-bench try my_kernel.py:Nbody_derivatives    your own derivative, checked and timed
    nbody-bench report --storage .benchmarks --out report/
    nbody-bench gate build/gate-native.json
    nbody-bench ab HEAD~1
    nbody-bench --help                                  every subcommand, one line each

`python -m nbody_bench` is the same command.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from dataclasses import replace
from pathlib import Path

import kernels

from . import (
    ab,
    bisect,
    collect,
    gate,
    lecture,
    notebook,
    publish,
    recheck,
    render,
    sass,
    synthetic,
)
from .gate import GateConfigError, load_thresholds
from .results import ResultsError

# The tools with a module of their own: (name, module, one line for --help).
TOOLS = (
    ("gate", gate, "check a suite run's JSON against the bounds and targets in pyproject.toml"),
    ("ab", ab, "A/B: one commit against another (or the working tree), alternating"),
    ("bisect", bisect, "the first commit that made a benchmark slower (git bisect with A/B)"),
    ("recheck", recheck, "the compare's second look: A/B of what the history nominates"),
    ("sass", sass, "one pair of the cuda kernel in the GPU's machine code, counted (no GPU)"),
    ("notebook", notebook, "run the lecture's notebook through and write it executed"),
    ("render", render, "the docs' tables of figures, rendered from the recorded runs"),
    ("publish", publish, "a static site of saved runs: graphs over commits, machines, steps"),
    ("collect", collect, "copy saved runs into one folder per machine (results/runs/MACHINE/)"),
    ("synthetic", synthetic, "a history with this machine's noise, to try publish and its steps"),
)


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ResultsError, GateConfigError, kernels.BackendUnavailable, ValueError, OSError) as exc:
        print(f"nbody-bench {args.command}: {exc}", file=sys.stderr)
        return 1


def _parser():
    parser = argparse.ArgumentParser(
        prog="nbody-bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser("report", help="PNG plots and report.md from saved benchmark runs")
    report.add_argument(
        "--storage", default=".benchmarks", help="pytest-benchmark's storage folder"
    )
    report.add_argument("--out", default="report", help="folder to write (replaced as a whole)")
    report.add_argument(
        "--config",
        default="pyproject.toml",
        help="bounds and targets for the gate and target columns (skipped if the file is absent)",
    )
    report.add_argument(
        "--costs",
        action="store_true",
        help="measure what each backend costs to use (nbody-bench costs) into the report",
    )
    report.set_defaults(handler=_report)

    profile = commands.add_parser(
        "profile", help="the lecture's %%prun: cProfile of the 20-body run"
    )
    profile.add_argument("backend", choices=kernels.names())
    profile.add_argument("--top", type=int, default=15, help="functions to list (default 15)")
    profile.set_defaults(handler=_profile)

    costs = commands.add_parser(
        "costs",
        help="what each backend costs to use: first result, build, kernel lines, peak memory",
    )
    costs.add_argument(
        "--backend",
        action="append",
        choices=kernels.BACKENDS,
        help="measure only this backend (repeatable); default: every usable one",
    )
    costs.add_argument("--json", help="a suite run's JSON (--benchmark-json): add its speedups")
    costs.add_argument(
        "--n-memory",
        type=int,
        default=4000,
        help="bodies for the peak memory of one call (default 4000)",
    )
    costs.set_defaults(handler=_costs)

    trial = commands.add_parser(
        "try",
        help="check your own derivative against the exact answer, then time it beside the "
        "lecture's steps",
        description="Check FILE.py:FUNCTION (or module:function), written f(pos, vel) as "
        "the lecture's, reading M and N_bodies from its module (set here for each N), or "
        "f(pos, vel, mass), returning (dpdt, dvdt); then time it on the lecture's run. "
        "Exit status: 0 correct, 1 a check failed, 2 the function could not be had.",
    )
    trial.add_argument("target", metavar="FILE.py:FUNCTION")
    trial.add_argument(
        "--n",
        type=int,
        action="append",
        help="check at this N (repeatable; default: 1 2 3 20 100 1000)",
    )
    trial.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds one call may take before it counts as too slow (default 60)",
    )
    trial.add_argument(
        "--rounds", type=int, default=3, help="lecture runs per contender, best kept (default 3)"
    )
    trial.add_argument("--check-only", action="store_true", help="check; do not time")
    trial.add_argument("--json", type=Path, help="also write the checks and times here")
    trial.set_defaults(handler=_try)

    animate = commands.add_parser("animate", help="animated GIF of the lecture's 20-body run")
    animate.add_argument("backend", choices=kernels.names())
    animate.add_argument("--out", default="nbody.gif", help="GIF file to write")
    animate.add_argument("--fps", type=int, default=20, help="frames per second (default 20)")
    animate.set_defaults(handler=_animate)

    cluster = commands.add_parser(
        "cluster",
        help="the cluster the dask backend runs on, and its scale-out model measured there",
    )
    cluster.add_argument("--n", type=int, default=10000, help="bodies (default 10000)")
    cluster.add_argument("--calls", type=int, default=5, help="calls timed, the fastest kept")
    cluster.set_defaults(handler=_cluster)

    for name, module, summary in TOOLS:
        tool = commands.add_parser(
            name,
            help=summary,
            description=module.__doc__.split("\n\n")[0],
        )
        module.arguments(tool)
        tool.set_defaults(handler=module.command)
    return parser


def _report(args):
    from .report import write_report

    thresholds = load_thresholds(args.config) if Path(args.config).exists() else None
    costs = None
    if args.costs:
        from .costs import format_costs, measure, speedups_from

        def costs(latest):
            return format_costs(measure(kernels.available()), speedups_from(latest))

    written = write_report(args.storage, args.out, thresholds, costs)
    print(f"wrote {written} with {', '.join(sorted(p.name for p in written.parent.glob('*.png')))}")
    return 0


def _profile(args):
    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    backend = kernels.get(args.backend)
    kernel = backend.derivatives_into

    # Compiled kernels (Cython, f2py, Numba) are invisible to cProfile, which sees only
    # Python frames and built-in functions: a Python frame around the kernel makes its
    # calls and their time show up, compiled or not.
    def derivative(state, mass, rate):
        kernel(state, mass, rate)

    profiled = replace(backend, derivatives_into=derivative)
    state = lecture.state()
    # One short untimed run first, so Numba's compile and the pool's start-up stay out of it.
    short = {**lecture.TIMES, "tend": lecture.TIMES["tframe"]}
    kernels.run_rk2(*state, **short, backend=backend)
    profiler = cProfile.Profile()
    profiler.runcall(kernels.run_rk2, *state, **lecture.TIMES, backend=profiled)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    times = ", ".join(f"{k} {v:g}" for k, v in lecture.TIMES.items())
    print(f"Lecture workload on {args.backend}: {lecture.N} bodies, {times}")
    print(out.getvalue().rstrip())
    print()
    print("\n".join(time_split(stats, args.backend)))
    return 0


def time_split(stats, backend):
    """Where the run's time went, from the profile: the derivative against the rest."""
    calls, inside, total = 0, 0.0, 0.0
    for (filename, _, function), (_, ncalls, _, cumulative, _) in stats.stats.items():
        if filename == __file__ and function == "derivative":
            calls, inside = ncalls, cumulative
        elif function == "run_rk2":
            total = max(total, cumulative)
    if not calls or not total:
        return [f"{backend}: the profile recorded no derivative calls"]
    rest = total - inside
    return [
        f"Where the time goes (this profiled run, {total * 1e3:.1f} ms in run_rk2):",
        f"  the {backend} derivative: {calls} calls, {inside * 1e3:.1f} ms "
        f"({100 * inside / total:.0f}%), {1e6 * inside / calls:.2f} us a call",
        f"  the integrator around it (the Python RK2 loop, its NumPy calls, the checks): "
        f"{rest * 1e3:.1f} ms ({100 * rest / total:.0f}%)",
    ]


def _animate(args):
    from .animation import write_gif

    if args.fps < 1:
        raise ValueError(f"--fps must be at least 1, got {args.fps}")
    frames = kernels.run_rk2(*lecture.state(), **lecture.TIMES, backend=args.backend)
    path = write_gif(
        frames,
        Path(args.out),
        fps=args.fps,
        title=f"{lecture.N} bodies, midpoint RK2 ({args.backend})",
        tframe=lecture.TIMES["tframe"],
    )
    print(f"wrote {path}: {len(frames)} frames")
    return 0


def _cluster(args):
    from .scaleout import measure, project

    if args.n < 2 or args.calls < 1:
        raise ValueError(
            f"--n must be at least 2 and --calls at least 1, got {args.n}, {args.calls}"
        )
    model = measure(args.n, args.calls)
    for line in model.describe():
        print(line)
    print()
    for line in project(model):
        print(line)
    return 0


def _costs(args):
    from .costs import format_costs, measure, speedups_from

    if args.n_memory < 1:
        raise ValueError(f"--n-memory must be at least 1, not {args.n_memory}")
    speedups = speedups_from(args.json) if args.json else None
    chosen = args.backend or kernels.available()
    print(format_costs(measure(chosen, args.n_memory), speedups, args.n_memory))
    return 0


def _try(args):
    from .trial import SIZES, TrialError, run, write_json

    sizes = args.n or SIZES
    if any(n < 1 for n in sizes):
        raise ValueError(f"--n must be at least 1, not {min(sizes)}")
    if args.rounds < 1 or not args.time_limit > 0:
        raise ValueError("--rounds must be at least 1 and --time-limit positive")
    try:
        trial = run(args.target, sizes, args.time_limit, args.rounds, not args.check_only)
    except TrialError as exc:
        print(f"nbody-bench try: {exc}", file=sys.stderr)
        return 2
    if args.json:
        write_json(trial, args.json)
    return 0 if trial.correct else 1


if __name__ == "__main__":
    sys.exit(main())
