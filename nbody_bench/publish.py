"""A static site of saved runs across commits and machines: graphs, tables, steps, verdicts.

    nbody-bench publish .benchmarks results/ --out build/site --check

Reads any number of saved runs (files, or folders searched through: pytest-benchmark's
storage, `./dev record`'s results/, CI artefacts collected by machine) and the verdict
files of `nbody-bench ab --json`, and writes:

- index.html: the machines (CPU, vector unit, cores, build, GPU), the commits in git
  order, the graphs, the steps found and the latest A/B;
- graphs.html: one graph per workload (a workload is one N), over commits, one series per
  machine and backend, the fastest round's time or (switched by its buttons) the in-run
  speedup over python, which compares across machines where times do not; on hover the
  commit, its date and the value;
- machine-KEY.html: the backend x N table of that machine's latest run, and the gate's
  verdicts on it (its first measurements, judged by the bounds of --config);
- regressions.html: the steps of every series (nbody_bench.steps).

Every script is inlined (Plotly's included), so the site opens from file:// with no
server and no network. The folder is written whole or not at all.
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import formatting, steps
from .files import folder_replaced
from .gate import GateConfigError, evaluate, load_thresholds
from .history import collect
from .results import BASELINE, ResultsError
from .summary import backend_order

METRICS = {  # what a graph shows, by its button
    "time": "fastest round (s)",
    "speedup": f"speedup over {BASELINE}, in-run",
}


@dataclass(frozen=True)
class Point:
    position: int  # the commit's place in git order
    commit: str
    dirty: bool
    committed: str  # the commit's date
    when: str  # the run's date
    time: float
    speedup: float | None
    estimated: bool  # the speedup's baseline was scaled from a smaller N
    run: str  # the run's file


@dataclass(frozen=True)
class Found:
    """A step of one series: machine, workload, backend, and the commits around it."""

    machine: str
    workload: str
    backend: str
    step: steps.Step
    since: Point  # the last point at the old level
    at: Point  # the first at the new

    @property
    def slower(self):
        return self.step.ratio > 1


# The regressions page's sections, by id: slow-downs that stand (steps.Step.standing),
# slow-downs a later commit undid, speed-ups.
KINDS = {"slower": "Slower, standing", "recovered": "Slower, recovered since", "faster": "Faster"}


def kinds(found):
    """The steps found, by their section of the regressions page (KINDS)."""
    out = {kind: [] for kind in KINDS}
    for f in found:
        out["faster" if not f.slower else "slower" if f.step.standing else "recovered"].append(f)
    return out


def _count(n, noun):
    """'1 run', '2 runs'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def arguments(parser):
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="saved runs: files or folders (default: .benchmarks and results, where present)",
    )
    parser.add_argument("--out", type=Path, default=Path("build/site"), help="the folder to write")
    parser.add_argument(
        "--config",
        type=Path,
        help="the gate's bounds, for the verdicts on each machine's latest run (default: "
        "./pyproject.toml where it holds them)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="then open every page in Chromium, offline: load times and console errors "
        "(exit status 1 on an error)",
    )
    parser.add_argument(
        "--screenshot", type=Path, help="then write a PNG of one graph (with --graph WORKLOAD)"
    )
    parser.add_argument("--graph", help="the workload --screenshot shows (default: the first)")
    parser.add_argument(
        "--repo",
        type=Path,
        help="the git repository that orders the commits (default: the current folder's)",
    )


def command(args):
    sources = args.results or [p for p in (Path(".benchmarks"), Path("results")) if p.exists()]
    if not sources:
        print(
            "publish: no results given and no .benchmarks/ or results/ here; name the saved "
            "runs: nbody-bench publish FOLDER_OR_FILE ... --out DIR",
            file=sys.stderr,
        )
        return 2
    started = time.perf_counter()
    try:
        if args.graph and not args.screenshot:
            raise ValueError("--graph names the graph of --screenshot; give --screenshot PNG")
        thresholds = _thresholds(args.config)
        site = publish(sources, args.out, thresholds=thresholds, repo=args.repo)
        if args.graph and args.graph not in site["workloads"]:
            raise ValueError(
                f"--graph {args.graph}: no such workload in the runs; they have: "
                + ", ".join(site["workloads"])
            )
    except (ResultsError, GateConfigError, ValueError, OSError) as exc:
        print(f"publish: {exc}", file=sys.stderr)
        return 1
    print(
        f"publish: {_count(site['runs'], 'run')} on {_count(site['machines'], 'machine')}, "
        f"{_count(site['commits'], 'commit')}, {_count(site['graphs'], 'graph')}, "
        f"{_count(site['steps'], 'step')} ({site['standing']} slower, standing), in "
        f"{time.perf_counter() - started:.1f} s: {args.out / 'index.html'}"
    )
    if args.check or args.screenshot:
        from .browser import BrowserUnavailable, check_site

        try:
            return 0 if check_site(args.out, args.screenshot, args.graph) else 1
        except BrowserUnavailable as exc:
            print(f"publish: --check: {exc}", file=sys.stderr)
            return 2
    return 0


