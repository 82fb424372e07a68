"""Benchmarks: `make bench` runs every ``benchmarks/<area>/*_bench.py`` (``make bench-full`` adds --full)."""
