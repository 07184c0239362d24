"""nbody-bench sessions. `nox -l` lists them; arguments after `--` go to pytest.

Each session builds the project into its own virtualenv with meson-python's editable
install (its own build directory under build/), so tests and benchmarks import the
compiled extensions, never the bare source tree.
"""

import re
import shutil

import nox

nox.needs_version = ">=2024.3.2"
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
)
# Where pytest-benchmark's JSON of a gate run goes (not committed, like .benchmarks/).
GATE_JSON = "build/gate.json"


def install_project(session, extras=("test", "numba"), setup_args=()):
    """Build tools, then the project, editable; they stay in the venv for rebuilds on import."""
    if not shutil.which("gfortran"):
        session.warn(
            "the Fortran backend is skipped: no gfortran. Fix: apt-get install gfortran, "
            "then rerun (./dev does this itself when run as root)."
        )
    session.install(*BUILD_REQUIRES)
    build_dir = "build/" + re.sub(r"[^A-Za-z0-9_.-]+", "-", session.name).strip("-")
    config = [f"-Cbuild-dir={build_dir}", *(f"-Csetup-args={arg}" for arg in setup_args)]
    session.install("--no-build-isolation", *config, "-e", f".[{','.join(extras)}]")


@nox.session
def tests(session):
    """Unit and equivalence tests, in parallel; each benchmark runs once, untimed."""
    install_project(session)
    session.run("pytest", "-n", "auto", "--benchmark-disable", *session.posargs)


@nox.session
def suite(session):
    """The whole benchmark suite, every backend, ending with the speedup summary."""
    install_project(session)
    session.run("pytest", "bench/", "--benchmark-only", *session.posargs)


@nox.session(default=False)
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def bench(session, backend):
    """One backend against the baseline, with only what that backend needs installed."""
    extras = ["test"] + (["numba"] if backend.startswith("numba") else [])
    # The Fortran session insists on the compiler rather than skipping the backend.
    setup_args = ["-Dfortran=enabled"] if backend == "fortran" else []
    install_project(session, extras, setup_args)
    session.run(
        "pytest",
        "bench/",
        "--benchmark-only",
        "--backend=python",
        f"--backend={backend}",
        *session.posargs,
    )


@nox.session(default=False)
def gate(session):
    """The CI gate: the suite, failing if a speedup falls below pyproject.toml's thresholds."""
    install_project(session)
    session.run(
        "pytest",
        "bench/",
        "--benchmark-only",
        "--gate",
        f"--benchmark-json={GATE_JSON}",
        *session.posargs,
    )
    session.log(f"saved {GATE_JSON}; recheck it with: python -m nbody_bench.gate {GATE_JSON}")


@nox.session(default=False)
def compare(session):
    """The suite, compared with the last saved run; fails on a median slowdown over 25%."""
    install_project(session)
    args = session.posargs or ["--benchmark-compare", "--benchmark-compare-fail=median:25%"]
    session.run("pytest", "bench/", "--benchmark-only", *args)


@nox.session(default=False)
def cli(session):
    """The nbody-bench command: report, profile, animate (nox -s cli -- report --out DIR)."""
    install_project(session, extras=("report", "numba"))
    session.run("nbody-bench", *(session.posargs or ["--help"]))


@nox.session(default=False)
def lint(session):
    """ruff: lint and formatting check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