def _thresholds(config):
    """The gate's bounds: from `config` (an error there is one), or from ./pyproject.toml
    where that is this project's (another project's, or none, gives no verdicts)."""
    if config is not None:
        return load_thresholds(config)
    try:
        return load_thresholds("pyproject.toml")
    except (GateConfigError, OSError):
        return None


def publish(sources, out, thresholds=None, repo=None):
    """Build the site from the runs in `sources` into folder `out`; returns its counts."""
    runs, ab_results = collect(sources)
    order, how = commit_order(runs, repo)
    series = series_of(runs, order)
    found = find_steps(series)
    sections = kinds(found)
    workloads = _workloads(series)
    latest = {}
    for run in runs:  # oldest first: the last one seen is the latest
        latest[run.machine.key] = run
    with folder_replaced(out) as staging:
        pages = {
            "index.html": _index(runs, order, how, series, sections, latest, ab_results),
            "graphs.html": _graphs(series, found, how),
            "regressions.html": _regressions(sections),
        }
        for key, run in latest.items():
            verdicts = evaluate(run.rows, thresholds) if thresholds else None
            pages[machine_page(key)] = _machine(run, verdicts)
        for name, text in pages.items():
            (staging / name).write_text(text, encoding="utf-8")
    return {
        "runs": len(runs),
        "machines": len(latest),
        "commits": len(order),
        "graphs": len(workloads),
        "workloads": workloads,
        "steps": len(found),
        "standing": len(sections["slower"]),
    }


def machine_page(key):
    return f"machine-{key}.html"


def anchor(workload):
    """The id of a workload's section on graphs.html (its graph's is graph-ID): the
    workload with anything but letters, digits, "-" and "_" made "_", after "w-", so that
    it cannot clash with the page's own ids."""
    return "w-" + re.sub(r"[^A-Za-z0-9_-]", "_", workload)


def point_of(run):
    """The x of a run: its commit, or for a run of no commit (made outside git) the run
    itself, so that such runs do not pile up on one point."""
    return run.commit_id if run.has_commit else f"unknown@{run.when}"


def commit_order(runs, repo=None):
    """(the runs' commits oldest first, how they were ordered): "git order" (topological)
    where the repository knows every commit the runs name, else "commit time" (the commit's
    recorded time, then the run's). A run of no commit goes after the commits made before
    it ran."""
    times = {}
    for run in runs:
        times.setdefault(point_of(run), (_utc(run.committed or run.when), _utc(run.when)))
    commits = [c for c in times if not c.startswith("unknown@")]
    known = _git_order(repo)
    if commits and all(c in known for c in commits):
        order, how = sorted(commits, key=known.__getitem__), "git order"
    else:
        order, how = sorted(commits, key=lambda c: (*times[c], known.get(c, -1))), "commit time"
    for loose in sorted((c for c in times if c.startswith("unknown@")), key=times.get):
        ran = times[loose][1]
        after = [i for i, c in enumerate(order) if times[c][0] <= ran]
        order.insert(after[-1] + 1 if after else 0, loose)
    return order, how


