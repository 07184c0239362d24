"""The docs' tables of measured figures, rendered from runs recorded in the repository.

    nbody-bench render            redraw every table in README.md and docs/*.md
    nbody-bench render --check    exit 1, naming each table that differs from its run

No measured figure in the docs is typed by hand. A page asks for a table with a pair of
marker lines, and this command writes the table between them:

    <!-- render: backends -->
    <!-- /render -->

A marker may name its run: `<!-- render: backends results/intel-avx512-2cpu-native.json -->`;
without one it takes the run named by `[tool.nbody-bench.docs] run` in pyproject.toml. The
runs are pytest-benchmark JSON files written by `./dev record` (the whole suite) into
results/; the gate runs behind the calibration table are in results/calibration/; the
fresh clone's CI times (written by `.ci/run` to build/ci-times.json) in
results/ci-times.json. Each table ends with the machine and commit it came from.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import kernels

from . import formatting
from .gate import evaluate, load_thresholds
from .machines import identify
from .results import (
    BASELINE,
    REFERENCE,
    ResultsError,
    fraction_of,
    limit_for,
    load_run,
    rows_from,
)
from .summary import format_checked_cost, format_crossover, format_gpu

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- render: (?P<name>[a-z-]+)(?: (?P<run>\S+))? -->$")
END = "<!-- /render -->"
PAGES = ("README.md", "docs/*.md")


class RenderError(ValueError):
    """A marker, a page or a recorded run that cannot be rendered, named with its place."""


@dataclass(frozen=True)
class Recorded:
    """One recorded run: its rows and where it was made."""

    path: Path
    rows: list
    machine: str
    commit: str
    date: str

    @classmethod
    def load(cls, path):
        run = load_run(path)
        return cls(Path(path), rows_from(run["benchmarks"]), *_provenance(run))

    def footer(self, root, page):
        return (
            f"Recorded by `./dev record` on {self.machine}, commit {self.commit}, {self.date}: "
            f"{_link(self.path, root, page)}."
        )


# The widest vector unit a CPU has, by its flag (py-cpuinfo's, as pytest-benchmark records).
VECTOR_UNITS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("neon", "NEON"), ("asimd", "NEON"))


def _provenance(run):
    machine = run.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    brand = _cpu_description(cpu, machine.get("processor"))
    cores = cpu.get("count")
    info = run["benchmarks"][0].get("extra_info", {}) if run["benchmarks"] else {}
    build = info.get("build")
    what = (
        f"{brand}" + (f", {cores} cores" if cores else "") + (f", {build} build" if build else "")
    )
    commit = run.get("commit_info") or {}
    sha = (commit.get("id") or "unknown")[:10] + (
        " (uncommitted changes)" if commit.get("dirty") else ""
    )
    date = (run.get("datetime") or "an unknown date")[:10]
    return what, sha, date


def _cpu_description(cpu, processor=None):
    """'AMD EPYC (family 25 model 17, AVX-512)' from py-cpuinfo's reading of a CPU."""
    brand = cpu.get("brand_raw") or processor or "an unnamed CPU"
    if "family" in cpu and "model" in cpu:
        flags = set(cpu.get("flags") or ())
        vector = next((v for f, v in VECTOR_UNITS if f in flags), None)
        brand += f" (family {cpu['family']} model {cpu['model']}" + (
            f", {vector})" if vector else ")"
        )
    return brand


def _link(path, root, page):
    """A Markdown link to path, from the page (relative to root)."""
    target = os.path.relpath(Path(path).resolve(), (root / page).resolve().parent)
    return f"[{_relative(path, root)}]({Path(target).as_posix()})"


def _relative(path, root):
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _markdown(header, lines, right_from=1):
    """A Markdown table: the first right_from columns flush left, the rest flush right."""
    rule = [":---" if i < right_from else "---:" for i in range(len(header))]
    return "\n".join(
        "| " + " | ".join(str(c) for c in cells) + " |" for cells in (header, rule, *lines)
    )


def _ordered(rows):
    known = kernels.BACKENDS
    return sorted(
        rows, key=lambda r: (known.index(r.backend) if r.backend in known else 99, r.backend)
    )


def _by(rows, workload):
    return {r.backend: r for r in rows if r.workload == workload}


