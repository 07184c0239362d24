"""The lecture's parallel attempt: one task per body, farmed out with `Pool.starmap`.

Kept to show the lecture's lesson: each task is far too small for what it costs to send
(the whole position array is pickled once per body), so this loses to the serial loop.
Unlike the lecture, no pool exists at import time: one is started on the first call,
reused by every later call, and closed when the interpreter exits.
"""

import ast
import atexit
import multiprocessing
import os
import sys
import threading
from itertools import repeat

import numpy as np

_pool = None
_pool_lock = threading.Lock()


def onebody_accelerations(i, pos, mass):
    dvdt = np.zeros(3)
    for j in range(len(mass)):
        if i == j:
            continue
        r = np.linalg.norm(pos[j] - pos[i])
        rhat = (pos[j] - pos[i]) / r
        dvdt += mass[j] / (r * r) * rhat
    return dvdt


def accelerations(pos, mass):
    n = len(mass)
    res = pool().starmap(
        onebody_accelerations, zip(range(n), repeat(pos, n), repeat(mass, n), strict=True)
    )
    return np.array(res)


def pool():
    """The shared worker pool, started on first use with one process per usable core."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = start_pool()
        return _pool


def start_pool(**options):
    """A new Pool with one process per usable core (options go to Pool).

    forkserver, not fork: forking a process that already runs threads (BLAS, Numba) can
    deadlock the child.
    """
    check_main_guard()
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(processes=usable_cores(), **options)


def close_pool():
    """Stop the workers and wait for them; the next call starts a new pool."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool.join()
            _pool = None


atexit.register(close_pool)


def usable_cores():
    """The cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def check_main_guard():
    """Refuse to start workers from the top level of an unguarded main script.

    Every worker of a forkserver or spawn pool imports the main script first; if the
    script starts the pool at its top level, each worker starts one too, fails, and the
    pool replaces it without end. The script's own line that led here is found on the
    stack; if it is not inside `if __name__ == "__main__":`, this raises at once, in the
    parent, naming the fix.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:  # an interactive session: workers do not import it
        return
    frame = sys._getframe(1)
    while frame is not None and not (
        frame.f_code.co_name == "<module>" and frame.f_globals is vars(main)
    ):
        frame = frame.f_back
    if frame is None:
        return
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return
    line = frame.f_lineno
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and _is_main_test(node.test)
            and node.lineno <= line <= (node.end_lineno or node.lineno)
        ):
            return
    raise RuntimeError(
        f"{os.path.basename(path)}, line {line} starts worker processes at the script's top "
        "level, which every worker re-runs; fix: put that code under "
        '`if __name__ == "__main__":`'
    )


def _is_main_test(test):
    """Whether an `if` tests __name__ == "__main__" (either way round)."""
    if not (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = (test.left, test.comparators[0])
    return any(
        isinstance(a, ast.Name) and a.id == "__name__" and getattr(b, "value", None) == "__main__"
        for a, b in (sides, sides[::-1])
    )
