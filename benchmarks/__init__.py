"""Benchmark runner: leafgrad against PyTorch (``python -m benchmarks``; see run.py)."""
