"""Benchmark of ics-data against plain frictionless: `make bench` (`python -m bench`).

Measured, never asserted: it prints wall times (median of N runs, N printed) and peak memory
of each command as a subprocess, for the shipped sources and for a synthetic project with many
times their rows (`bench.synthetic`). Nothing is written outside a temporary folder.
"""
