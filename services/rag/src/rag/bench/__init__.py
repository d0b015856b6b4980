"""Measurement commands that print a table (speed and parity goals live here, not in tests)."""
