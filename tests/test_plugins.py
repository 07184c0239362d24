"""Backends from other packages (kernels/plugins.py): found, held to the suite's checks,
and reported by name when broken, with no edit to this project."""

import os
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import kernels
from kernels import plugins

ROOT = Path(__file__).resolve().parents[1]

# A student's backend: the NumPy lesson, written the backend-module way.
GOOD = """
import numpy as np

def accelerations(pos, mass):
    d = pos[np.newaxis, :, :] - pos[:, np.newaxis, :]
    r2 = (d * d).sum(axis=-1)
    np.fill_diagonal(r2, 1.0)
    s = mass / (r2 * np.sqrt(r2))
    np.fill_diagonal(s, 0.0)
    return (s[:, :, np.newaxis] * d).sum(axis=1)
"""


def install(site, package, entries, source=GOOD):
    """A package in `site` as pip would leave it: its module and its .dist-info, whose
    entry_points.txt declares `entries` ({name: "module:object"}) in the group."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{package}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    lines = [f"[{plugins.GROUP}]", *(f"{name} = {value}" for name, value in entries.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def run_python(site, code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def entry(name, value):
    return EntryPoint(name, value, plugins.GROUP)


def test_a_name_taken_by_a_built_in_is_an_error_naming_both():
    found = plugins.discover({"numpy": "kernels.numpy"}, [entry("numpy", "theirs.fast")])
    problem = found["numpy"].problem
    assert "plugin backend 'numpy' (theirs.fast" in problem
    assert "built-in backend 'numpy' (kernels.numpy)" in problem
    assert "rename the entry point" in problem


def test_two_packages_declaring_one_name_are_both_named():
    found = plugins.discover({}, [entry("fast", "one.kernel"), entry("fast", "two.kernel")])
    problem = found["fast"].problem
    assert "one.kernel" in problem
    assert "two.kernel" in problem
    with pytest.raises(plugins.PluginError, match="two plugins declare the backend 'fast'"):
        found["fast"].load()


def test_a_name_that_cannot_label_a_benchmark_is_refused():
    found = plugins.discover({}, [entry("My Kernel", "mine.kernel")])
    with pytest.raises(kernels.BackendUnavailable, match="a backend name is lower-case"):
        found["My Kernel"].load()


def test_a_plugin_that_fails_to_import_names_itself_and_its_error():
    found = plugins.discover({}, [entry("broken", "no_such_package_here.kernel")])
    with pytest.raises(plugins.PluginError) as raised:
        found["broken"].load()
    message = str(raised.value)
    assert "plugin backend 'broken' (no_such_package_here.kernel" in message
    assert "failed to import: ModuleNotFoundError" in message


def test_a_plugin_without_the_functions_says_what_to_define():
    found = plugins.discover({}, [entry("empty", "textwrap")])  # a module, but not a backend
    with pytest.raises(plugins.PluginError, match="has neither accelerations"):
        found["empty"].load()


def test_an_installed_plugin_is_a_backend_after_the_built_in_ones(tmp_path):
    site = tmp_path / "site"
    install(site, "student_kernel", {"student": "student_kernel"})
    done = run_python(
        site,
        "import numpy as np, kernels\n"
        "print(kernels.names()[-1], kernels.available()[-1])\n"
        "pos, vel, mass = kernels.initial_conditions(20)\n"
        "mine = kernels.get('student').derivatives(pos, vel, mass)[1]\n"
        "ours = kernels.get('numpy').derivatives(pos, vel, mass)[1]\n"
        "print(np.allclose(mine, ours, rtol=1e-12, atol=0))\n"
        "print(kernels.run_rk2(pos, vel, mass, tend=0.1, tframe=0.05, dt=0.01,"
        " backend='student').shape)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["student student", "True", "(2, 20, 3)"]


def test_a_plugin_runs_in_the_suite_beside_the_built_in_backends(tmp_path):
    """The suite, with three plugins installed: a correct one is timed and summarized beside
    numpy; one that fails to import and one named like a built-in fail, each naming
    itself, while the rest of the suite runs."""
    site = tmp_path / "site"
    install(site, "student_kernel", {"student": "student_kernel"})
    install(site, "broken_kernel", {"broken": "broken_kernel"}, source="import numpyy\n")
    install(site, "greedy_kernel", {"numpy": "greedy_kernel"})
    # Not an xdist worker's variables: pytest-benchmark would take the run for a worker's
    # and refuse to time it.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))
    }
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    selection = ["--backend=numpy", "--backend=student", "--backend=broken"]
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "bench/", "-p", "no:cacheprovider", "-v"),
            *("-k", "derivative and 20", "--benchmark-only", *selection),
            *("--benchmark-min-rounds=1", "--benchmark-max-time=0.001"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-3000:]
    assert "backend student: available" in out
    passed = [line for line in out.splitlines() if "PASSED" in line]
    assert any("[student-20]" in line for line in passed), out[-3000:]
    assert any("[numpy-20]" in line for line in passed), out[-3000:]
    assert (
        "plugin backend 'broken' (broken_kernel, from broken_kernel 1.0) failed to import: "
        "ModuleNotFoundError: No module named 'numpyy'" in out
    )
    assert (
        "plugin problem: plugin backend 'numpy' (greedy_kernel, from greedy_kernel 1.0) "
        "has the name of the built-in backend 'numpy' (kernels.numpy)" in out
    )
    failed = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
    # The broken plugin's tests, and only they: its derivative, its checked call, and its
    # equivalence check (which --benchmark-only would skip, but the plugin fails first).
    assert len(failed) == 3, failed
    assert all("[broken-20]" in line for line in failed), failed
    # The summary's table has the plugin's row, timed like any backend's.
    assert any(line.lstrip("| ").startswith("student") for line in out.splitlines()), out[-4000:]
