"""Benchmarks (measurements, not tests): `python -m bench.training`, `python -m bench.site_build`.

Results are stored as JSON under bench/results/; the page docs/training_faster.md and
the README's "Benchmarks" section show them.
"""
