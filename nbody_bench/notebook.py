"""The lecture as a notebook (notebooks/lecture.py): its helpers, and running it headless.

    python -m nbody_bench.notebook [--quick] [--out build/notebook/lecture.ipynb]

notebooks/lecture.py is the notebook in jupytext's percent format (text that diffs well;
`./dev notebook` opens it in JupyterLab). This runs it start to end in a fresh IPython
kernel (nbclient) and writes the executed .ipynb, outputs and all, written whole or not
at all. `--quick` runs it at a reduced size (a tenth of the lecture's run, one round),
as the tests do. The helpers below are what its cells call.
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import formatting

ROOT = Path(__file__).resolve().parents[1]
# The notebook in the source tree (an editable install or a checkout); from a plain install,
# `nbody-bench notebook` looks for it where it is run (find_notebook).
NOTEBOOK = ROOT / "notebooks" / "lecture.py"
QUICK = "NBODY_BENCH_NOTEBOOK_QUICK"


def sizes():
    """(tend, rounds): the lecture's run and three rounds, or a tenth of it and one round
    when $NBODY_BENCH_NOTEBOOK_QUICK is 1 (the tests)."""
    return (0.1, 1) if os.environ.get(QUICK) == "1" else (1.0, 3)


def lecture_state():
    """The lecture's 20 bodies: seeded positions and velocities, unit masses."""
    from .lecture import state

    return state()


def time_run(run, rounds):
    """The fastest of `rounds` calls of run(), in seconds, after one untimed call."""
    run()
    best = math.inf
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def source_of(obj):
    """An IPython Code display of a function's or a file's source, from this project."""
    from IPython.display import Code

    if isinstance(obj, (str, Path)):
        path = _here(obj)
        return Code(path.read_text(), language=_language(path))
    return Code(inspect.getsource(obj), language="python")


def _language(path):
    return {".f90": "fortran", ".c": "c", ".h": "c", ".pyx": "cython"}.get(path.suffix, "python")


