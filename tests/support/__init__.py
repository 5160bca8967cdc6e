"""Helpers for the test suite (real services, ...); imported as `tests.support`."""
