"""Benchmarks of issue 7 (see docs/benchmarks.md); each case also runs alone: python -P bench/<case>.py."""
