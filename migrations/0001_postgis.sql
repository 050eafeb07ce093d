-- PostGIS for geometry; btree_gist so a unit code can be kept unique per generation range.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