def _derivative_sizes(rows):
    return sorted({r.n for r in rows if r.kind == "derivative"})


def backends(run):
    """One row per backend: the lecture's run, its speedup, and the derivative at N = 1000
    against python and as a percentage of the C reference and of the limit kernel."""
    lecture, n1000 = _by(run.rows, "lecture"), _by(run.rows, "derivative-n1000")
    header = [
        "backend",
        "lecture run",
        f"vs {BASELINE}",
        f"N = 1000 vs {BASELINE}",
        "% of C reference",
        "% of limit",
    ]
    lines = []
    for backend in [b for b in kernels.BACKENDS if b in lecture or b in n1000]:
        row, big = lecture.get(backend), n1000.get(backend)
        of_ref = fraction_of(run.rows, big, REFERENCE) if big else None
        of_limit = fraction_of(run.rows, big, limit_for(backend)) if big else None
        lines.append(
            [
                f"`{backend}`",
                formatting.duration(row.time) if row else "-",
                formatting.speedup(row.speedup, 3) if row and row.speedup else "-",
                formatting.speedup(big.speedup, 3) if big and big.speedup else "-",
                formatting.percent(of_ref) if of_ref is not None else "-",
                formatting.percent(of_limit) if of_limit is not None else "-",
            ]
        )
    return _markdown(header, lines)


def lecture(run):
    """The lecture's steps: its run as written (checked calls through the lecture's own
    driver), through run_rk2's loop, and whole in compiled code, against the lecture's
    claims."""
    from .lecture import CLAIMS

    written, loop = _by(run.rows, "lecture-as-written"), _by(run.rows, "lecture")
    whole = _by(run.rows, "lecture-whole-run")
    header = ["backend", "the lecture claims", "as written", "run_rk2's loop", "whole run"]
    lines = []
    for backend in [b for b in kernels.BACKENDS if b in written or b in loop]:
        cells = [
            f"`{backend}`",
            formatting.speedup(CLAIMS[backend], 3) if backend in CLAIMS else "-",
        ]
        for table in (written, loop, whole):
            row = table.get(backend)
            cells.append(
                f"{formatting.speedup(row.speedup, 3)} ({formatting.duration(row.time)})"
                if row and row.speedup
                else "-"
            )
        lines.append(cells)
    return _markdown(header, lines, right_from=1)


def derivative(run):
    """Speedup over python of one derivative call, per backend and N."""
    sizes = _derivative_sizes(run.rows)
    cells = {(r.backend, r.n): r for r in run.rows if r.kind == "derivative"}
    header = ["backend", *(f"N = {n}" for n in sizes)]
    lines = []
    for backend in kernels.BACKENDS:
        if not any((backend, n) in cells for n in sizes):
            continue
        row = [f"`{backend}`"]
        for n in sizes:
            r = cells.get((backend, n))
            if r is None or r.speedup is None:
                row.append("-" if r is None else formatting.duration(r.time))
            else:
                row.append(("~" if r.speedup_estimated else "") + formatting.speedup(r.speedup, 3))
        lines.append(row)
    note = (
        f"\n\n~: the {BASELINE} baseline is not run at this N; its time is scaled from the "
        "largest N it ran at by the number of pairs."
        if any(r.speedup_estimated for r in run.rows)
        else ""
    )
    return _markdown(header, lines) + note


def limit(run):
    """Speed as a percentage of the limit kernel's (simd; simd-parallel for parallel
    variants), per backend and N."""
    sizes = _derivative_sizes(run.rows)
    cells = {(r.backend, r.n): r for r in run.rows if r.kind == "derivative"}
    header = ["backend", *(f"N = {n}" for n in sizes)]
    lines = []
    for backend in kernels.BACKENDS:
        fractions = [
            fraction_of(run.rows, cells[backend, n], limit_for(backend))
            if (backend, n) in cells
            else None
            for n in sizes
        ]
        if all(f is None for f in fractions):
            continue
        lines.append(
            [f"`{backend}`", *("-" if f is None else formatting.percent(f) for f in fractions)]
        )
    return _markdown(header, lines)


def _text(block):
    return f"```text\n{block}\n```" if block else "No such benchmarks in this run."


def parallel(run):
    """Parallel variants against their serial twins, per N (summary.format_crossover)."""
    return _text(format_crossover(run.rows))


