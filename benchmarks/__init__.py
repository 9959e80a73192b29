"""Benchmarks of Fahras: run them from the repository root as modules, e.g. ``python -m benchmarks.vs_annif``."""
