"""Arrays and GeoDataFrames in, results out: bulk location, later density and coverage."""
