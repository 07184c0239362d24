"""nbody-bench sessions. `nox -l` lists them; arguments after `--` go to pytest.

Each session builds the project into its own virtualenv with meson-python's editable
install (its own build directory under build/), so tests and benchmarks import the
compiled extensions, never the bare source tree.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.needs_version = ">=2024.3.2"


def under_ci():
    """CI=true, as nbody_bench.required reads it (which nox's environment cannot import)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
BUILD_REQUIRES = PYPROJECT["build-system"]["requires"]
# Every backend but the baseline (kernels.BACKENDS, which nox's own environment cannot import).
BACKENDS = (
    "numpy",
    "numba",
    "cython",
    "fortran",
    "multiprocessing",
    "c-reference",
    "numba-parallel",
    "multiprocessing-shared",
    "simd",
    "simd-parallel",
    "dask",
    "pythran",
    "jax",
    "cuda",
    "cupy",
)
# The compare nominates a benchmark whose fastest round is this much slower than the
# median of its saved runs of the same build, and than its own noise on record; the A/B
# check against the last run's commit decides (nbody_bench.recheck; docs/checks.md, "The compare").
COMPARE_NOMINATES = "0.1"
# The two builds every timing check is calibrated on. "native" compiles for this CPU;
# "portable" is what a wheel for any x86-64 gets (no -march=native, and Numba generating
# code for a generic CPU through its documented NUMBA_CPU_NAME), standing in for a CPU
# without AVX-512 or AVX2. Each keeps its own build folder and saved-run history.
BUILDS = {
    "native": {"setup_args": (), "env": {}, "storage": ".benchmarks"},
    "portable": {
        "setup_args": ("-Dnative=false",),
        "env": {"NUMBA_CPU_NAME": "generic"},
        "storage": ".benchmarks/portable",
    },
}


def install_project(
    session, extras=("test", "numba", "dask", "jax", "notebook", "cuda", "publish"), setup_args=()
):
    """Build tools, then the project, editable; they stay in the venv for rebuilds on import."""
    warn_without_fortran(session)
    session.install(*BUILD_REQUIRES)
    build_dir = "build/" + re.sub(r"[^A-Za-z0-9_.-]+", "-", session.name).strip("-")
    config = [f"-Cbuild-dir={build_dir}", *(f"-Csetup-args={arg}" for arg in setup_args)]
    session.install("--no-build-isolation", *config, "-e", f".[{','.join(extras)}]")


def warn_without_fortran(session):
    if not shutil.which("gfortran"):
        session.warn(
            "the Fortran backend is skipped: no gfortran. Fix: apt-get install gfortran, "
            "then rerun (./dev does this itself when run as root)."
        )


# The extras of the environment that tests and times the project: every backend's, the
# notebook's, and numba-cuda with NVVM and NVRTC as wheels (tests/test_gpu.py compiles the
# cuda backend's kernels for an H200, to PTX with no GPU, which the simulator cannot check).
PROJECT_EXTRAS = ("test", "numba", "dask", "jax", "notebook", "cuda", "publish")
PROJECT_EXTRA_PACKAGES = ("numba-cuda[cu13]",)


def project_env(session, build):
    """The environment of a build, made once and shared by the sessions that test or time
    the project (tests, suite, gate, compare): CI builds the project once for its tests
    and its gate, and after `./dev test` a `./dev gate` has nothing to rebuild.

    nox gives each session a virtualenv of its own, so these sessions run without one
    (venv_backend="none") in .nox/project-BUILD, whose editable install builds in
    build/BUILD. Returns the environment variables to run its commands with.
    """
    config = BUILDS[build]
    location = (Path(".nox") / f"project-{build}").resolve()
    python = location / "bin" / "python"
    # Its bin/ first: the build runs meson, ninja, cython and pythran from there, and so
    # does every rebuild of the editable install on import.
    path = f"{location / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**config["env"], "PATH": path, "VIRTUAL_ENV": str(location)}
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(location), external=True)
        session.run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip", external=True)
    warn_without_fortran(session)
    pip = (str(python), "-m", "pip", "install", "--quiet")
    session.run(*pip, *BUILD_REQUIRES, *PROJECT_EXTRA_PACKAGES, env=env, external=True)
    setup = [f"-Csetup-args={arg}" for arg in config["setup_args"]]
    editable = (f"-Cbuild-dir=build/{build}", *setup, "-e", f".[{','.join(PROJECT_EXTRAS)}]")
    session.run(*pip, "--no-build-isolation", *editable, env=env, external=True)
    return env


def run_in(session, env, program, *args, **kwargs):
    """session.run of one of the project environment's commands (pytest, python)."""
    command = Path(env["VIRTUAL_ENV"]) / "bin" / program
    session.run(str(command), *args, env=env, external=True, **kwargs)


