"""The dask backend on real clusters: the embedded LocalCluster, and one started with Dask's
own command-line tools on localhost, found through Dask's configuration; lost workers, an
unreachable scheduler, and the error when distributed is missing."""

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kernels

distributed = pytest.importorskip("distributed")
kernels_dask = pytest.importorskip("kernels.dask", exc_type=kernels.BackendUnavailable)

DASK = str(Path(sys.executable).parent / "dask")


def run_python(code, timeout=120, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


# Computes derivatives for bodies of its own, checks them against the C reference, and
# prints the cluster it ran on; CALLS and SECONDS make it repeat (to be caught mid-call).
CHECKED_CALLS = """
import json, sys, time
import numpy as np
import kernels
from kernels import dask as kd
pos, vel, mass = kernels.initial_conditions(4001, seed=1)
expected = kernels.get("c-reference").derivatives(pos, vel, mass)[1]
backend = kernels.get("dask")
calls, end = 0, time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 0)
while True:
    acc = backend.derivatives(pos, vel, mass)[1]
    error = np.abs(acc - expected).max() / np.abs(expected).max()
    assert error < 1e-12, f"call {calls}: relative error {error:.3g}"
    calls += 1
    if calls == 1:
        print("first call done", flush=True)
    if time.monotonic() >= end:
        break
print(json.dumps({**kd.describe(), "calls": calls}), flush=True)
"""


def test_row_blocks_share_the_pairs_evenly():
    for n, count in [(10, 3), (1000, 2), (4001, 7), (5, 8)]:
        blocks = kernels_dask.row_blocks(n, count)
        assert blocks[0][0] == 0
        assert blocks[-1][1] == n
        assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
        work = [sum(n - 1 - i for i in range(a, b)) for a, b in blocks]
        assert sum(work) == n * (n - 1) // 2
        # Each block is within one (longest) row of an equal share.
        assert max(work) - min(work) <= n - 1


def test_embedded_cluster_matches_the_reference():
    pos, vel, mass = kernels.initial_conditions(1000, seed=2)
    expected = kernels.get("c-reference").derivatives(pos, vel, mass)
    dpdt, dvdt = kernels.get("dask").derivatives(pos, vel, mass)
    np.testing.assert_array_equal(dpdt, vel)
    np.testing.assert_allclose(dvdt, expected[1], rtol=0, atol=1e-12 * np.abs(expected[1]).max())
    shown = kernels_dask.describe()
    assert shown["cluster"] == "embedded LocalCluster"
    assert shown["workers"] == shown["threads"] == kernels.multiprocessing.usable_cores()
    assert shown["address"].startswith("tcp://127.0.0.1:")


@pytest.fixture
def cli_cluster(tmp_path):
    """A scheduler and two single-threaded workers, each its own process started with
    `dask scheduler` and `dask worker`; every one is stopped afterwards."""
    scheduler_file = tmp_path / "scheduler.json"
    started = []

    def start(*args):
        started.append(
            subprocess.Popen([DASK, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        return started[-1]

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(scheduler_file))  # fmt: skip
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            start("worker", address, "--nthreads", "1", "--no-dashboard", "--no-nanny")
            for _ in range(2)
        ]
        # Both workers registered before the test: on a loaded machine (the other tests
        # run beside this one) a worker process can take seconds to connect.
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        # Workers first: one whose scheduler is gone retries to reach it and takes 20 s
        # or more to heed SIGTERM; the scheduler, last, has nobody left to wait for.
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_cluster_from_the_command_line_tools(cli_cluster):
    """Found through Dask's configuration (DASK_SCHEDULER_ADDRESS); nothing is started."""
    address, _ = cli_cluster
    shown = run_python(CHECKED_CALLS, DASK_SCHEDULER_ADDRESS=address)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout.splitlines()[-1])
    assert described["cluster"] == "configured scheduler"
    assert described["address"] == address
    assert described["workers"] == 2


def test_a_worker_killed_mid_call_leaves_every_answer_right(cli_cluster):
    """Calls go on for 4 s; one of the two workers is killed 1 s in. Each call either
    finishes on the remaining worker with the right answer, or raises: never a wrong or
    partial result, never a hang."""
    address, workers = cli_cluster
    calls = subprocess.Popen(
        [sys.executable, "-c", CHECKED_CALLS, "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DASK_SCHEDULER_ADDRESS": address},
    )
    try:
        assert calls.stdout.readline().strip() == "first call done"
        time.sleep(1)
        workers[0].kill()
        out, err = calls.communicate(timeout=120)
    finally:
        calls.kill()
    assert calls.returncode == 0, err
    described = json.loads(out.splitlines()[-1])
    assert described["workers"] == 1
    assert described["calls"] > 1


def test_no_workers_left_is_a_timeout_that_says_so(cli_cluster):
    address, workers = cli_cluster
    for worker in workers:
        worker.kill()
        worker.wait()
    start = time.monotonic()
    shown = run_python(CHECKED_CALLS, DASK_SCHEDULER_ADDRESS=address, NBODY_BENCH_DASK_TIMEOUT="3")
    assert time.monotonic() - start < 60
    assert shown.returncode != 0
    assert "did not finish in 3 s" in shown.stderr
    assert address in shown.stderr


def test_an_unreachable_scheduler_is_named_within_seconds():
    address = "tcp://127.0.0.1:9"  # the discard port: nothing listens there
    start = time.monotonic()
    shown = run_python(CHECKED_CALLS, DASK_SCHEDULER_ADDRESS=address)
    assert time.monotonic() - start < 30
    assert shown.returncode != 0
    assert f"cannot reach the scheduler at {address}" in shown.stderr


def test_a_bad_timeout_is_named():
    shown = run_python(
        "import kernels; from kernels import dask; dask.call_timeout()",
        NBODY_BENCH_DASK_TIMEOUT="soon",
    )
    assert "NBODY_BENCH_DASK_TIMEOUT='soon' is not a positive number" in shown.stderr


def test_without_distributed_the_backend_says_how_to_install_it():
    shown = run_python(
        "import sys; sys.modules['distributed'] = None\n"
        "import kernels\n"
        "try:\n"
        "    kernels.get('dask')\n"
        "except kernels.BackendUnavailable as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install distributed" in shown.stdout, shown.stderr


def test_the_cluster_command_measures_and_projects_the_model(capsys):
    from nbody_bench.cli import main

    assert main(["cluster", "--n", "2000", "--calls", "1"]) == 0
    out = capsys.readouterr().out
    assert "cluster: embedded LocalCluster at tcp://127.0.0.1:" in out
    assert "N = 2000 on 1 worker(s): measured" in out
    assert "Projected time of one call" in out
    assert "pays from N = " in out


def test_the_model_pays_where_the_pair_work_outgrows_the_overhead():
    from nbody_bench.scaleout import Model, pays_from

    # 1e9 pairs/s, 10 ms a call, nothing per body: 2 workers save half of N^2/2 ns.
    model = Model({}, 1000, rate=1e9, a=0.01, b=0.0, measured={})
    n = pays_from(model, 2)
    assert n * (n - 1) / 2 / 2e9 > 0.01  # half the pair work outweighs the 10 ms
    assert pays_from(model, 1) is None
    assert model.time(10_000, 4) == pytest.approx(10_000 * 9_999 / 2 / 4e9 + 0.01)
