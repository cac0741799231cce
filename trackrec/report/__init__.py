"""The aggregate report of a run: summary tables and plots from per-event metrics and benchmarks."""
