"""The one summary table printed after every benchmark run, and by the gate."""

from __future__ import annotations

import kernels

from .results import BASELINE


def format_table(rows, verdicts=()):
    """Backend by workload: median time, speedup over the baseline, pairs/s, gate verdict."""
    verdict = {}
    for v in verdicts:
        verdict.setdefault((v.workload, v.backend), []).append(v)
    header = ("workload", "backend", "median", f"vs {BASELINE}", "pairs/s", "ns/pair", "gate")
    lines = []
    for r in sorted(rows, key=_order):
        found = verdict.get((r.workload, r.backend), [])
        if r.speedup is None:
            speedup = "-"
        else:
            speedup = ("~" if r.speedup_estimated else "") + f"{r.speedup:,.1f}x"
        gate = "; ".join(_verdict(v) for v in found) or "-"
        lines.append(
            (
                r.workload,
                r.backend,
                _duration(r.median),
                speedup,
                f"{r.pairs_per_second:.3g}",
                f"{r.ns_per_pair:.3g}",
                gate,
            )
        )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=True)]
    right = {2, 3, 4, 5}

    def fmt(cells):
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines]
    if any(r.speedup_estimated for r in rows):
        out.append(
            f"~ : the {BASELINE} baseline is too slow at this N; its time is scaled "
            "from the largest N it ran at by the number of pairs."
        )
    return "\n".join(out)


def _verdict(v):
    over = "" if v.over == BASELINE else f" {v.over}"
    return f"{v.status} (>= {v.threshold:g}x{over})"


def _order(row):
    known = kernels.BACKENDS
    rank = known.index(row.backend) if row.backend in known else len(known)
    return (row.kind != "lecture", row.n, row.workload, rank, row.backend)


def _duration(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds / 1e-9:.4g} ns"