def checked_cost(run):
    """What the checked call adds to the kernel (summary.format_checked_cost)."""
    return _text(format_checked_cost(run.rows))


def gpu(run):
    """The GPU benchmarks (summary.format_gpu); none where the run had no GPU."""
    if not any(r.workload.startswith("gpu-") for r in run.rows):
        return "This run had no GPU: no GPU figures are recorded yet."
    return _text(format_gpu(run.rows))


TABLES: dict[str, Callable] = {
    "backends": backends,
    "lecture": lecture,
    "derivative": derivative,
    "limit": limit,
    "parallel": parallel,
    "checked-cost": checked_cost,
    "gpu": gpu,
}


def calibration(root, page):
    """Each gate bound against the worst figure the recorded gate runs measured for it,
    per build (results/calibration/*.json), and the margin between them."""
    runs = sorted((root / "results" / "calibration").glob("*.json"))
    if not runs:
        raise RenderError("results/calibration/ holds no gate runs to render the table from")
    thresholds = load_thresholds(root / "pyproject.toml", kernels.BACKENDS)
    worst: dict[tuple, dict[str, list]] = {}
    where = []
    for path in runs:
        run = Recorded.load(path)
        build = next((r.build for r in run.rows if r.build), "native")
        where.append(f"{_link(path, root, page)} ({run.machine}, commit {run.commit})")
        for v in evaluate(run.rows, thresholds):
            if v.bound.kind == "target" or v.measured is None:
                continue
            key = (v.workload, v.backend, v.bound.text)
            worst.setdefault(key, {}).setdefault(build, []).append(v)
    header = [
        "workload",
        "backend",
        "bound",
        "worst native (runs)",
        "worst portable (runs)",
        "margin",
    ]
    lines = []
    for (workload, backend, text), builds in sorted(worst.items(), key=_calibration_order):
        cells, margins = [workload, f"`{backend}`", text], []
        for build in ("native", "portable"):
            found = builds.get(build, [])
            if not found:
                cells.append("-")
                continue
            bound = found[0].bound
            values = [v.measured for v in found]
            value = max(values) if bound.upper else min(values)
            margins.append(bound.value / value if bound.upper else value / bound.value)
            cells.append(f"{value:.3g} ({len(values)})")
        cells.append(f"{min(margins):.2f}" if margins else "-")
        lines.append(cells)
    table = _markdown(header, lines, right_from=3)
    return (
        f"{table}\n\nmargin: the worst figure over the bound (the bound over the worst, for "
        "an upper bound); below 1 the bound broke in a first measurement, which the confirm "
        "step then re-measured.\n\nFrom the gate runs " + ", ".join(where) + "."
    )


def _calibration_order(item):
    (workload, backend, text), _ = item
    n = int(workload.rsplit("-n", 1)[1]) if "-n" in workload else 0
    known = kernels.BACKENDS
    return (n, workload, known.index(backend) if backend in known else 99, text)


def setup_times(root, page):
    """How long the fresh clone's CI took, phase by phase (results/ci-times.json)."""
    path = root / "results" / "ci-times.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        phases = record["phases"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RenderError(f"{path}: no CI times to render ({exc})") from exc
    lines = [[f"`{name}`", f"{seconds / 60:.1f} min"] for name, seconds in phases.items()]
    total = sum(phases.values())
    lines.append(["in all (`.ci/run`)", f"{total / 60:.1f} min"])
    return (
        _markdown(["on a fresh clone", "took"], lines)
        + f"\n\nMeasured by `.ci/run` on {record.get('machine', 'an unnamed machine')}, "
        f"commit {str(record.get('commit', 'unknown'))[:10]}, {record.get('date', '')}: "
        f"{_link(path, root, page)}."
    )


def write_ci_times(path, phases):
    """Record a CI run's phases (name: seconds) with this machine and commit, atomically."""
    import cpuinfo  # py-cpuinfo, which pytest-benchmark reads machine_info with

    cpu = _cpu_description(cpuinfo.get_cpu_info())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    record = {
        "phases": dict(phases),
        "machine": f"{cpu}, {cores} cores",
        "commit": commit.stdout.strip() or "unknown",
        "date": datetime.date.today().isoformat(),
    }
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    partial.replace(path)