@nox.session(venv_backend="none")
def tests(session):
    """Unit and equivalence tests, in parallel; each benchmark runs once, untimed. Then the
    tests that time code (marked `alone`: the bisection's), with the machine to themselves:
    on 2 vCPUs the parallel tests' load would decide what they measure.

    Under CI (CI=true) every CPU backend must be there (nbody_bench.required), and the
    benchmarks the gate times are left to `./dev gate`, which checks each before timing it:
    every item's checks run once."""
    env = project_env(session, "native")
    ci = ["--ungated"] if under_ci() else []
    if ci:
        session.log("CI: the gated benchmarks are left to ./dev gate, which checks and times them")
    # Two workers for two cores (`-n auto` would count hyperthreads on a larger machine).
    # Exit status 5: the arguments (-k EXPR, a file) selected none of that part.
    parallel = ("pytest", "-n", "2", "--benchmark-disable", "-m", "not alone", "--durations=15")
    run_in(session, env, *parallel, *ci, *session.posargs, success_codes=[0, 5])
    if not session.posargs:
        # cuda's contract (validation, boundary cases, array-likes) on Numba's CUDA
        # simulator, which runs its kernels on the CPU: there it is required under CI.
        simulated = {**env, "NUMBA_ENABLE_CUDASIM": "1"}
        contract = (
            "tests/test_validation.py",
            "tests/test_boundary.py",
            "tests/test_array_likes.py",
        )
        run_in(session, simulated, "pytest", "-n", "2", "-k", "cuda", *contract)
    alone = ("pytest", "--benchmark-disable", "-m", "alone", "--durations=5")
    run_in(session, env, *alone, *session.posargs, success_codes=[0, 5])


def run_suite(session, build, *args, env=None):
    """The benchmark suite on a build of BUILDS, with that build's history folder."""
    env = env or project_env(session, build)
    storage = f"--benchmark-storage=file://{BUILDS[build]['storage']}"
    run_in(session, env, "pytest", "bench/", "--benchmark-only", storage, *args, *session.posargs)


@nox.session(venv_backend="none")
@nox.parametrize("build", list(BUILDS), ids=list(BUILDS))
def suite(session, build):
    """The whole benchmark suite, every backend, ending with the summary and the gate's verdicts."""
    run_suite(session, build)


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def bench(session, backend):
    """One backend against the baseline, with only what that backend needs installed."""
    extras = ["test"] + (["numba"] if backend.startswith("numba") else [])
    extras += [backend] if backend in ("dask", "jax", "cuda") else []
    # The Fortran and Pythran sessions insist on their tool rather than skipping the backend.
    setup_args = [f"-D{backend}=enabled"] if backend in ("fortran", "pythran") else []
    install_project(session, extras, setup_args)
    session.run(
        "pytest",
        "bench/",
        "--benchmark-only",
        "--backend=python",
        f"--backend={backend}",
        *session.posargs,
    )


@nox.session(default=False, venv_backend="none")
@nox.parametrize("build", list(BUILDS), ids=list(BUILDS))
def gate(session, build):
    """The CI gate: the benchmarks its bounds read, failing where a like-for-like ratio
    breaks its bound (the rest of the suite: ./dev bench)."""
    json_path = f"build/gate-{build}.json"  # not committed, like .benchmarks/
    run_suite(session, build, "--gate", "--gated", f"--benchmark-json={json_path}")
    session.log(f"saved {json_path}; judge it again with: nbody-bench gate {json_path}")


@nox.session(default=False, venv_backend="none")
@nox.parametrize("build", list(BUILDS), ids=list(BUILDS))
def compare(session, build):
    """The suite against the last saved run of this build, saved; slow-downs re-measured."""
    storage = Path(BUILDS[build]["storage"])
    args = ["--benchmark-autosave"]
    saved = any(storage.glob("*/[0-9][0-9][0-9][0-9]_*.json"))
    if saved:
        args.append("--benchmark-compare")
    else:
        session.log(f"no saved run in {storage}/ yet: this run is saved for the next compare")
    # A failing suite (a broken gate bound, a failed equivalence check) still gets the second
    # look, so the report says what a slow-down was; the session fails after it either way.
    env = project_env(session, build)
    try:
        run_suite(session, build, *args, env=env)
        suite_failed = None
    except CommandFailed as failure:
        suite_failed = failure
    if saved:
        portable = ["--portable"] if build == "portable" else []
        run_in(
            session, env, "python", "-m", "nbody_bench.recheck", f"--storage={storage}",
            f"--threshold={COMPARE_NOMINATES}", *portable,
        )  # fmt: skip
    if suite_failed is not None:
        session.error(f"the suite failed ({suite_failed.reason}): see its report above")


