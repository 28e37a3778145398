"""Keloa's benchmarks: `make bench` (bench/run_all.py) prints one table of ratios to baselines."""