OWN_SOURCES: dict[str, Callable] = {"calibration": calibration, "setup-times": setup_times}
NAMES = (*TABLES, *OWN_SOURCES)


def default_run(root):
    """The run a marker without one renders: [tool.nbody-bench.docs] run in pyproject.toml."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        return root / config["tool"]["nbody-bench"]["docs"]["run"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise RenderError(
            "pyproject.toml: no [tool.nbody-bench.docs] run = 'results/RUN.json' to render from"
        ) from exc


def render_page(text, page, root, runs):
    """The page with every marked table drawn anew; runs caches the loaded runs by path."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        i += 1
        found = MARKER.match(line.strip())
        if not found:
            continue
        name, run_path = found["name"], found["run"]
        where = f"{page}:{i}"
        if name not in NAMES:
            raise RenderError(f"{where}: no table named {name!r}; there are {', '.join(NAMES)}")
        end = next((j for j in range(i, len(lines)) if lines[j].strip() == END), None)
        if end is None:
            raise RenderError(f"{where}: the table {name!r} has no closing {END}")
        if name in OWN_SOURCES:
            body = OWN_SOURCES[name](root, page)
        else:
            path = root / run_path if run_path else default_run(root)
            if path not in runs:
                try:
                    runs[path] = Recorded.load(path)
                except ResultsError as exc:
                    raise RenderError(f"{where}: {exc}") from exc
            body = f"{TABLES[name](runs[path])}\n\n{runs[path].footer(root, page)}"
        out += ["", body, ""]
        out.append(lines[end])
        i = end + 1
    return "\n".join(out)


def pages(root):
    found = []
    for pattern in PAGES:
        found += sorted(root.glob(pattern))
    return found


def render(root=ROOT, check=False, out=sys.stdout):
    """Render every page; with check, write nothing and return the pages that differ."""
    runs, differ = {}, []
    for path in pages(root):
        page = _relative(path, root)
        text = path.read_text(encoding="utf-8")
        drawn = render_page(text, page, root, runs)
        if drawn == text:
            continue
        differ.append(page)
        if not check:  # written whole or not at all
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(drawn, encoding="utf-8")
            partial.replace(path)
            print(f"render: redrew {page}", file=out)
    return differ


def add_calibration(run_path, root=ROOT):
    """Keep a gate run (build/gate-BUILD.json) for the calibration table: copied into
    results/calibration/ as MACHINE-BUILD-K.json without each round's times, atomically.
    Returns the path written."""
    run = load_run(run_path)
    rows = rows_from(run["benchmarks"])
    if not rows:
        raise RenderError(f"{run_path}: no benchmarks of the suite in it")
    build = next((r.build for r in rows if r.build), "native")
    machine = identify(run.get("machine_info"), rows, build=build).key  # nbody_bench.machines
    folder = root / "results" / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    taken = {p.name for p in folder.glob(f"{machine}-*.json")}
    out = folder / next(
        f"{machine}-{k}.json" for k in range(1, 10_000) if f"{machine}-{k}.json" not in taken
    )
    for benchmark in run["benchmarks"]:
        benchmark["stats"].pop("data", None)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    partial.replace(out)
    return out


def arguments(parser):
    """The options of `nbody-bench render`."""
    parser.add_argument(
        "--add-calibration",
        metavar="GATE_RUN.json",
        type=Path,
        help="first keep this gate run (./dev gate writes build/gate-BUILD.json) in "
        "results/calibration/ for the calibration table",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each page whose tables differ from the recorded runs",
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the project's checkout (default: this one)"
    )


def command(args):
    """`nbody-bench render`: 0 drawn (or, with --check, all as recorded), 1 a page differs,
    2 a marker or run cannot be rendered."""
    try:
        if args.add_calibration:
            kept = add_calibration(args.add_calibration, args.root)
            print(f"render: kept {_relative(kept, args.root)} for the calibration table")
        differ = render(args.root, args.check)
    except (RenderError, ResultsError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    if args.check and differ:
        print(
            f"render: these pages differ from their recorded runs: {', '.join(differ)}; "
            "fix: nbody-bench render (./dev nbody-bench render)",
            file=sys.stderr,
        )
        return 1
    if not differ:
        print("render: every table is as its recorded run renders it")
    return 0
