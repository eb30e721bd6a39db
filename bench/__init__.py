"""Benchmark harness for the show channel: `make bench` (docs/benchmarks.md)."""
