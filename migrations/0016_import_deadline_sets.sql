-- An import's deadline sets stored once and shared by its issues, as its routes are (0012).
--
-- An issue's deadlines (each stage's due time with its labels in both languages) depend only
-- on its category and its filing day (or instant, for limits in hours): a 100,000-row export
-- has a few thousand distinct sets. Stored per issue they were a third of each imported row
-- (about 150 bytes of JSON, parsed into jsonb row by row) and a fifth of the issue table's
-- COPY time: 1,049 ms against 842 ms without them (92,767 issues, median of five,
-- benchmarks/README.md). An imported issue now names its import's deadline set; intake's
-- issues keep their own deadlines, and readers take whichever the issue has.
-- depends: 0012_issue_imports 0015_issue_reference_checks_after_rows

CREATE TABLE issue_import_deadlines (
    import_id     bigint NOT NULL REFERENCES issue_import (id),
    deadline_set  integer NOT NULL,
    deadlines     jsonb NOT NULL,
    PRIMARY KEY (import_id, deadline_set)
);
CREATE TRIGGER issue_import_deadlines_append_only BEFORE UPDATE OR DELETE
    ON issue_import_deadlines FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- No foreign key, as for import_route (0012): only the import writes the column, in the
-- transaction that writes the sets, which are never changed or deleted.
ALTER TABLE issue
    ADD COLUMN import_deadline_set integer,
    ALTER COLUMN deadlines DROP NOT NULL,
    ADD CONSTRAINT issue_deadlines_one_place
        CHECK ((deadlines IS NULL) = (import_deadline_set IS NOT NULL)),
    ADD CONSTRAINT issue_deadline_set_of_an_import
        CHECK (import_deadline_set IS NULL OR import_id IS NOT NULL);
