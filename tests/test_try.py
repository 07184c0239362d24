"""`nbody-bench try`: each mistake a student makes, made by a kernel, and what it is told."""

import json
import textwrap

import numpy as np
import pytest

from nbody_bench import cli, reference

pytestmark = pytest.mark.skipif(
    not reference.EXTENDED, reason="long double is no wider than float64 here: no reference"
)

# The lecture's cell, pasted as it stands (its notebook magics aside).
LECTURE_CELL = """
import numpy as np
N_massive = 20
N_bodies = N_massive
M = np.ones(N_bodies)

def Nbody_derivatives(pos,vel) :
    dpdt = vel
    dvdt = np.zeros(vel.shape)
    for i in range(N_bodies) :
        for j in range(N_bodies) :
            if i == j :
                continue
            r = np.linalg.norm( pos[j]-pos[i])
            mass = M[j]
            rhat =(pos[j] - pos[i])/r
            dvdt[i] += mass/(r*r)*rhat

    return dpdt, dvdt
"""

# The lecture's loop with one line changed: {pull} is the term added to dvdt[i].
TEMPLATE = """
import numpy as np

def derivatives(pos, vel, mass):
    n = len(mass)
    dvdt = np.zeros(vel.shape)
    for i in range(n):
        for j in range(n):
            {skip}
            d = pos[j] - pos[i]
            r = np.sqrt((d * d).sum())
            dvdt[i] += {pull}
    return {returned}
"""
RIGHT = {"skip": "if i == j: continue", "pull": "mass[j] * d / r**3", "returned": "vel, dvdt"}


def kernel(tmp_path, source=None, **changes):
    path = tmp_path / "kernel.py"
    path.write_text(textwrap.dedent(source or TEMPLATE.format(**{**RIGHT, **changes})))
    return f"{path}:derivatives" if source is None else str(path)


def try_(capsys, target, *options):
    status = cli.main(["try", target, "--check-only", *options])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_a_correct_kernel_passes_every_n(tmp_path, capsys):
    status, out = try_(capsys, kernel(tmp_path))
    assert status == 0, out
    for n in (1, 2, 3, 20, 100, 1000):
        assert f"N = {n:<5} ok" in out
    assert "correct: within the suite's float64 bound" in out


MISTAKES = {
    "self-pull": (
        {"skip": "pass"},
        1,
        "NaN in every body's acceleration: a body pulling on itself? The term j == i "
        "divides a distance of zero by zero: skip it (if i == j: continue)",
    ),
    "wrong sign": (
        {"pull": "mass[j] * -d / r**3"},
        2,
        "wrong sign: every acceleration points away from the other bodies",
    ),
    "mass left out": (
        {"pull": "d / r**3"},
        2,
        "a mass left out: the answer is what every mass 1 gives; multiply each pull on "
        "body i by the mass of the body j that pulls (M[j])",
    ),
    "mass of the wrong body": (
        {"pull": "mass[i] * d / r**3"},
        2,
        "the mass of the wrong body: each pull on body i is scaled by M[i], its own mass",
    ),
    "force law": (
        {"pull": "mass[j] * d / r**2"},
        2,
        "the force law: the pull is M[j] / r^2 along the unit vector",
    ),
    "softened force law": (
        {"pull": "mass[j] * d / (r**2 + 0.1**2)**1.5"},
        2,
        "a softened force law: the answer is what M[j] (pos[j] - pos[i]) / (r^2 + eps^2)^1.5 "
        "gives, with a softening length eps = 0.1 (eps^2 = 0.01) (fitted to the one pair of 2 "
        "bodies: a weaker pull of another kind fits too); the lecture's derivative is "
        "Newton's, unsoftened: drop the eps^2 term",
    ),
    "float32 returned": (
        {"returned": "vel, dvdt.astype(np.float32)"},
        1,
        "precision lost: its dvdt is float32, which keeps about",
    ),
    "float32 inside": (
        {"pull": "np.float32(mass[j]) * d.astype(np.float32) / np.float32(r)**3"},
        2,
        "precision lost: only about 7 digits agree with the exact answer",
    ),
    "wrong shape": (
        {"returned": "vel, dvdt[:, :2]"},
        1,
        "its dvdt has shape (1, 2); it should be (1, 3), one row (x, y, z) per body",
    ),
    "wrong type": (
        {"returned": "dvdt"},
        1,
        "it returned an array of shape (1, 3) (float64); return two arrays, dpdt and dvdt",
    ),
    "dpdt not the velocities": (
        {"returned": "pos, dvdt"},
        1,
        "its dpdt is not the velocities",
    ),
    "input modified": (
        {"skip": "if i == j: continue\n            pos[i] -= 0.5 * pos[i]"},
        2,  # at N = 1 the loop never reaches it
        "it changed its input pos: the integrator reuses it",
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_is_named_at_the_first_n_it_shows(tmp_path, capsys, mistake):
    changes, first_n, message = MISTAKES[mistake]
    status, out = try_(capsys, kernel(tmp_path, **changes))
    assert status == 1, out
    assert f"not correct at N = {first_n}: " in out, out
    assert message in out, out


@pytest.mark.parametrize("eps", [1e-3, 0.05, 2.0])
def test_softening_is_named_with_its_length_at_every_size(eps):
    """The fit finds eps from a few rows at N = 1000 as at N = 2; a kernel that is wrong
    another way is not called softened."""
    from nbody_bench import trial

    for n in (2, 20, 1000):
        pos, _, mass = (np.array(a) for a in trial.bodies(n))
        d = pos[np.newaxis, :, :] - pos[:, np.newaxis, :]
        r2 = (d * d).sum(axis=-1)
        np.fill_diagonal(r2, 1.0)
        inverse = (r2 + eps * eps) ** -1.5
        np.fill_diagonal(inverse, 0.0)
        softened = ((mass * inverse)[:, :, np.newaxis] * d).sum(axis=1)
        found, closest = trial._softening(softened, pos, mass, d, r2)
        assert found == pytest.approx(eps, rel=1e-6)
        assert closest > 0
        if n > 2:  # one pair: some eps gives any pull weaker than Newton's
            assert trial._softening(1.01 * softened, pos, mass, d, r2) is None


def test_an_exception_is_shown_with_its_line_in_the_students_file(tmp_path, capsys):
    target = kernel(tmp_path, pull="mass[j] * d / nump.sqrt(r)**3")
    status, out = try_(capsys, target)
    assert status == 1
    assert (
        "not correct at N = 2: it raised NameError: name 'nump' is not defined at line 12 "
        "of kernel.py: dvdt[i] += mass[j] * d / nump.sqrt(r)**3"
    ) in out, out


def test_too_slow_names_the_limit_and_the_n(tmp_path, capsys):
    target = kernel(
        tmp_path, skip="if i == j: continue\n            __import__('time').sleep(0.01)"
    )
    status, out = try_(capsys, target, "--time-limit", "0.5")
    assert status == 1
    assert "not correct at N = 20: too slow: it did not finish within 0.5 s at N = 20" in out, out


def test_wrong_accelerations_at_one_body_only_say_where(tmp_path, capsys):
    wrong_once = "mass[j] * d / r**3 * (1.001 if (i, j) == (1, 0) else 1.0)"
    status, out = try_(capsys, kernel(tmp_path, pull=wrong_once))
    assert status == 1
    assert "not correct at N = 2: wrong answer: body 1's acceleration is" in out, out


def test_a_term_that_divides_by_zero_gives_inf_named_with_its_bodies(tmp_path, capsys):
    source = TEMPLATE.format(
        **{**RIGHT, "pull": "mass[j] * d / (r - np.sqrt(((pos[1] - pos[0])**2).sum()))**3"}
    )
    status, out = try_(capsys, kernel(tmp_path, source) + ":derivatives")
    assert status == 1
    assert "not correct at N = 2: " in out
    assert (
        "inf in the acceleration of 2 of the 2 bodies (the first: body 0); no two "
        "bodies here are closer than 0.36" in out
    ), out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("kernel.py", "give FILE.py:FUNCTION or module:function"),
        ("missing.py:f", "missing.py: no such file"),
        ("kernel.py:nope", "has no 'nope'; the functions it defines: derivatives"),
        ("numpy:pi", "numpy:pi is a float, not a function"),
    ],
)
def test_a_function_that_cannot_be_had_exits_2_saying_why(
    tmp_path, capsys, monkeypatch, target, message
):
    monkeypatch.chdir(tmp_path)
    kernel(tmp_path)
    status, out = try_(capsys, target)
    assert status == 2
    assert message in out, out