def _utc(stamp):
    """An ISO 8601 time as a comparable UTC string ("" where it is not one)."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _git_order(repo):
    try:
        done = subprocess.run(
            ["git", "rev-list", "--topo-order", "--reverse", "--all"],
            cwd=repo or Path.cwd(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if done.returncode != 0:
        return {}
    return {commit: i for i, commit in enumerate(done.stdout.split())}


def series_of(runs, order):
    """{(machine key, workload, backend): [Point, ...] in commit order, then run order}."""
    position = {commit: i for i, commit in enumerate(order)}
    series = defaultdict(list)
    for run in runs:
        for row in run.rows:
            series[run.machine.key, row.workload, row.backend].append(
                Point(
                    position=position[point_of(run)],
                    commit=run.commit,
                    dirty=run.dirty,
                    committed=run.committed[:10],
                    when=run.when[:16].replace("T", " "),
                    time=row.time,
                    speedup=row.speedup,
                    estimated=row.speedup_estimated,
                    run=run.path.name,
                )
            )
    for points in series.values():
        points.sort(key=lambda p: (p.position, p.when))
    return dict(series)


def find_steps(series):
    """The steps of every series, one point per commit (its fastest clean run: a run of
    uncommitted changes is drawn, not judged), newest first."""
    found = []
    for (machine, workload, backend), points in series.items():
        fastest = {}
        for p in points:
            if p.dirty or not (p.time > 0 and math.isfinite(p.time)):
                continue
            if p.position not in fastest or p.time < fastest[p.position].time:
                fastest[p.position] = p
        ordered = [fastest[k] for k in sorted(fastest)]
        for step in steps.detect([p.time for p in ordered]):
            found.append(
                Found(machine, workload, backend, step, ordered[step.since], ordered[step.at])
            )
    found.sort(key=lambda f: (-f.at.position, -abs(math.log(f.step.ratio))))
    return found


# ---- pages -------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
nav a { margin-right: 1.2em; }
.slower { color: #b00020; } .faster { color: #1b6e20; } .note { color: #666; }
.graph { height: 460px; }
"""


def _page(title, body, head=""):
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style>{head}</head><body>\n"
        '<nav><a href="index.html">index</a><a href="graphs.html">graphs</a>'
        '<a href="regressions.html">regressions</a></nav>\n'
        f"<h1>{_e(title)}</h1>\n{body}\n</body></html>\n"
    )


def _e(text):
    return html.escape(str(text), quote=True)


def _table(header, rows, numeric=()):
    cells = "".join(f"<th>{_e(h)}</th>" for h in header)
    lines = [f"<table><thead><tr>{cells}</tr></thead><tbody>"]
    for row in rows:
        tds = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{tds}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _index(runs, order, how, series, sections, latest, ab_results):
    per_machine = defaultdict(list)
    for run in runs:
        per_machine[run.machine.key].append(run)
    machines = []
    for key, mine in sorted(per_machine.items()):
        m = mine[-1].machine
        commits = {point_of(r) for r in mine}
        machines.append(
            [
                f'<a href="{_e(machine_page(key))}">{_e(key)}</a>',
                _e(m.cpu),
                _e(m.vector),
                _e(m.cores or "?"),
                _e(m.build),
                _e(m.gpu or "none"),
                str(len(mine)),
                str(len(commits)),
                _e(mine[-1].when[:16].replace("T", " ")),
            ]
        )
    by_commit = defaultdict(lambda: defaultdict(int))
    info = {}
    for run in runs:
        by_commit[point_of(run)][run.machine.key] += 1
        info.setdefault(point_of(run), run)
    commits = []
    for i, commit in enumerate(reversed(order)):
        run = info[commit]
        where = ", ".join(f"{_e(k)} ({n})" for k, n in sorted(by_commit[commit].items()))
        commits.append(
            [
                str(len(order) - i),
                _e(run.commit if run.has_commit else f"none (run {run.when[:16]})"),
                _e(run.committed[:10] or "?"),
                _e(run.branch or ""),
                where,
            ]
        )
    workloads = _workloads(series)
    links = " · ".join(f'<a href="graphs.html#{anchor(w)}">{_e(w)}</a>' for w in workloads)
    count = {kind: len(items) for kind, items in sections.items()}
    body = [
        f"<p>{_count(len(runs), 'run')} of {_count(len(order), 'commit')} on "
        f"{_count(len(per_machine), 'machine')}. "
        "A machine is a CPU model, its vector unit, the cores the run had and the build "
        "(and the GPU, where one ran): runs of it from any clone share its series.</p>",
        '<h2 id="machines">Machines</h2>',
        _table(
            [
                "machine",
                "CPU",
                "vector unit",
                "cores",
                "build",
                "GPU",
                "runs",
                "commits",
                "latest run",
            ],
            machines,
            numeric=(3, 6, 7),
        ),
        '<h2 id="graphs">Graphs</h2>',
        f"<p>One per workload, over commits: {links}</p>",
        '<h2 id="steps">Steps</h2>',
        f'<p><a href="regressions.html#slower">{count["slower"]} slower, standing</a> · '
        f'<a href="regressions.html#recovered">{count["recovered"]} slower, recovered since</a> · '
        f'<a href="regressions.html#faster">{count["faster"]} faster</a>: '
        f"steps of a factor of at least {1 + steps.THRESHOLD:g}, each held by at least "
        f"{steps.MIN_RUNS} commits after it.</p>",
        _ab_section(ab_results),
        '<h2 id="commits">Commits</h2>',
        f'<p class="note">Newest first, in {how}; the machines that ran each, with their runs.</p>',
        _table(["#", "commit", "date", "branch", "runs"], commits, numeric=(0,)),
    ]
    return _page("nbody-bench results", "\n".join(body))


