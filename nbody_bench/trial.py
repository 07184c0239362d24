"""`nbody-bench try FILE.py:FUNCTION`: check a student's derivative, then place it.

The lecture ends each step on a challenge ("write it in optimal python using numpy. How
fast can you make it"). This takes the function a student wrote, in the lecture's own
form or with the masses as an argument:

    def Nbody_derivatives(pos, vel):        # reads M and N_bodies from its module, which
        ...                                 # this sets for each N, as the lecture's cell
        return dpdt, dvdt                   # sets them once
    def derivatives(pos, vel, mass):
        ...
        return dpdt, dvdt

checks it at N = 1, 2, 3, 20, 100, 1000 against the extended-precision direct sum with
the bound every backend of the suite is held to (nbody_bench.reference), on bodies of
unequal masses (so a mass in the wrong place shows), and says what is wrong, and at which
N, in words a student can act on. Then it times the function on the lecture's workload
(20 bodies, 100 frames, 2000 calls through `run_rk2`) beside the lecture's loop and the
lecture's own steps measured in the same run, and places it among them.

Exit status: 0 correct (and timed), 1 a check failed, 2 the function could not be had.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import json
import math
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import kernels
from kernels.state import closest_pair

from . import lecture, reference
from .formatting import duration, speedup
from .workloads import bodies

SIZES = (1, 2, 3, 20, 100, 1000)
LECTURE_STEPS = ("numpy", "numba", "cython", "fortran")


class TrialError(Exception):
    """The function could not be had (exit status 2); the message says why."""


class TimeLimit(Exception):
    pass


@dataclass
class Check:
    n: int
    ok: bool
    problem: str = ""
    seconds: float = 0.0


@dataclass
class Trial:
    function: str
    form: str  # "lecture" (pos, vel) or "mass" (pos, vel, mass)
    checks: list[Check] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)  # seconds per lecture run
    note: str = ""

    @property
    def correct(self):
        return bool(self.checks) and all(c.ok for c in self.checks)

    def speedups(self):
        base = self.times.get("python")
        return {name: base / t for name, t in self.times.items()} if base else {}


# -- loading -----------------------------------------------------------------------------


def load(target):
    """(function, its file or None) for "path/to/file.py:NAME" or "package.module:NAME"."""
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise TrialError(
            f"{target!r}: give FILE.py:FUNCTION or module:function, "
            "e.g. my_kernel.py:Nbody_derivatives"
        )
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise TrialError(f"{where}: no such file")
        spec = importlib.util.spec_from_file_location(f"nbody_bench_try_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            hint = ""
            if (exc.text or "").lstrip().startswith(("%", "!")):
                hint = " (a notebook's magic command: delete that line, it is not Python)"
            raise TrialError(f"{path}, line {exc.lineno}: SyntaxError: {exc.msg}{hint}") from exc
        except Exception as exc:
            raise TrialError(f"{path} failed to run: {_what_raised(exc, path)}") from exc
        source = path.resolve()
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise TrialError(f"import {where} failed: {type(exc).__name__}: {exc}") from exc
        source = Path(module.__file__).resolve() if getattr(module, "__file__", None) else None
    function = getattr(module, name, None)
    if function is None:
        defined = [k for k, v in vars(module).items() if inspect.isfunction(v)]
        raise TrialError(
            f"{where} has no {name!r}; the functions it defines: {', '.join(defined) or 'none'}"
        )
    if not callable(function):
        raise TrialError(f"{where}:{name} is a {type(function).__name__}, not a function")
    return function, source


def form_of(function):
    """ "lecture" for f(pos, vel), "mass" for f(pos, vel, mass)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a compiled function without a signature: call it as
        return "mass"  # the suite's backends are called
    required = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(required) == 2:
        return "lecture"
    if len(required) == 3:
        return "mass"
    raise TrialError(
        f"the function takes {len(required)} arguments; give f(pos, vel) (the lecture's "
        "form, reading M and N_bodies from its module) or f(pos, vel, mass)"
    )


def caller(function, form):
    """call(pos, vel, mass) -> what the function returns, in either form."""
    if form == "mass":
        return function
    names = getattr(function, "__globals__", None)
    if names is None:
        raise TrialError("a function of the form f(pos, vel) must be Python, to set its M")

    def call(pos, vel, mass):
        names["M"] = mass
        names["N_bodies"] = len(mass)
        return function(pos, vel)

    return call


# -- checking ----------------------------------------------------------------------------


