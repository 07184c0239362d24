"""nbody-bench sessions. `nox -l` lists them; arguments after `--` go to pytest.

Each session builds the project into its own virtualenv with meson-python's editable
install, so tests and benchmarks import the compiled extensions, not the bare source tree.
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


def install_project(session, extras="test"):
    """Editable install with the build tools in the venv (needed again at every import)."""
    if not shutil.which("gfortran"):
        session.warn(
            "Fortran backend skipped: gfortran not found. Fix: apt-get install gfortran, "
            "then rerun (./dev installs it when run as root)."
        )
    session.install(*BUILD_REQUIRES)
    build_dir = "build/" + re.sub(r"[^A-Za-z0-9_.-]+", "-", session.name).strip("-")
    session.install("--no-build-isolation", f"-Cbuild-dir={build_dir}", "-e", f".[{extras}]")


@nox.session
def tests(session):
    """Unit and equivalence tests in parallel; each benchmark runs once, untimed."""
    install_project(session)
    session.run("pytest", "-n", "auto", "--benchmark-disable", *session.posargs)


@nox.session
def bench(session):
    """The benchmark suite: every backend timed with pytest-benchmark, after its check."""
    install_project(session)
    session.run("pytest", "bench/", "--benchmark-only", *session.posargs)


@nox.session(default=False)
def lint(session):
    """ruff: lint and formatting check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
