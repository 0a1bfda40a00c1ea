"""Load generators, benchmarks and the accuracy oracle."""