@contextlib.contextmanager
def time_limit(seconds):
    """Raise TimeLimit in the main thread after `seconds` (between Python bytecodes).
    Elsewhere (another thread, a platform without SIGALRM) there is no limit."""
    main = threading.current_thread() is threading.main_thread()
    if not seconds or not main or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(call, n, source=None, limit=60.0):
    """One N: a Check saying whether the function is right there, and if not, why."""
    pos, vel, mass = (np.array(a) for a in bodies(n))  # writeable copies of the seeded input
    given = [a.copy() for a in (pos, vel, mass)]
    start = time.perf_counter()
    try:
        # NumPy's warnings (a division by zero) stay quiet: the result says more.
        with time_limit(limit), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            returned = call(pos, vel, mass)
    except TimeLimit:
        return Check(n, False, f"too slow: it did not finish within {limit:g} s at N = {n} "
                     "(--time-limit sets the limit)", limit)  # fmt: skip
    except Exception as exc:
        return Check(n, False, f"it raised {_what_raised(exc, source)}")
    seconds = time.perf_counter() - start
    problem = judge(returned, pos, vel, mass, given)
    return Check(n, problem is None, problem or "", seconds)


def judge(returned, pos, vel, mass, given):
    """None if the function returned the right thing and left its input alone, else what
    is wrong, in words."""
    n = len(mass)
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        return (
            f"it returned {_describe(returned)}; return two arrays, dpdt and dvdt "
            f"(the velocities and the accelerations), each of shape ({n}, 3)"
        )
    arrays = []
    for label, value in zip(("dpdt", "dvdt"), returned, strict=True):
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is None or array.dtype.kind not in "fiu":
            return f"its {label} is {_describe(value)}, not an array of real numbers"
        if array.shape != (n, 3):
            return (
                f"its {label} has shape {array.shape}; it should be ({n}, 3), one row "
                "(x, y, z) per body"
            )
        arrays.append(array)
    dpdt, dvdt = arrays
    labels = ("pos", "vel", "mass (M)")
    for label, before, after in zip(labels, given, (pos, vel, mass), strict=True):
        if not np.array_equal(before, after):
            return (
                f"it changed its input {label}: the integrator reuses it, so the run would "
                "go wrong; build new arrays instead of writing into the ones given"
            )
    if not np.array_equal(dpdt, vel):
        return "its dpdt is not the velocities: the derivative of the positions is vel"
    if not np.isfinite(dvdt).all():
        return _not_finite(dvdt, pos)
    if dvdt.dtype != np.float64:
        digits = _digits(dvdt.astype(np.float64), *reference.direct_sum(pos, mass))
        return (
            f"precision lost: its dvdt is {dvdt.dtype}, which keeps about "
            f"{_digits_word(digits)} digits here; compute in float64"
        )
    exact, magnitude = reference.direct_sum(pos, mass)
    if (reference.excess(dvdt, exact, magnitude) <= 1).all():
        return None
    return _diagnose(dvdt, pos, mass, exact, magnitude)


def _diagnose(dvdt, pos, mass, exact, magnitude):
    """What a wrong (finite, float64) answer most likely got wrong."""
    unit, _ = reference.direct_sum(pos, np.ones_like(mass))  # every mass 1
    scale = np.abs(exact).max() or 1.0

    def like(model):
        return np.allclose(dvdt, model, rtol=1e-6, atol=1e-9 * scale)

    if like(-exact):
        return (
            "wrong sign: every acceleration points away from the other bodies; gravity "
            "pulls body i toward body j, along pos[j] - pos[i]"
        )
    if like(unit):
        return (
            "a mass left out: the answer is what every mass 1 gives; multiply each pull on "
            "body i by the mass of the body j that pulls (M[j])"
        )
    if like(mass[:, np.newaxis] * unit):
        return (
            "the mass of the wrong body: each pull on body i is scaled by M[i], its own "
            "mass; it is the mass of the body j that pulls (M[j])"
        )
    d = pos[np.newaxis, :, :] - pos[:, np.newaxis, :]
    r2 = (d * d).sum(axis=-1)
    np.fill_diagonal(r2, 1.0)
    if like(((mass / r2)[:, :, np.newaxis] * d).sum(axis=1)):
        return (
            "the force law: the pull is M[j] / r^2 along the unit vector (pos[j] - pos[i]) "
            "/ r; the difference was not divided by r"
        )
    softened = _softening(dvdt, pos, mass, d, r2)
    if softened is not None:
        eps, closest = softened
        # One pair is one equation: any pull weaker than Newton's fits some eps there.
        hedge = " (fitted to the one pair of 2 bodies: a weaker pull of another kind fits too)"
        return (
            f"a softened force law: the answer is what M[j] (pos[j] - pos[i]) / (r^2 + "
            f"eps^2)^1.5 gives, with a softening length eps = {eps:.3g} (eps^2 = "
            f"{eps * eps:.3g}){hedge if len(mass) == 2 else ''}; the lecture's derivative is "
            f"Newton's, unsoftened: drop the eps^2 term (softening changes every pull closer "
            f"than a few eps, and the closest bodies here are {closest:.3g} apart)"
        )
    digits = _digits(dvdt, exact, magnitude)
    worst = np.unravel_index(np.argmax(reference.excess(dvdt, exact, magnitude)), dvdt.shape)
    if digits >= 5:
        return (
            f"precision lost: only about {_digits_word(digits)} digits agree with the exact "
            f"answer (float64 keeps {_digits_word(_float64_digits(len(mass)))} here): is a "
            "step done in float32?"
        )
    return (
        f"wrong answer: body {worst[0]}'s acceleration is {dvdt[worst[0]]}, the exact one "
        f"{exact[worst[0]]}"
    )


