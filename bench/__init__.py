"""Benchmarks (run as scripts: python bench/<name>.py); not part of the test run."""
