"""Benchmarks (`make bench`): ratios against plain Keras / Keras Tuner measured in the same run."""
