"""gridmap: grid-management geospatial platform (five-level grid, issue routing, coverage)."""

__version__ = "0.1.0"