def _ab_section(ab_results):
    if not ab_results:
        return ""
    latest = max(ab_results, key=lambda r: str(r.get("when", "")))
    rows = []
    for v in latest.get("verdicts", []):
        ratio = v.get("ratio")
        text = (
            f"{ratio[0]:.3f} [{ratio[1]:.3f}, {ratio[2]:.3f}]"
            if isinstance(ratio, list) and len(ratio) == 3
            else "-"
        )
        status = str(v.get("status", "?"))
        css = {"slower": "slower", "faster": "faster"}.get(status, "")
        rows.append([_e(v.get("benchmark", "?")), text, f'<span class="{css}">{_e(status)}</span>'])
    return "\n".join(
        [
            '<h2 id="ab">Latest A/B</h2>',
            f"<p>{_e(latest.get('head', '?'))} against {_e(latest.get('base', '?'))} on "
            f"{_e(latest.get('machine', '?'))}, {_e(latest.get('build', '?'))} build, "
            f"{_e(latest.get('when', '?'))} (HEAD/BASE, 95% interval).</p>",
            _table(["benchmark", "HEAD/BASE", "verdict"], rows, numeric=(1,)),
        ]
    )


def _workloads(series):
    return sorted({workload for _, workload, _ in series}, key=_workload_order)


FIRST = ("lecture", "derivative")  # the workloads a reader looks for first, in this order


def _workload_order(workload):
    head, _, size = workload.rpartition("-n")
    head, size = (head, int(size)) if size.isdigit() else (workload, 0)
    family = next((i for i, f in enumerate(FIRST) if head.startswith(f)), len(FIRST))
    return (family, head, size)


def _machine(run, verdicts):
    m = run.machine
    kinds = defaultdict(lambda: defaultdict(dict))
    for row in run.rows:
        column = f"N = {row.n}" if row.workload.endswith(f"-n{row.n}") else row.workload
        kinds[row.workload.rpartition("-n")[0] or row.workload][column][row.backend] = row
    body = [
        f"<p>{_e(m.description)}. Latest run: {_e(run.path.name)}, commit "
        f"{_e(run.commit)}{'+ (dirty)' if run.dirty else ''}, {_e(run.when[:16])}.</p>",
        '<p class="note">Each cell: the fastest round, and the speedup over python in this '
        "run (~ where python was too slow to run at that N and its time is scaled by pairs).</p>",
    ]
    for family, columns in sorted(kinds.items()):
        names = sorted(columns, key=lambda c: (len(c), c))
        backends = sorted({b for col in columns.values() for b in col}, key=backend_order)
        rows = []
        for backend in backends:
            cells = [_e(backend)]
            for column in names:
                row = columns[column].get(backend)
                cells.append(_cell(row) if row else "")
            rows.append(cells)
        body += [
            f"<h2>{_e(family)}</h2>",
            _table(["backend", *names], rows, numeric=range(1, len(names) + 1)),
        ]
    judged = [v for v in verdicts or () if v.status not in ("skipped", "missing")]
    body.append('<h2 id="gate">Gate</h2>')
    if verdicts is None:
        body.append(
            "<p>No gate bounds were read (publish --config names the pyproject.toml that "
            "holds them).</p>"
        )
    elif judged:
        rows = [
            [
                _e(f"{v.workload}/{v.backend}"),
                _e(v.bound.text),
                "-" if v.measured is None else f"{v.measured:.3g}",
                f'<span class="{"slower" if v.failed else ""}">{_e(v.status)}</span>',
            ]
            for v in judged
        ]
        broken = sum(v.failed for v in judged)
        body += [
            f"<p>{broken} of {len(judged)} bounds broken on the run's first measurements "
            "(the gate's own run measures a broken bound again before it fails).</p>",
            _table(["benchmark", "bound", "measured", "verdict"], rows, numeric=(2,)),
        ]
    else:
        body.append("<p>No benchmark of this run is one the gate judges.</p>")
    return _page(f"{m.key}: latest run", "\n".join(body))


