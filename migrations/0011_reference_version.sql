-- One counter for the reference data that intake keeps in memory per process: the category
-- set in use (categories, withdrawals), the responsibility table, the departments and the
-- active boundary generation. Every change to those tables bumps it (statement triggers, so a
-- bulk load bumps once), and intake reads it in the same statement as everything else it
-- needs: a cached copy is used only while the counter still has the value it was read at.
-- A bump by a transaction that rolls back is harmless (the cache is merely reloaded).
-- The counter moves to the clock's microseconds (or by one, whichever is more), not merely
-- by one: two databases served by one process (tests, a dropped and recreated database)
-- then never show the same number for different data.
-- depends: 0007_issues 0010_open311
CREATE TABLE reference_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO reference_version (singleton, version)
    VALUES (true, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);

CREATE FUNCTION bump_reference_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reference_version
    SET version = greatest(version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    RETURN NULL;
END
$$;

CREATE TRIGGER category_set_bumps_reference AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON category_set FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER category_bumps_reference AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON category FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER responsibility_bumps_reference AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON responsibility FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER department_bumps_reference AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON department FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
CREATE TRIGGER boundary_generation_bumps_reference AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON boundary_generation FOR EACH STATEMENT EXECUTE FUNCTION bump_reference_version();
