"""Benchmarks: each prints its figures; none runs under plain `pytest`."""