def _cell(row):
    if row.speedup is None:
        return _e(formatting.duration(row.time))
    tilde = "~" if row.speedup_estimated else ""
    return f"{_e(formatting.duration(row.time))} · {tilde}{_e(formatting.speedup(row.speedup))}"


def _regressions(sections):
    def table(items):
        rows = [
            [
                _e(f.machine),
                f'<a href="graphs.html#{anchor(f.workload)}">{_e(f.workload)}</a>',
                _e(f.backend),
                f"{f.step.ratio:.3f}x",
                _e(f"{f.since.commit} ({f.since.committed}) .. {f.at.commit} ({f.at.committed})"),
                _e(formatting.duration(f.step.before)),
                _e(formatting.duration(f.step.after)),
                _e(formatting.duration(f.step.now)),
            ]
            for f in items
        ]
        return _table(
            [
                "machine",
                "workload",
                "backend",
                "after/before",
                "last at the old level .. first at the new",
                "before",
                "after",
                "now",
            ],
            rows,
            numeric=(3, 5, 6, 7),
        )

    body = [
        "<p>A step is a change of a benchmark's time by a factor of at least "
        f"{1 + steps.THRESHOLD:g} that the {steps.MIN_RUNS} or more commits after it repeat "
        "(nbody_bench.steps: one point per commit and machine, its fastest clean run; bursts "
        "of interference clipped). It lies "
        "between the last commit at the old level and the first at the new one. "
        "A level is the lower quartile of a stretch's figures, since interference only adds "
        f"time; <em>now</em> is the series' latest level (that of its last {steps.MIN_RUNS} "
        "commits): a slow-down stands while that lies nearer its new level than its old one; "
        "one that a later commit undid is listed apart.</p>",
    ]
    for kind, items in sections.items():
        body += [
            f'<h2 id="{kind}">{KINDS[kind]} ({len(items)})</h2>',
            table(items) if items else "<p>None.</p>",
        ]
    return _page("Steps in the histories", "\n".join(body))


# A backend's colour is its place in the registry's list (Plotly's 24 colours of Dark24),
# the same on every graph and site, plugins after it; a machine's line and marker are its
# place among the site's machines.
DASHES = ("solid", "dot", "dash", "longdash", "dashdot", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "pentagon")


def _styles(series):
    """({backend: colour}, {machine: (dash, marker symbol)}) for the series of a site."""
    from plotly.colors import qualitative

    import kernels

    known = list(kernels.BACKENDS)
    plugins = sorted({b for _, _, b in series} - set(known))
    colour = {
        b: qualitative.Dark24[i % len(qualitative.Dark24)] for i, b in enumerate(known + plugins)
    }
    machines = sorted({m for m, _, _ in series})
    style = {
        m: (DASHES[i % len(DASHES)], SYMBOLS[i % len(SYMBOLS)]) for i, m in enumerate(machines)
    }
    return colour, style


