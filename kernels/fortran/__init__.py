"""The Fortran backend: `nbody.f90` wrapped by numpy.f2py, compiled by the meson build.

The build skips this extension when no Fortran compiler is found, so importing it is
where a missing compiler shows up.
"""

import ctypes
import shutil

import numpy as np

from .._boundary import Kernel
from ..errors import BackendUnavailable

try:
    from . import _nbody
except ImportError as exc:
    if shutil.which("gfortran") is None:
        why = "no Fortran compiler was found when the project was built"
        fix = (
            "apt-get install gfortran (as root), then reinstall the project (./dev test does both)"
        )
    else:
        why = "the Fortran extension was not built, though gfortran is here now"
        fix = "rebuild so meson finds gfortran: rm -rf build, then reinstall (or ./dev test)"
    raise BackendUnavailable(f"{why}; fix: {fix}") from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
# The derivative as a C function, for the checked call: nbody.f90's bind(C) `kernel`,
# which f2py does not wrap, found by its name in the extension.
_library = ctypes.CDLL(_nbody.__file__)
KERNEL = Kernel.at(ctypes.cast(_library.nbody_fortran_kernel, ctypes.c_void_p).value, _library)


# The .T views are the Fortran-ordered (3, n, 2) arrays of the C-ordered (2, n, 3) ones:
# no copy either way.
def derivatives(state, mass, rate):
    _nbody.derivatives(state.T, mass, rate.T)


def integrate(initial, mass, steps, frame_ends, frames):
    # Fortran counts steps from 1: frame k ends after step frame_ends[k] (1-based, inclusive).
    _nbody.integrate(initial.T, mass, steps, frame_ends.astype(np.int32), frames.T)
