"""Multiprocessing done so it can win: the lecture's idea, with the costs taken out.

Unlike the per-body `multiprocessing` backend (kept to show the lecture's lesson), the
worker processes here
- live as long as the interpreter (started on first use, closed at exit),
- see positions, masses and accelerations in shared memory, so a call sends each worker
  only a block's row range, never the arrays, and
- each take a block of rows (bodies), computing its forces from every body with NumPy's
  broadcasting, in slices small enough for the cache.
The serial twin is the `numpy` backend: the same arithmetic in one process.
"""

import atexit
import threading
from itertools import pairwise
from multiprocessing.sharedctypes import RawArray

import numpy as np

from .multiprocessing import start_pool, usable_cores

_pool = None
_capacity = 0  # bodies the shared arrays hold
# One set of shared buffers serves every caller, so a call holds the lock from writing the
# positions to copying out the accelerations: calls from several threads take turns
# (the workers are busy with one call's blocks anyway) and never see each other's data.
_lock = threading.RLock()
_shared = {}  # in each worker: the shared arrays, set by _attach
ROWS_PER_SLICE = 64  # rows per broadcast: keeps the (rows, n, 3) temporaries small


def _attach(buffers, capacity):
    """Worker start-up: view the shared buffers as arrays."""
    _shared["pos"] = np.frombuffer(buffers[0], dtype=np.float64).reshape(capacity, 3)
    _shared["mass"] = np.frombuffer(buffers[1], dtype=np.float64)
    _shared["acc"] = np.frombuffer(buffers[2], dtype=np.float64).reshape(capacity, 3)


def block_accelerations(start, stop, n):
    """Accelerations of bodies start..stop-1 from all n bodies, written to shared memory."""
    pos, mass, acc = _shared["pos"][:n], _shared["mass"][:n], _shared["acc"]
    for first in range(start, stop, ROWS_PER_SLICE):
        rows = slice(first, min(first + ROWS_PER_SLICE, stop))
        d = pos[np.newaxis, :, :] - pos[rows, np.newaxis, :]  # d[k, j] = r_j - r_(first+k)
        r2 = np.einsum("kjc,kjc->kj", d, d)
        own = np.arange(rows.stop - rows.start)
        r2[own, own + first] = 1.0  # the self-terms, whose d is zero
        with np.errstate(all="ignore"):  # a collision gives inf/nan, checked by the caller
            weight = mass / (r2 * np.sqrt(r2))
        acc[rows] = np.einsum("kj,kjc->kc", weight, d)
    return stop - start


def pool(n):
    """The worker pool, with shared arrays for at least n bodies (restarted to grow)."""
    global _pool, _capacity
    with _lock:
        if _pool is None or _capacity < n:
            _close()
            capacity = max(n, 1024)
            buffers = (
                RawArray("d", 3 * capacity),
                RawArray("d", capacity),
                RawArray("d", 3 * capacity),
            )
            _pool = start_pool(initializer=_attach, initargs=(buffers, capacity))
            _capacity = capacity
            _attach(buffers, capacity)  # the parent's views of the same memory
        return _pool


def accelerations(pos, mass):
    n = len(mass)
    # A few blocks per worker: balanced even when one worker is slowed by something else.
    edges = np.linspace(0, n, 4 * usable_cores() + 1).astype(int)
    blocks = [(int(a), int(b), n) for a, b in pairwise(edges) if b > a]
    with _lock:
        workers = pool(n)
        _shared["pos"][:n] = pos
        _shared["mass"][:n] = mass
        workers.starmap(block_accelerations, blocks)
        return _shared["acc"][:n].copy()


def _close():
    global _pool
    if _pool is not None:
        _pool.close()
        _pool.join()
        _pool = None


def close_pool():
    """Stop the workers and wait for them; the next call starts a new pool."""
    with _lock:
        _close()


atexit.register(close_pool)