def figure(workload, series, found=(), how="git order", styles=None):
    """The Plotly figure (a dict) of one workload: one trace per machine and backend, x the
    commit's place in git order, y the time; its buttons switch y to the in-run speedup.
    `styles`: _styles(series), made once for a site's graphs."""
    import plotly.graph_objects as go

    traces, ticks = [], {}
    colour, style = styles or _styles(series)
    mine = sorted(
        ((m, b, pts) for (m, w, b), pts in series.items() if w == workload),
        key=lambda t: (t[0], backend_order(t[1])),
    )
    times, speedups = [], []
    for machine, backend, points in mine:
        for p in points:
            ticks[p.position] = p.commit
        times.append([p.time for p in points])
        speedups.append([p.speedup for p in points])
        traces.append(
            go.Scatter(
                x=[p.position for p in points],
                y=times[-1],
                name=f"{backend} · {machine}",
                legendgroup=machine,
                mode="lines+markers",
                line={"color": colour[backend], "dash": style[machine][0], "width": 1.5},
                marker={"color": colour[backend], "symbol": style[machine][1], "size": 7},
                customdata=[
                    [
                        f"{p.commit}{'+' if p.dirty else ''}",
                        p.committed,
                        p.when,
                        p.run,
                        "~" if p.estimated else "",
                    ]
                    for p in points
                ],
                hovertemplate=HOVER["time"],
            )
        )
    marks = [f for f in found if f.workload == workload]
    shapes = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": f.at.position - 0.5,
            "x1": f.at.position - 0.5,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#b00020" if f.slower else "#1b6e20", "dash": "dot", "width": 1},
        }
        for f in marks
    ]
    positions = sorted(ticks)
    stride = max(1, len(positions) // 25)
    buttons = [
        {
            "label": "time",
            "method": "update",
            "args": [
                {"y": times, "hovertemplate": HOVER["time"]},
                {"yaxis.title.text": METRICS["time"]},
            ],
        },
        {
            "label": "speedup over python",
            "method": "update",
            "args": [
                {"y": speedups, "hovertemplate": HOVER["speedup"]},
                {"yaxis.title.text": METRICS["speedup"]},
            ],
        },
    ]
    layout = go.Layout(
        xaxis={
            "title": {"text": f"commit ({how})"},
            "tickvals": positions[::stride],
            "ticktext": [ticks[p] for p in positions[::stride]],
        },
        yaxis={"title": {"text": METRICS["time"]}, "type": "log"},
        hovermode="closest",
        shapes=shapes,
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0,
                "y": 1.1,
                "xanchor": "left",
                "buttons": buttons,
                "showactive": True,
            }
        ],
        legend={"font": {"size": 11}},
        margin={"t": 40},
    )
    return go.Figure(data=traces, layout=layout)


HOVER = {
    "time": "%{fullData.name}<br>commit %{customdata[0]} (%{customdata[1]})<br>"
    "run %{customdata[2]} (%{customdata[3]}): %{y:.4s}s<extra></extra>",
    "speedup": "%{fullData.name}<br>commit %{customdata[0]} (%{customdata[1]})<br>"
    "run %{customdata[2]} (%{customdata[3]}): %{customdata[4]}%{y:.4g}x over "
    "python<extra></extra>",
}

DRAW = """
const figures = JSON.parse(document.getElementById("figures").textContent);
function draw(div) {
  if (div.dataset.drawn) return;
  const f = figures[div.dataset.workload];
  Plotly.newPlot(div, f.data, f.layout, {responsive: true, displaylogo: false});
  div.dataset.drawn = "1";
}
const graphs = new Map();
const seen = new IntersectionObserver((entries) => {
  for (const e of entries) if (e.isIntersecting) { draw(e.target); seen.unobserve(e.target); }
}, {rootMargin: "600px"});
document.querySelectorAll(".graph").forEach((div) => {
  graphs.set(div.dataset.workload, div);
  seen.observe(div);
});
window.nbodyBench = {
  workloads: () => [...graphs.keys()],
  draw: (workload) => draw(graphs.get(workload)),
  drawAll: () => graphs.forEach(draw),
};
"""


def _graphs(series, found, how):
    import plotly.io
    import plotly.offline

    workloads = _workloads(series)
    styles = _styles(series)  # one backend's colour, one machine's line, on every graph
    figures = {
        w: json.loads(plotly.io.to_json(figure(w, series, found, how, styles), validate=False))
        for w in workloads
    }
    sections = []
    for w in workloads:
        count = sum(1 for (_, wl, _) in series if wl == w)
        sections.append(
            f'<section id="{anchor(w)}"><h2>{_e(w)}</h2><p class="note">{count} series; '
            "dotted lines: steps (regressions page).</p>"
            f'<div class="graph" id="graph-{anchor(w)}" data-workload="{_e(w)}"></div></section>'
        )
    data = json.dumps(figures, separators=(",", ":")).replace("</", "<\\/")
    head = f"<script>{plotly.offline.get_plotlyjs()}</script>"
    body = "\n".join(
        [
            f"<p>The fastest round of each run, over commits in {how}: one series per "
            "machine and backend. The buttons switch to the speedup over python measured in "
            "the same run, which compares across machines where times do not.</p>",
            *sections,
            f'<script type="application/json" id="figures">{data}</script>',
            f"<script>{DRAW}</script>",
        ]
    )
    return _page("Graphs over commits", body, head=head)
