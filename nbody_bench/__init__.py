"""nbody-bench's tooling around pytest-benchmark: results, the gate, the summary.

It reads what pytest-benchmark records (its JSON files, or the same entries in memory
during a run) and knows nothing of how the kernels are written.
"""
