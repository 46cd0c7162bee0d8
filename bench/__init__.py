"""Benchmarks: each prints a table and writes its figures into docs/benchmarks.md."""
