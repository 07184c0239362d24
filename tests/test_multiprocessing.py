"""The multiprocessing backends' pools: none at import, one reused, none left after exit."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

SCRIPT = textwrap.dedent(
    """
    import multiprocessing
    import sys
    import kernels

    backend = kernels.get(sys.argv[1])
    assert multiprocessing.active_children() == [], "a pool was started before any call"
    state = kernels.initial_conditions(5)
    backend.derivatives(*state)
    first = {p.pid for p in multiprocessing.active_children()}
    backend.derivatives(*state)
    assert {p.pid for p in multiprocessing.active_children()} == first, "a second pool started"
    print(" ".join(str(pid) for pid in first))
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
@pytest.mark.parametrize("name", ["multiprocessing", "multiprocessing-shared"])
def test_pool_is_lazy_reused_and_closed_at_exit(name):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, name], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no resource-tracker or leak warnings either
    workers = [int(pid) for pid in done.stdout.split()]
    assert workers, "no worker processes were seen"
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "pool workers outlived the interpreter"


UNGUARDED = """\
import kernels

state = kernels.initial_conditions(5)
kernels.get("{name}").derivatives(*state)
"""

GUARDED = """\
import kernels


def main():
    state = kernels.initial_conditions(5)
    print(kernels.get("{name}").derivatives(*state)[1].shape)


if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize("name", ["multiprocessing", "multiprocessing-shared"])
def test_a_script_without_a_main_guard_gets_the_fix_in_one_line(tmp_path, name):
    """Unguarded, every worker would re-run the script and start a pool of its own, without
    end; the backend refuses at once, in the script's own process, naming the line."""
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(name=name))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "RuntimeError: unguarded.py, line 4 starts worker processes at the script's top "
        'level, which every worker re-runs; fix: put that code under `if __name__ == "__main__":`'
    )
    assert done.stderr.count("Traceback") == 1  # no worker ever started

    script.write_text(GUARDED.format(name=name))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(5, 3)"
