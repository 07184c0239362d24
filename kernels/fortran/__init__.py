"""The Fortran backend: `nbody.f90` wrapped by numpy.f2py, compiled by the meson build.

The build skips this extension when no Fortran compiler is found, so importing it is
where a missing compiler shows up.
"""

import shutil

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
        why = f"kernels.fortran._nbody is missing ({exc}), though gfortran is here now"
        fix = "rebuild so meson finds gfortran: rm -rf build, then reinstall (or ./dev test)"
    raise BackendUnavailable(f"{why}; fix: {fix}") from exc


def accelerations(pos, mass):
    # pos.T is the (3, n) Fortran-ordered view of C-ordered (n, 3): no copy either way.
    return _nbody.accelerations(pos.T, mass).T