def annotate(pyx):
    """Cython's annotation of a .pyx file (`cython -a`), as (HTML, the numbers of the lines
    that call into Python, the number of lines of code). Those are the HTML's yellow
    lines: the darker, the more Python C-API calls the line makes."""
    pyx = _here(pyx)
    with tempfile.TemporaryDirectory() as folder:
        c_file = Path(folder) / f"{pyx.stem}.c"
        done = subprocess.run(
            [sys.executable, "-m", "cython", "-a", "-3", str(pyx), "-o", str(c_file)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cython -a {pyx.name} failed:\n{done.stderr}")
        page = c_file.with_suffix(".html").read_text()
    scores = [int(s) for s in re.findall(r'class="cython line score-(\d+)"', page)]
    code = _code_lines(pyx)
    yellow = [line for line, score in enumerate(scores, 1) if score and line in code]
    return page, yellow, len(code)


def lines_of(pyx, name):
    """The line numbers of the top-level function `name` in a .pyx file: from its `def`
    or `cdef` line to the next top-level statement."""
    lines = _here(pyx).read_text().splitlines()
    start = next(
        k
        for k, line in enumerate(lines, 1)
        if re.match(rf"(c?def|cpdef)\b.*\b{re.escape(name)}\(", line)
    )
    end = next(
        (
            k
            for k in range(start + 1, len(lines) + 1)
            if lines[k - 1][:1] not in ("", " ", "#", ")") and not lines[k - 1].startswith("\t")
        ),
        len(lines) + 1,
    )
    return range(start, end)


def _here(path):
    """A file the notebook names, relative to the notebook's folder (where Jupyter runs its
    kernel: notebooks/ of a clone, with the kernels' sources beside it in ../kernels/)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    beside = NOTEBOOK.parent / path  # run from elsewhere with the source tree installed
    if beside.exists():
        return beside
    raise FileNotFoundError(
        f"{path}: not found from {Path.cwd()}, where the notebook runs; open "
        "notebooks/lecture.py from a clone of the project (its kernels' sources are in "
        "../kernels/ beside it)"
    )


def _code_lines(pyx):
    """Line numbers with code: not blank, not a comment."""
    return {
        k
        for k, line in enumerate(pyx.read_text().splitlines(), 1)
        if line.strip() and not line.strip().startswith("#")
    }


def annotated(page):
    """An annotation page for display in the notebook: its styles and its body (the
    styles are scoped to Cython's own classes)."""
    from IPython.display import HTML

    styles = "".join(re.findall(r"<style[^>]*>.*?</style>", page, flags=re.S))
    body = re.search(r"<body[^>]*>(.*)</body>", page, flags=re.S)
    return HTML(styles + (body.group(1) if body else page))


def table(times, baseline="python", claims=None):
    """Markdown: each backend's run time and speedup over `baseline`, fastest last."""
    from IPython.display import Markdown

    claims = claims or {}
    rows = [
        "| backend | run | speedup over the lecture's loop | the lecture claims |",
        "|---|---|---|---|",
    ]
    for name, seconds in sorted(times.items(), key=lambda kv: kv[1], reverse=True):
        shown = formatting.speedup(times[baseline] / seconds)
        claim = f"about {claims[name]}x" if name in claims else ""
        rows.append(f"| {name} | {formatting.duration(seconds, 3)} | {shown} | {claim} |")
    return Markdown("\n".join(rows))


def find_notebook(where=None):
    """notebooks/lecture.py: the source tree's, else in or below `where` (the current
    folder: a clone's root or its notebooks/), else None."""
    where = Path.cwd() if where is None else Path(where)
    found = (NOTEBOOK, where / "notebooks" / "lecture.py", where / "lecture.py")
    return next((path for path in found if path.is_file()), None)


def execute(out, quick=False, timeout=900, path=None):
    """Run the notebook (`path`, else notebooks/lecture.py) in a fresh kernel, in its own
    folder as Jupyter would; write the executed notebook to `out`."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    path = Path(path or NOTEBOOK)
    notebook = jupytext.read(path)
    previous = os.environ.get(QUICK)
    os.environ[QUICK] = "1" if quick else "0"  # the kernel inherits this process's env
    try:
        NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        if previous is None:
            os.environ.pop(QUICK)
        else:
            os.environ[QUICK] = previous
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    nbformat.write(notebook, partial)
    partial.replace(out)
    return notebook


def arguments(parser):
    """The options of `nbody-bench notebook`."""
    parser.add_argument("--quick", action="store_true", help="a tenth of the run, one round")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "build" / "notebook" / "lecture.ipynb",
        help="where to write the executed notebook",
    )


def command(args):
    """`nbody-bench notebook`: run the lecture's notebook through; 0 it ran, 1 a cell
    failed, 2 it could not start."""
    path = find_notebook()
    if path is None:
        print(
            f"notebook: no notebooks/lecture.py in {Path.cwd()}: the notebook lives in the "
            "project's source tree; run this from a clone's root or its notebooks/ folder "
            "(or ./dev notebook --run)",
            file=sys.stderr,
        )
        return 2
    try:
        execute(args.out, args.quick, path=path)
    except ImportError as exc:
        print(
            f"notebook: {exc}; fix: pip install '.[notebook]' (./dev notebook --run does)",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # nbclient's CellExecutionError names the cell and its error
        print(f"notebook: it did not run through: {exc}", file=sys.stderr)
        return 1
    print(f"notebook: wrote {args.out}")
    return 0


def main(argv=None):
    """`nbody-bench notebook` without the rest of the command (python -m nbody_bench.notebook),
    for nox sessions that run it from the source tree, where `kernels` is not built."""
    parser = argparse.ArgumentParser(
        prog="nbody-bench notebook", description=__doc__.split("\n\n")[0]
    )
    arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