# Plummer softening, as N-body tutorials write it: 1/(r^2 + eps^2)^1.5 in place of 1/r^3.
# The fit is over the first rows only (each try of eps costs rows x N pairs).
SOFTENING_ROWS = 64
SOFTENING_RANGE = (1e-6, 1e3)  # eps searched over, in the lecture's units of length


def _softening(dvdt, pos, mass, d, r2):
    """(eps, closest distance) where dvdt is the softened sum for some eps > 0, else None.

    A coarse scan over log(eps), then golden-section refinement around its best point:
    the misfit of a softened model has one minimum near the eps the kernel used."""
    rows = slice(0, min(len(mass), SOFTENING_ROWS))
    d, r2, target = d[rows], r2[rows], dvdt[rows]
    off = ~np.eye(len(mass), dtype=bool)[rows]

    def model(log_eps):
        inverse = np.where(off, (r2 + np.exp(2 * log_eps)) ** -1.5, 0.0)
        return ((mass * inverse)[:, :, np.newaxis] * d).sum(axis=1)

    def misfit(log_eps):
        return float(np.abs(model(log_eps) - target).max())

    low, high = (math.log(x) for x in SOFTENING_RANGE)
    grid = np.linspace(low, high, 60)
    best = int(np.argmin([misfit(x) for x in grid]))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        c, e = b - ratio * (b - a), a + ratio * (b - a)
        if misfit(c) < misfit(e):
            b = e
        else:
            a = c
    log_eps = (a + b) / 2
    scale = np.abs(target).max() or 1.0
    if not np.allclose(target, model(log_eps), rtol=1e-6, atol=1e-9 * scale):
        return None
    if misfit(log_eps) > 1e-3 * misfit(low - 20.0):  # no better than eps = 0: another fault
        return None
    closest = math.sqrt(float(np.where(off, r2, np.inf).min()))
    return math.exp(log_eps), closest


def _not_finite(dvdt, pos):
    if np.isnan(dvdt).any(axis=1).all():
        return (
            "NaN in every body's acceleration: a body pulling on itself? The term "
            "j == i divides a distance of zero by zero: skip it (if i == j: continue)"
        )
    bad = np.flatnonzero(~np.isfinite(dvdt).all(axis=1))
    what = "NaN" if np.isnan(dvdt).any() else "inf"
    closest = closest_pair(pos)[2] if len(pos) > 1 else math.inf
    return (
        f"{what} in the acceleration of {len(bad)} of the {len(dvdt)} bodies (the first: "
        f"body {bad[0]}); no two bodies here are closer than {closest:.2g}, so every term "
        "of a correct sum is finite"
    )


def _digits(acc, exact, magnitude):
    """How many significant digits agree with the exact answer, relative to the terms."""
    scale = np.where(magnitude > 0, magnitude, 1.0)
    worst = (np.abs(acc - exact) / scale).max()
    return 17.0 if worst == 0 else max(0.0, -math.log10(worst))


def _float64_digits(n):
    return -math.log10((n + 10) * np.finfo(np.float64).eps)


def _digits_word(digits):
    return f"{digits:.0f}"


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"{type(value).__name__} {value!r:.60}"


