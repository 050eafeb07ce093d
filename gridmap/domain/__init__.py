"""Pure-Python domain model: levels, messages, code profiles (no I/O)."""
