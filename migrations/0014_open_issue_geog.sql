-- The duplicate search's spatial index holds open issues only: intake offers open issues as
-- likely duplicates (store.issues.NEARBY_OPEN_CTES), never closed ones. An index of every issue
-- grew with the archive, and a hotline export, mostly of cases closed in the exporting system
-- (99.6 % of the Los Angeles benchmark's rows), paid a GiST insert per row for nothing: about
-- a quarter of the issue table's COPY time (benchmarks/import_issues.py).
-- depends: 0007_issues
DROP INDEX issue_geog;
CREATE INDEX issue_open_geog ON issue USING gist ((geom::geography)) WHERE closed_at IS NULL;
