"""The GPU run's harness without a GPU: bench/test_gpu.py's order under --gpu, its cuda
path (warm call, checked call, rounds, the kernel's events) on Numba's CUDA simulator,
its results kept as each benchmark finishes (nbody_bench.keep), and .ci/gpu stopping in
its smoke step where there is no GPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbody_bench import keep
from nbody_bench.results import load_run, rows_from

ROOT = Path(__file__).resolve().parents[1]


def collected_ids(bench_collect, *args, env=()):
    """The benchmarks' ids that `pytest bench/ --collect-only` lists with `args`, in order."""
    done = bench_collect(*args, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line.split("::")[1] for line in done.stdout.splitlines() if "::" in line]


def test_the_headline_is_collected_first_and_the_hosts_last(bench_collect):
    """With --gpu: cuda at N = 1e5 and 1e6 and its divide form there first, then the other
    GPU benchmarks (cupy, jax, cuda's smaller N and tiles), then the host's, each part's
    N = 1e6 last."""
    ids = collected_ids(
        bench_collect,
        "--gpu", "--backend=cuda", "--backend=cupy", "--backend=simd-parallel",
        "-k", "gpu_derivative or cuda_variant",
    )  # fmt: skip
    assert ids[:4] == [
        "test_gpu_derivative[cuda-100000]",
        "test_cuda_variant[divide-100000-cuda]",
        "test_gpu_derivative[cuda-1000000]",
        "test_cuda_variant[divide-1000000-cuda]",
    ], ids
    host = [i for i, test in enumerate(ids) if "[simd" in test]  # with its twin, simd
    gpu = [i for i, test in enumerate(ids[4:], 4) if "[simd" not in test]
    assert gpu
    assert host
    assert max(gpu) < min(host)
    assert ids[-1] == "test_gpu_derivative[simd-parallel-1000000]"
    assert ids[max(gpu)] == "test_gpu_derivative[cupy-1000000]"
    assert "test_cuda_variant[tile64-100000-cuda]" in ids
    assert "test_cuda_variant[tile256-100000-cuda]" in ids


