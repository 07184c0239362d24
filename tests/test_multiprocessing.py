"""The multiprocessing backend's pool: none at import, one reused, none left after exit."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import kernels
    import kernels.multiprocessing as mp_backend

    backend = kernels.get("multiprocessing")
    assert multiprocessing.active_children() == [], "a pool was started before any call"
    state = kernels.initial_conditions(5)
    backend.derivatives(*state)
    first = mp_backend.pool()
    backend.derivatives(*state)
    assert mp_backend.pool() is first, "a second call started a second pool"
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()))
    """
)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone, just not yet reaped
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to inspect processes")
def test_pool_is_lazy_reused_and_closed_at_exit():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    workers = [int(pid) for pid in done.stdout.split()]
    assert workers, "no worker processes were seen"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "pool workers outlived the interpreter"