def install_dependencies(session):
    """The project's dependencies and build tools, not the project: for sessions that build
    commits of their own, where an editable install would only be in the way."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    session.install(*BUILD_REQUIRES, *PYPROJECT["project"]["dependencies"])
    session.install(*extras["numba"], *extras["dask"], *extras["jax"], *extras["test"])


@nox.session(default=False)
def ab(session):
    """A/B: HEAD (default: the working tree) against BASE, alternating (-- BASE [HEAD] ...)."""
    install_dependencies(session)
    if not session.posargs:
        session.error("give the commit to compare against: ./dev ab BASE [HEAD] [-k EXPR]")
    session.run("python", "-m", "nbody_bench.ab", *session.posargs)


@nox.session(default=False)
def bisect(session):
    """The first commit that made a benchmark slower (-- GOOD BAD -k EXPR)."""
    install_dependencies(session)
    if len(session.posargs) < 2:
        session.error("give two commits and a benchmark: ./dev bisect GOOD BAD -k EXPR")
    session.run("python", "-m", "nbody_bench.bisect", *session.posargs)


@nox.session(default=False)
def sass(session):
    """One pair of the cuda kernel in the GPU's machine code, counted: no GPU needed."""
    install_project(session, extras=("cuda",))
    # NVVM, ptxas and nvdisasm of the GPU machines' CUDA 13, at the pins of .ci/cuda13.txt.
    pins = ("-c", ".ci/cuda13.txt")
    session.install(*pins, "numba-cuda[cu13]", "nvidia-cuda-nvcc", "nvidia-cuda-nvdisasm")
    session.run("python", "-m", "nbody_bench.sass", *session.posargs)


@nox.session(default=False, venv_backend="none")
def cli(session):
    """The nbody-bench command, every tool a subcommand (-- try my_kernel.py:f), run from
    the folder `./dev` was called from, so that paths are the caller's."""
    env = project_env(session, "native")
    session.chdir(os.environ.get("NBODY_BENCH_CALLER", "."))
    run_in(session, env, "nbody-bench", *(session.posargs or ["--help"]))


@nox.session(default=False, venv_backend="none")
@nox.parametrize("build", list(BUILDS), ids=list(BUILDS))
def record(session, build):
    """The whole suite, recorded for the docs: results/MACHINE-BUILD.json, which
    `nbody-bench render` draws the docs' tables from (commit it with the redrawn pages)."""
    env = project_env(session, build)
    partial = Path("build") / f"record-{build}.json"
    run_suite(session, build, f"--benchmark-json={partial}", env=env)
    # The file is named by the run's machine key (nbody_bench.machines, as publish and
    # collect name it: amd-f25-m17-avx512-2cpu-native), read by the project itself.
    said = session.run(
        "python",
        "-c",
        "import sys; from nbody_bench.history import read_run; "
        "print('machine:', read_run(sys.argv[1]).machine.key)",
        str(partial),
        env=env,
        silent=True,
    )
    keys = re.findall(r"^machine: ([a-z0-9-]+)$", said or "", re.M)
    if not keys:
        session.error(f"no machine key read from {partial}: {said}")
    recorded = Path("results") / f"{keys[-1]}.json"
    recorded.parent.mkdir(exist_ok=True)
    # Each round's time (stats.data) would make it 100 MB; the statistics stay.
    run = json.loads(partial.read_text(encoding="utf-8"))
    for benchmark in run["benchmarks"]:
        benchmark["stats"].pop("data", None)
    partial.write_text(json.dumps(run, indent=1) + "\n", encoding="utf-8")
    partial.replace(recorded)  # a run that failed leaves the recorded one as it was
    session.log(f"recorded {recorded}; redraw the docs' tables: ./dev nbody-bench render")


@nox.session(default=False)
def notebook(session):
    """The lecture as a notebook: opened in JupyterLab, or with -- --run executed headless
    into build/notebook/lecture.ipynb (-- --run --quick: at a tenth of the size)."""
    install_project(session, extras=("notebook", "numba", "dask", "jax"))
    if "--run" in session.posargs:
        options = [a for a in session.posargs if a != "--run"]
        session.run("python", "-m", "nbody_bench.notebook", *options)
        return
    session.install("jupyterlab")
    # The .ipynb paired with the text file (git ignores it; the text file's header pairs
    # them): edits saved in JupyterLab go to both, through jupytext's contents manager.
    session.run("jupytext", "--sync", "notebooks/lecture.py")
    root = ["--allow-root"] if os.geteuid() == 0 else []  # JupyterLab refuses root otherwise
    session.run("jupyter", "lab", "notebooks/lecture.ipynb", *root, *session.posargs)


@nox.session(default=False)
def lint(session):
    """ruff: lint and formatting check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
