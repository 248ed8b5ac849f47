"""Benchmarks with their own runner (`python -m bench.run`); never timed assertions in tests."""
