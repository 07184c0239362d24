# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Python optimization, measured on this machine
#
# The lecture takes one kernel, the gravitational N-body derivative, and makes it fast
# step by step: profile, vectorize with NumPy, JIT with Numba, compile with Cython and
# with Fortran, and try multiprocessing. This notebook takes the same steps with the
# code of nbody-bench, each one timed here, now, on the lecture's run (20 bodies, 100
# frames, 2000 derivative calls), beside what the lecture says it got.
#
# Run it top to bottom (`./dev notebook` opens it; `./dev notebook --run` runs it
# headless). The tests run it at a tenth of the run's length.

# %%
import matplotlib.pyplot as plt
from IPython.display import HTML, Markdown, display

import kernels
import kernels.multiprocessing_shared
import kernels.numpy as numpy_kernel
import kernels.python as python_kernel
from kernels.multiprocessing import close_pool, usable_cores
from nbody_bench import notebook
from nbody_bench.animation import animate
from nbody_bench.lecture import CLAIMS as LECTURE_CLAIMS
from nbody_bench.lecture import plugged_in, run_nbody_rk2

TEND, ROUNDS = notebook.sizes()
TFRAME, DT = 0.01, 0.001
pos, vel, mass = notebook.lecture_state()
times = {}


def lecture_run(backend):
    """The lecture's own driver, calling the backend's derivatives() as the lecture does."""
    return run_nbody_rk2(pos, vel, TEND, TFRAME, DT, plugged_in(backend, mass))


print(f"backends here: {', '.join(kernels.available())}")
print(f"the run: tend = {TEND}, {ROUNDS} round(s) per timing, fastest kept")

# %% [markdown]
# ## 1. Profile first
#
# The lecture's loop, with `%prun`: where does the time go? Nearly all of it in the pair
# loop's `np.linalg.norm` and the small array operations around it, called N² times a
# step: each is a Python-level call on a 3-vector.

# %%
notebook.source_of(python_kernel.accelerations)

# %%
# profile = %prun -r -q lecture_run("python")
stats = profile.sort_stats("tottime").print_stats(8)  # noqa: F821 (profile: from %prun)

# %%
times["python"] = notebook.time_run(lambda: lecture_run("python"), ROUNDS)
print(f"the lecture's loop: {times['python']:.3g} s a run")

# %% [markdown]
# The run, animated as the lecture shows it (inline JavaScript: no video encoder needed).

# %%
frames = lecture_run("numpy")
animation = animate(frames, title="20 bodies", tframe=TFRAME)
display(HTML(animation.to_jshtml()))
plt.close(animation.fig)

# %% [markdown]
# ## 2. NumPy: every pair at once
#
# "Write it in optimal python using numpy. How fast can you make it." The pairs as
# arrays: one subtraction broadcast over all (i, j), no Python loop. The lecture got
# about 20x.

# %%
notebook.source_of(numpy_kernel.block_accelerations)

# %%
times["numpy"] = notebook.time_run(lambda: lecture_run("numpy"), ROUNDS)
print(f"numpy: {times['python'] / times['numpy']:.3g}x the lecture's loop")

# %% [markdown]
# ## 3. Numba: the loop, compiled as it stands
#
# `@njit` compiles the Python loop to machine code; with the arithmetic written on
# scalars (no 3-vectors), nothing of Python is left in it.

# %%
if "numba" in kernels.available():
    import kernels.numba as numba_kernel

    display(notebook.source_of(numba_kernel.all_pairs_loop))
    times["numba"] = notebook.time_run(lambda: lecture_run("numba"), ROUNDS)
    print(f"numba: {times['python'] / times['numba']:,.0f}x the lecture's loop")
else:
    print("numba is not installed here: pip install '.[numba]'")

# %% [markdown]
# ## 4. Cython: only types make it fast
#
# The lecture's first attempt compiles its loop unchanged and gets no speedup. Cython's
# annotation (`cython -a`) shows why: every yellow line calls into Python. Beside it, the
# typed kernel the suite times, whose loop lines are white: C doubles and pointers only.

# %%
first, first_yellow, first_lines = notebook.annotate("cython_first_attempt.pyx")
typed, typed_yellow, typed_lines = notebook.annotate("../kernels/cy/_nbody.pyx")
pair_loop = notebook.lines_of("../kernels/cy/_nbody.pyx", "pair_accelerations")
display(
    Markdown(
        f"The first attempt: **{len(first_yellow)} of {first_lines}** lines of code call "
        f"into Python. The typed kernel: **{len(typed_yellow)} of {typed_lines}**, at its "
        f"Python-facing edges (lines {', '.join(map(str, typed_yellow))}); in its pair loop "
        f"(`pair_accelerations`, lines {pair_loop.start}-{pair_loop.stop - 1}): "
        f"**{sum(line in pair_loop for line in typed_yellow)}**."
    )
)
display(notebook.annotated(first))

# %%
display(notebook.annotated(typed))

# %%
if "cython" in kernels.available():
    times["cython"] = notebook.time_run(lambda: lecture_run("cython"), ROUNDS)
    print(f"cython: {times['python'] / times['cython']:,.0f}x the lecture's loop")

# %% [markdown]
# ## 5. Fortran through f2py
#
# "Fortran is explicitly the fastest, but it is the most work": the kernel in Fortran,
# built by meson and wrapped by f2py.

# %%
notebook.source_of("../kernels/fortran/nbody.f90")

# %%
if "fortran" in kernels.available():
    times["fortran"] = notebook.time_run(lambda: lecture_run("fortran"), ROUNDS)
    print(f"fortran: {times['python'] / times['fortran']:,.0f}x the lecture's loop")
else:
    print("no Fortran backend here: it needs gfortran at build time")

# %% [markdown]
# ## 6. Multiprocessing: parallel is not the first thing to try
#
# One task per body on a pool of processes: each task pickles the positions and wakes a
# process, for a few microseconds of work. It loses to the serial loop it splits.

# %%
cores = usable_cores()
times["multiprocessing"] = notebook.time_run(lambda: lecture_run("multiprocessing"), ROUNDS)
print(
    f"multiprocessing on {cores} cores: {times['python'] / times['multiprocessing']:.2g}x "
    "the lecture's loop"
)

# %% [markdown]
# ## 7. Every backend, side by side
#
# Each backend's checked `derivatives()` in the lecture's driver, as above, timed now.
# (Dask is left out here: 4000 calls of 20 bodies through a cluster are a minute of
# round trips; see docs/scale-out.md.)

# %%
for name in kernels.available():
    if name not in times and name != "dask":
        times[name] = notebook.time_run(lambda name=name: lecture_run(name), ROUNDS)
notebook.table(times, claims=LECTURE_CLAIMS)

# %%
# The worker processes of the two multiprocessing backends, no longer needed.
close_pool()
kernels.multiprocessing_shared.close_pool()
