"""The asv benchmark suite of suite: one module per question (see README, "Benchmark campaigns").

Shared setup (profiles, parameter lists, data, thread control, the cost model) is in
``common.py``.
"""
