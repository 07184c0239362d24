"""One side of an A/B comparison: a long-lived process that times blocks of calls when told.

Run as a script by `nbody_bench.ab`, with the `kernels` of one build first on PYTHONPATH;
it loads `workloads.py` from beside this file and so runs any build's public API. It
reads one JSON request a line on stdin and answers one JSON line on stdout:

    {"op": "describe"}                          -> {"kernels": path, "simd": variant or null}
    {"op": "load", "workload": id, "backend": name, "slow_down": 1.0}
                                                -> {"key": k, "once": seconds} or {"error": text}
    {"op": "block", "key": k, "calls": c}       -> {"best": fastest of c calls, seconds}

Waiting for its next request it does nothing, so the other side has the machine.
"""

import importlib.util
import json
import math
import random
import sys
import time
from pathlib import Path


def load_workloads():
    spec = importlib.util.spec_from_file_location(
        "nbody_bench_workloads", Path(__file__).with_name("workloads.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slowed_down(fn, factor):
    """fn, made `factor` times slower by busy-waiting after each call: the fault the
    suite's --slow-down and A/B's inject to check the checks (the one copy: the suite
    imports it from here)."""
    if factor == 1:
        return fn

    def slow(*args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        until = start + factor * (time.perf_counter() - start)
        while time.perf_counter() < until:
            pass
        return result

    return slow


def fastest(fn, calls):
    best = math.inf
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def describe():
    import kernels

    try:
        import kernels.simd as simd

        variant = simd.VARIANTS[simd.VARIANT]
    except (ImportError, AttributeError, kernels.BackendUnavailable):
        variant = None
    return {"kernels": str(Path(kernels.__file__).parent), "simd": variant}


def shed_editable_install():
    """Keep an editable install of nbody-bench (meson-python's import hook, as in the test
    environment) from serving `kernels` in place of the build under test on PYTHONPATH."""
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "MesonpyMetaFinder"]


def main():
    shed_editable_install()
    # The heap's layout varied too, by a random amount (see ab.Worker on the environment).
    heap_padding = bytearray(random.randrange(1 << 16))  # noqa: F841  kept for the process's life
    workloads = load_workloads()
    loaded = []
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "describe":
                answer = describe()
            elif request["op"] == "load":
                fn = workloads.workload(request["workload"], request["backend"])
                fn = slowed_down(fn, float(request.get("slow_down", 1.0)))
                start = time.perf_counter()
                fn()  # untimed: compiles (Numba), starts pools, warms caches
                once = time.perf_counter() - start
                loaded.append(fn)
                answer = {"key": len(loaded) - 1, "once": min(once, fastest(fn, 1))}
            elif request["op"] == "block":
                answer = {"best": fastest(loaded[request["key"]], int(request["calls"]))}
            else:
                answer = {"error": f"unknown op {request['op']!r}"}
        except Exception as exc:  # reported to the parent, which names the benchmark
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
