"""Files in, GeoDataFrames/DataFrames out: boundary files, point tables."""