def _what_raised(exc, source):
    """The exception and the line of the student's file it came from."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if source is not None:
        own = [f for f in frames if Path(f.filename).resolve() == Path(source).resolve()]
        if own:
            frame = own[-1]
            where = f" at line {frame.lineno} of {Path(frame.filename).name}"
            if frame.line:
                where += f": {frame.line.strip()}"
    return f"{type(exc).__name__}: {exc}{where}"


# -- timing ------------------------------------------------------------------------------


def derivative_backend(call):
    """A kernels.Backend running the student's function in `run_rk2`'s loop."""

    def derivatives_into(state, mass, rate):
        dpdt, dvdt = call(state[0], state[1], mass)
        rate[0] = dpdt
        rate[1] = dvdt

    return kernels.Backend("yours", derivatives_into)


def time_lecture(contenders, rounds):
    """{name: fastest lecture run, seconds}, the contenders taking turns round by round,
    so a burst of load on a shared machine falls on all of them alike."""
    pos, vel = lecture.state()[:2]
    mass = np.ones(lecture.N)
    for backend in contenders.values():  # untimed: compiles (Numba), warms caches
        kernels.run_rk2(pos, vel, mass, tend=0.01, tframe=0.01, dt=0.001, backend=backend)
    best = dict.fromkeys(contenders, math.inf)
    for _ in range(rounds):
        for name, backend in contenders.items():
            start = time.perf_counter()
            kernels.run_rk2(pos, vel, mass, **lecture.TIMES, backend=backend)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def run(target, sizes=SIZES, limit=60.0, rounds=3, timing=True, out=None):
    """Check and time `target`; returns the Trial (printing as it goes to `out`)."""
    out = out or sys.stdout
    function, source = load(target)
    form = form_of(function)
    trial = Trial(target, form)
    call = caller(function, form)
    shown = (
        "f(pos, vel), with M and N_bodies set in its module for each N"
        if form == "lecture"
        else "f(pos, vel, mass)"
    )
    print(f"nbody-bench try {target}: {shown}", file=out)
    for n in sizes:
        result = check(call, n, source, limit)
        trial.checks.append(result)
        status = f"ok ({duration(result.seconds, 3)})" if result.ok else f"WRONG: {result.problem}"
        print(f"  N = {n:<5} {status}", file=out, flush=True)
        if not result.ok:
            print(f"not correct at N = {n}: {result.problem}", file=out)
            return trial
    print(
        "correct: within the suite's float64 bound of the exact answer at every N checked",
        file=out,
    )
    if not timing:
        return trial
    at20 = next((c.seconds for c in trial.checks if c.n == lecture.N), None)
    calls = lecture.CALLS
    if at20 is not None and at20 * calls > 10 * 60:
        trial.note = (
            f"not timed: a lecture run is {calls} calls at N = 20, about "
            f"{duration(at20 * calls, 3)} at the {duration(at20, 3)} a call measured above"
        )
        print(trial.note, file=out)
        return trial
    contenders = {"python": "python", "yours": derivative_backend(call)}
    contenders.update((b, b) for b in LECTURE_STEPS if b in kernels.available())
    print(
        f"timing the lecture's run (20 bodies, {calls} calls through run_rk2), best of "
        f"{rounds} round(s), taking turns: {', '.join(contenders)}",
        file=out,
        flush=True,
    )
    trial.times = time_lecture(contenders, rounds)
    print(placement(trial), file=out)
    return trial


def placement(trial):
    speedups = trial.speedups()
    lines = [f"  {'':<8} {'run':>10}  {'vs the lecture loop':>20}"]
    for name, seconds in sorted(trial.times.items(), key=lambda kv: kv[1], reverse=True):
        label = "yours" if name == "yours" else name
        lines.append(f"  {label:<8} {duration(seconds, 3):>10}  {speedup(speedups[name]):>20}")
    claims = ", ".join(
        f"{ {'numpy': 'NumPy', 'cython': 'Cython', 'fortran': 'Fortran'}[b] } about {x}x"
        for b, x in lecture.CLAIMS.items()
    )
    here = ", ".join(f"{b} {speedup(speedups[b])}" for b in LECTURE_STEPS if b in speedups)
    lines.append(
        f"your function: {speedup(speedups['yours'])} the lecture's loop; the lecture's "
        f"steps claim {claims}; here {here}"
    )
    return "\n".join(lines)


def to_json(trial):
    return {
        "function": trial.function,
        "form": trial.form,
        "correct": trial.correct,
        "checks": [asdict(c) for c in trial.checks],
        "seconds": trial.times,
        "speedup_over_lecture_loop": trial.speedups(),
        "note": trial.note,
    }


def write_json(trial, path):
    """The trial as JSON, written whole or not at all."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(to_json(trial), indent=1) + "\n")
    partial.replace(path)
