"""The backends' traits (kernels/traits.py) for the tools: loaded by the file's path, since
a tool may run from the source tree, where `kernels` cannot be imported (its compiled
extensions are not built there). Installed, kernels/ sits beside nbody_bench/ as in the
source tree."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "kernels" / "traits.py"


def _load():
    if "kernels.traits" in sys.modules:  # imported with kernels: the same objects
        return sys.modules["kernels.traits"]
    spec = importlib.util.spec_from_file_location("nbody_bench_kernel_traits", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks its module up while it builds
    spec.loader.exec_module(module)
    return module


_traits = _load()
TRAITS, TWINS, traits, having = _traits.TRAITS, _traits.TWINS, _traits.traits, _traits.having
PARALLEL = having("parallel")
POOLED = having("pooled")
