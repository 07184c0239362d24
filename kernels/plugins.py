"""Backends from other packages: the entry-point group `nbody_bench.backends`.

A package adds a backend by declaring, in its own pyproject.toml,

    [project.entry-points."nbody_bench.backends"]
    my-kernel = "my_package.kernel"          # a module, or
    my-other = "my_package.kernel:backend"   # any object in one

where the object named has what a built-in backend module has: `accelerations(pos, mass)`
returning the (n, 3) accelerations, or `derivatives(state, mass, rate)` writing into
`rate` (see kernels.registry), and optionally `integrate(initial, mass, steps, frame_ends,
frames)`, the whole RK2 run. Once the package is installed, the backend is in
`kernels.available()`, the suite's matrix, its equivalence checks and its summary, under
the entry point's name, after the built-in backends.

Nothing is imported until the backend is asked for. A plugin that fails to import, or
whose object has neither function, is unavailable with an error naming the plugin, its
package and what failed (`PluginError`, a BackendUnavailable): the suite reports it as a
failure of that backend and runs the rest. A name taken by a built-in backend, or by two
packages, is such an error too, naming both; the built-in keeps its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import entry_points

from .errors import BackendUnavailable

GROUP = "nbody_bench.backends"
# Names end up in benchmark ids, history files and command lines.
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")


class PluginError(BackendUnavailable):
    """A plugin backend that cannot be used: the message names it and what went wrong."""


@dataclass(frozen=True)
class Plugin:
    """One entry point of the group: its name, what it points to, and its package."""

    name: str
    value: str  # "package.module" or "package.module:object"
    package: str  # the distribution that declares it, with its version
    entry_point: object  # importlib.metadata.EntryPoint
    problem: str | None = None  # why it cannot be used, known before importing it

    def describe(self):
        return f"plugin backend {self.name!r} ({self.value}, from {self.package})"

    def load(self):
        """The object the entry point names; PluginError if that fails."""
        if self.problem:
            raise PluginError(self.problem)
        try:
            found = self.entry_point.load()
        except Exception as exc:  # whatever the plugin's import raises is its error
            raise PluginError(
                f"{self.describe()} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        if not any(callable(getattr(found, f, None)) for f in ("accelerations", "derivatives")):
            raise PluginError(
                f"{self.describe()} has neither accelerations(pos, mass) nor "
                "derivatives(state, mass, rate): define one (see kernels/plugins.py)"
            )
        return found


def discover(builtin, found=None):
    """{name: Plugin} for the group's entry points, in name order. `builtin`: the names the
    plugins may not take. `found`: entry points to use instead of the installed ones."""
    if found is None:
        found = entry_points(group=GROUP)
    by_name: dict[str, list] = {}
    for entry in found:
        by_name.setdefault(entry.name, []).append(entry)
    plugins = {}
    for name in sorted(by_name):
        entries = by_name[name]
        described = [Plugin(name, e.value, _package(e), e) for e in entries]
        first = described[0]
        problem = None
        if name in builtin:
            problem = (
                f"{first.describe()} has the name of the built-in backend {name!r} "
                f"({builtin[name]}); the built-in keeps it: rename the entry point in "
                f'{first.package}\'s [project.entry-points."{GROUP}"]'
            )
        elif len(described) > 1:
            problem = (
                f"two plugins declare the backend {name!r}: "
                + " and ".join(p.describe() for p in described)
                + "; uninstall or rename one"
            )
        elif not NAME.fullmatch(name):
            problem = (
                f"{first.describe()}: a backend name is lower-case letters, digits, '-', "
                f"'_' and '.', starting with a letter or digit; rename the entry point"
            )
        plugins[name] = Plugin(name, first.value, first.package, first.entry_point, problem)
    return plugins


def _package(entry):
    dist = getattr(entry, "dist", None)
    if dist is None:
        return "an unknown package"
    return f"{dist.metadata['Name']} {dist.version}"