def test_a_pasted_notebook_magic_is_pointed_out(tmp_path, capsys):
    target = kernel(tmp_path, "%matplotlib inline\n" + LECTURE_CELL) + ":Nbody_derivatives"
    status, out = try_(capsys, target)
    assert status == 2
    assert "kernel.py, line 1: SyntaxError" in out
    assert "a notebook's magic command: delete that line" in out


def test_a_function_of_another_arity_is_refused(tmp_path, capsys):
    source = "def derivatives(pos):\n    return pos\n"
    status, out = try_(capsys, kernel(tmp_path, source) + ":derivatives")
    assert status == 2
    assert "the function takes 1 arguments; give f(pos, vel)" in out


def test_the_lecture_cell_passes_with_its_globals_set_per_n(tmp_path, capsys):
    target = kernel(tmp_path, LECTURE_CELL) + ":Nbody_derivatives"
    json_path = tmp_path / "trial.json"
    status, out = try_(
        capsys, target, "--n", "1", "--n", "3", "--n", "100", "--json", str(json_path)
    )
    assert status == 0, out
    assert "f(pos, vel), with M and N_bodies set in its module for each N" in out
    written = json.loads(json_path.read_text())
    assert written["correct"] is True
    assert [c["n"] for c in written["checks"]] == [1, 3, 100]
    assert written["seconds"] == {}  # --check-only: nothing timed


@pytest.mark.alone
def test_the_lecture_cell_is_placed_near_the_lecture_loop(tmp_path, capsys):
    """Timed: the lecture's own function is the lecture's loop, so it lands near 1x. Its
    equal is timed in alternation beside it; the band is wide for a shared machine."""
    target = kernel(tmp_path, LECTURE_CELL) + ":Nbody_derivatives"
    json_path = tmp_path / "trial.json"
    status = cli.main(["try", target, "--n", "20", "--rounds", "2", "--json", str(json_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    speedup = json.loads(json_path.read_text())["speedup_over_lecture_loop"]
    assert 0.6 < speedup["yours"] < 1.6, out
    assert "your function: " in out
    assert "the lecture's steps claim NumPy about 20x, Cython about 100x, Fortran about 600x" in out


def test_a_module_function_is_found_on_the_path(tmp_path, capsys, monkeypatch):
    package = tmp_path / "homework"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "kernel.py").write_text(textwrap.dedent(TEMPLATE.format(**RIGHT)))
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out = try_(capsys, "homework.kernel:derivatives", "--n", "20")
    assert status == 0, out
    assert "nbody-bench try homework.kernel:derivatives: f(pos, vel, mass)" in out
