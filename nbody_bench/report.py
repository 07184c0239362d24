"""`nbody-bench report`: plots and a Markdown summary from the saved benchmark runs.

Everything is drawn into a fresh temporary folder beside the target and moved into place
only when all of it is written, so a failure never leaves a half-done report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import kernels

from . import formatting
from .files import folder_replaced
from .gate import evaluate
from .history import saved_runs
from .results import BASELINE, LIMIT, REFERENCE
from .summary import (
    format_checked_cost,
    format_crossover,
    format_gpu,
    format_table,
)

# The lecture's own figures, speedup over its original loop on the 20-body workload.
LECTURE_FIGURES = {"numpy": 20, "cython": 100, "fortran": 600}
LECTURE, WHOLE_RUN = "lecture", "lecture-whole-run"  # the suite's workload ids
PLOTS = {
    "scaling": "scaling.png",
    "speedup": "speedup.png",
    "history": "history.png",
}


def write_report(storage, out, thresholds=None, costs=None):
    """Write the PNGs and report.md for the runs in `storage` into folder `out`; with
    `thresholds` (gate.Thresholds), the table shows the gate's verdicts and the targets
    met or missed too; with `costs(latest_run_path)` (a function returning the Markdown
    table of nbody_bench.costs), the report has what each backend costs to use."""
    runs = saved_runs(storage)
    verdicts = evaluate(runs[-1].rows, thresholds) if thresholds else ()
    latest = runs[-1]
    with folder_replaced(out) as staging:
        plt = _pyplot()
        _plot_scaling(plt, latest, staging / PLOTS["scaling"])
        _plot_speedup(plt, latest, staging / PLOTS["speedup"])
        _plot_history(plt, runs, staging / PLOTS["history"])
        table = costs(latest.path) if costs else None
        (staging / "report.md").write_text(_markdown(runs, verdicts, table), encoding="utf-8")
    return Path(out) / "report.md"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: no display needed
    import matplotlib.pyplot as plt

    return plt


def _backends(rows):
    order = [*kernels.BACKENDS, REFERENCE]
    names = {r.backend for r in rows}
    return sorted(names, key=lambda b: (order.index(b) if b in order else len(order), b))


def _plot_scaling(plt, run, path):
    rows = [r for r in run.rows if r.kind == "derivative"]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    if not rows:
        _empty(ax, "no derivative benchmarks in the latest run")
    for backend in _backends(rows):
        points = sorted((r.n, r.time) for r in rows if r.backend == backend)
        ns, times = zip(*points, strict=True)
        style = {
            REFERENCE: {"color": "black", "linestyle": "--"},
            LIMIT: {"color": "black", "linestyle": ":"},
        }.get(backend, {})
        ax.plot(ns, np.array(times) * 1e3, marker="o", label=backend, **style)
    if rows:
        # N^2 guide through the slowest backend's smallest-N point.
        first = max((r for r in rows if r.n == min(r.n for r in rows)), key=lambda r: r.time)
        ns = np.array(sorted({r.n for r in rows}), dtype=float)
        ax.plot(
            ns,
            first.time * 1e3 * (ns / first.n) ** 2,
            color="grey",
            linestyle=":",
            label="N² guide",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("bodies N")
    ax.set_ylabel("time per derivative call (ms)")
    ax.set_title(f"One derivative call against N (run {run.label})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_speedup(plt, run, path):
    loop = {r.backend: r.speedup for r in run.rows if r.workload == LECTURE and r.speedup}
    whole = {r.backend: r.speedup for r in run.rows if r.workload == WHOLE_RUN and r.speedup}
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
    if not loop:
        _empty(ax, f"no lecture workload with a {BASELINE} baseline in the latest run")
    else:
        backends = _backends([r for r in run.rows if r.backend in loop])
        x = np.arange(len(backends))
        bars = [
            ("the Python RK2 loop", [loop[b] for b in backends], "tab:blue"),
            ("the whole run compiled", [whole.get(b, 0) for b in backends], "tab:green"),
            ("the lecture's figure", [LECTURE_FIGURES.get(b, 0) for b in backends], "tab:orange"),
        ]
        for k, (label, values, color) in enumerate(bars):
            drawn = ax.bar(x + (k - 1) * 0.27, values, width=0.27, color=color, label=label)
            ax.bar_label(
                drawn, labels=[formatting.speedup(v) if v else "" for v in values], fontsize=7
            )
        ax.set_xticks(x, backends, rotation=20, ha="right")
        ax.set_yscale("log")
        ax.axhline(1, color="grey", linewidth=0.8)
        ax.legend()
    ax.set_xlabel("backend")
    ax.set_ylabel(f"speedup over {BASELINE} (x, log scale)")
    ax.set_title(f"Lecture workload: 20 bodies, 2000 derivative calls (run {run.label})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_history(plt, runs, path):
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    x = np.arange(len(runs))
    lecture = [{r.backend: r.speedup for r in run.rows if r.workload == LECTURE} for run in runs]
    backends = _backends([r for run in runs for r in run.rows if r.workload == LECTURE])
    for backend in backends:
        values = [s.get(backend) for s in lecture]
        ax.plot(x, [np.nan if v is None else v for v in values], marker="o", label=backend)
    if not backends:
        _empty(ax, "no lecture workload in the saved runs")
    ax.set_xticks(x, [run.label for run in runs], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_xlabel("saved run (number, commit; + marks uncommitted changes)")
    ax.set_ylabel(f"lecture speedup over {BASELINE} (x, log scale)")
    ax.set_title("Speedup across saved runs")
    ax.grid(True, which="both", alpha=0.3)
    if backends:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _empty(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _markdown(runs, verdicts, costs=None):
    latest = runs[-1]
    cost_section = [
        "## What each backend costs to use",
        "",
        "Measured on this machine when the report was written (`nbody-bench costs`): the "
        "time to the first result in a fresh process, the compiler's time on the backend's "
        "extensions, lines of kernel code, and the peak memory of one call; the speedups "
        "are the latest run's.",
        "",
        costs,
        "",
    ]
    return "\n".join(
        [
            "# nbody-bench report",
            "",
            f"Latest run: `{latest.path.name}` (commit {latest.commit}"
            f"{', with uncommitted changes' if latest.dirty else ''}, {latest.when}); "
            f"{len(runs)} saved run(s) in all.",
            "",
            "## Summary of the latest run",
            "",
            f"Speedups are over the `{BASELINE}` baseline measured in the same run, each "
            "side timed by its fastest round. The `gate` column holds the CI gate's bounds "
            "(like-for-like ratios that hold on every machine); the `target` column the goals "
            "a slower CPU may miss, which never fail a run.",
            "",
            "```",
            format_table(latest.rows, verdicts),
            "",
            format_crossover(latest.rows),
            "",
            format_checked_cost(latest.rows),
            "",
            format_gpu(latest.rows),
            "```",
            "",
            "## Time per derivative call against N",
            "",
            f"![time per derivative call against N]({PLOTS['scaling']})",
            "",
            "## Lecture workload: speedup per backend",
            "",
            f"![lecture speedup per backend]({PLOTS['speedup']})",
            "",
            "## History",
            "",
            f"![speedup across saved runs]({PLOTS['history']})",
            "",
            *(cost_section if costs else []),
        ]
    )
