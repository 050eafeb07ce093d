"""Use cases with their transaction boundaries; front ends (CLI, web) call only these."""
