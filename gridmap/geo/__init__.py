"""Coordinates, CRS choice and geometry repair (no I/O, no SQL)."""