def bench_in_a_process(*args, env=()):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    environ.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-W", "default", "bench/test_gpu.py", "--benchmark-only", "--gpu",
         "--benchmark-max-time=0.05", "--benchmark-min-rounds=1", *args],
        cwd=ROOT, env={**environ, **dict(env)}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_cuda_path_on_the_simulator_keeps_its_results_as_it_goes(tmp_path):
    """bench/test_gpu.py's cuda benchmark at 12 and 20 bodies on the simulator, beside
    simd: each checked and timed, results.json and table.txt written after each; the
    simulator's events record no time, which the run records as the kernel's error, not as
    a figure, while the end-to-end call's figure stands."""
    pytest.importorskip("numba.cuda")
    done = bench_in_a_process(
        "--backend=cuda", "--backend=simd", "-k", "gpu_derivative", f"--keep={tmp_path}",
        env={"NUMBA_ENABLE_CUDASIM": "1", "NBODY_GPU_SIZES": "12,20"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "4 passed" in done.stdout, done.stdout[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "table.txt"]
    run = load_run(tmp_path / "results.json")
    assert run["machine_info"]["python_implementation"]
    assert "id" in run["commit_info"]
    found = {(b["extra_info"]["backend"], b["extra_info"]["n"]): b for b in run["benchmarks"]}
    assert set(found) == {("cuda", 12), ("cuda", 20), ("simd", 12), ("simd", 20)}
    for entry in run["benchmarks"]:
        assert "data" not in entry["stats"]  # no round's raw time
        assert entry["stats"]["rounds"] >= 1
    cuda = found["cuda", 20]["extra_info"]
    assert "no time was recorded" in cuda["kernel_error"]
    assert "kernel_min" not in cuda
    assert cuda["kernel_timing"] == "CUDA events (numba-cuda) around the launch"
    assert cuda["fp64_flops"] > 0
    assert "kernel_error" not in found["simd", 20]["extra_info"]
    table = (tmp_path / "table.txt").read_text()
    assert table.startswith("The derivative on the GPU, one call")
    assert "none timed" in table
    assert len(rows_from(run["benchmarks"])) == 4


def entry(workload, backend, seconds, rounds=3):
    info = {"workload": workload, "kind": "derivative", "backend": backend, "n": 1000}
    info["calls"] = 1
    stats = {"min": seconds, "max": 2 * seconds, "mean": seconds, "median": seconds}
    stats |= {"stddev": 0.0, "rounds": rounds, "data": [seconds] * rounds}
    return {"name": f"test[{backend}]", "group": workload, "extra_info": info, "stats": stats}


def test_kept_results_replace_the_same_benchmark_and_add_the_others(tmp_path):
    first = keep.keep(tmp_path, [entry("gpu-n1000", "cuda", 1e-3)], {"node": "gpu"}, {"id": "a"})
    keep.keep(tmp_path, [entry("gpu-n1000", "cuda", 5e-4), entry("gpu-n1000", "simd", 2e-3)])
    run = json.loads(first.read_text())
    assert [(b["extra_info"]["backend"], b["stats"]["min"]) for b in run["benchmarks"]] == [
        ("cuda", 5e-4),
        ("simd", 2e-3),
    ]
    assert run["machine_info"] == {"node": "gpu"}  # kept from the first session's
    assert run["commit_info"] == {"id": "a"}
    assert all("data" not in b["stats"] for b in run["benchmarks"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "table.txt"]


def test_an_unreadable_kept_file_is_an_error_and_left_as_it_was(tmp_path):
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(keep.ResultsError, match="not valid JSON"):
        keep.keep(tmp_path, [entry("gpu-n1000", "cuda", 1e-3)])
    assert (tmp_path / "results.json").read_text() == "{not json"


def test_a_write_is_whole_or_not_at_all(tmp_path, monkeypatch):
    """A rename that fails leaves the old file and no temporary one behind."""
    target = tmp_path / "table.txt"
    target.write_text("old\n")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(keep.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        keep.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.txt"]


def test_a_dry_run_of_the_gpu_check_stops_in_its_smoke_step(tmp_path):
    """.ci/gpu where there is no GPU: the smoke step's probe, before the build, stops the
    run with exit status 75 and its reason, written to OUT/smoke.txt, having built and
    measured nothing."""
    import shutil

    if shutil.which("nvidia-smi"):
        pytest.skip("a GPU driver is here: .ci/gpu would run for real")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env |= {"OUT": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "gpu")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 75, done.stdout[-3000:] + done.stderr[-3000:]
    assert "gpu: stopped in the smoke step (probe): no CUDA GPU here" in done.stdout
    assert "gpu: built in" not in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt", "smoke.txt"]
    smoke = (tmp_path / "smoke.txt").read_text()
    assert "numba-cuda:" in smoke
    assert "smoke: stop: no CUDA GPU here" in smoke


def test_a_rehearsal_takes_the_simulator_for_the_gpu_and_its_sizes_for_the_headline(
    monkeypatch, bench_collect
):
    """.ci/gpu --rehearse: the smoke step's probe goes on with Numba's CUDA simulator (and
    says so), and the benchmarks' headline and variants are at NBODY_GPU_SIZES' two largest,
    first, as a GPU run's are at 1e5 and 1e6."""
    from nbody_bench import gpu_smoke

    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    monkeypatch.setattr(gpu_smoke, "cuda_versions", lambda: (None, None, []))
    lines, status, reason = gpu_smoke.probe(["cuda"])
    assert (status, reason) == (0, None)
    assert f"GPU: {gpu_smoke.SIMULATOR}" in lines
    ids = collected_ids(
        bench_collect,
        "--gpu", "--backend=cuda", "-k", "gpu_derivative or cuda_variant",
        env={"NBODY_GPU_SIZES": "12,20"},
    )  # fmt: skip
    assert ids[:4] == [
        "test_gpu_derivative[cuda-12]",
        "test_cuda_variant[divide-12-cuda]",
        "test_gpu_derivative[cuda-20]",
        "test_cuda_variant[divide-20-cuda]",
    ], ids
    assert {"test_cuda_variant[tile64-12-cuda]", "test_cuda_variant[tile256-12-cuda]"} < set(ids)


def test_the_gpu_check_takes_rehearse_alone():
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "gpu"), "--simulate"], capture_output=True, text=True,
        env={**os.environ, "OUT": "/nonexistent/never-made"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "usage: .ci/gpu [--rehearse]" in done.stderr


def test_the_probe_names_what_is_missing_and_the_fix(monkeypatch):
    from nbody_bench import gpu_smoke

    versions = {"numba-cuda": "0.30.4", "jax": "0.11.2", "jax-cuda13-plugin": "0.11.2"}
    monkeypatch.setattr(gpu_smoke, "version_of", versions.get)
    monkeypatch.setattr(gpu_smoke, "gpu_line", lambda: ("NVIDIA H100 80GB HBM3, 580.1", None))
    monkeypatch.setattr(gpu_smoke, "cuda_versions", lambda: ("13.0", "13.5", []))
    lines, status, reason = gpu_smoke.probe(["cuda", "cupy", "jax"])
    assert status == gpu_smoke.FAILED
    assert reason.startswith("not installed: cupy-cuda13x (for cupy); fix: ")
    assert "./dev gpu-wheels" in reason
    assert "NBODY_GPU_BACKENDS" in reason
    assert "  numba-cuda: 0.30.4 (pinned 0.30.4)" in lines  # against .ci/cuda13.txt
    lines, status, reason = gpu_smoke.probe(["cuda", "jax"])
    assert (status, reason) == (0, None)
    assert any("NVVM 13.5 is newer than the driver's CUDA 13.0" in line for line in lines)
    monkeypatch.setattr(gpu_smoke, "gpu_line", lambda: (None, "nvidia-smi found no GPU"))
    lines, status, reason = gpu_smoke.probe(["cuda"])
    assert status == gpu_smoke.NO_GPU == 75
    assert reason.startswith("no CUDA GPU here: nvidia-smi found no GPU")


def test_the_backends_of_a_smoke_step_are_chosen_by_name(monkeypatch):
    from nbody_bench import gpu_smoke

    monkeypatch.setenv("NBODY_GPU_BACKENDS", "cuda jax")
    assert gpu_smoke.backends() == ["cuda", "jax"]
    monkeypatch.setenv("NBODY_GPU_BACKENDS", "cuda torch")
    with pytest.raises(SystemExit, match="torch: choose from"):
        gpu_smoke.backends()


def test_the_cuda13_pins_are_read_by_name(tmp_path):
    from nbody_bench import gpu_smoke

    pins = gpu_smoke.pins()
    assert pins["numba-cuda"]
    assert pins["cupy-cuda13x"]
    assert pins["nvidia-cuda-nvcc"]
    assert pins["nvidia-nvvm"].startswith("13.0.")  # the driver 580's CUDA
    other = tmp_path / "pins.txt"
    other.write_text("# a comment\nnumba-cuda[cu13]==1.2  # with an extra\nloose>=3\n")
    assert gpu_smoke.pins(other) == {"numba-cuda": "1.2"}


def test_the_smoke_calls_go_on_without_a_backend_that_cannot_run_and_stop_on_a_wrong_one(
    monkeypatch, tmp_path
):
    from types import SimpleNamespace

    import kernels
    from nbody_bench import gpu_smoke

    monkeypatch.setattr(gpu_smoke, "N", 200)  # the check, not the scale
    right = kernels.get("numpy").derivatives_into

    def broken(state, mass, rate):
        raise RuntimeError("libnvrtc.so.13: cannot open shared object file")

    def wrong(state, mass, rate):
        right(state, mass, rate)
        rate[1] *= 1.01

    fakes = {"cuda": right, "cupy": broken, "jax": wrong}
    monkeypatch.setattr(kernels, "get", lambda name: SimpleNamespace(derivatives_into=fakes[name]))
    passing = tmp_path / "passing"
    lines, status, reason = gpu_smoke.calls(["cuda", "cupy"], passing)
    assert (status, reason) == (0, None)
    assert passing.read_text().split() == ["cuda"]
    assert any("cupy: failed: RuntimeError: libnvrtc.so.13" in line for line in lines)
    assert any(line.strip().startswith("left out of this run: cupy's call") for line in lines)
    lines, status, reason = gpu_smoke.calls(["cupy"], tmp_path / "none")
    assert status == gpu_smoke.FAILED
    assert reason.startswith("cupy's call at N = 200 failed: RuntimeError")
    fakes["jax"] = wrong
    monkeypatch.setitem(sys.modules, "kernels.jax", SimpleNamespace(platform=lambda: "gpu"))
    lines, status, reason = gpu_smoke.calls(["cuda", "jax"], tmp_path / "wrong")
    assert status == gpu_smoke.FAILED
    assert reason.startswith("jax at N = 200: error")
