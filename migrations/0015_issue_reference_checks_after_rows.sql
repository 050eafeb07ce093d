-- The issue table's reference checks (migration 0013), made cheaper for a bulk writer:
--
--   * the row-level checks fire AFTER the row is written, as a declared foreign key's do, not
--     BEFORE. COPY writes a table's rows in batches (one heap call and WAL record per page)
--     only when the table has no BEFORE or INSTEAD OF row trigger; one on insert, even with a
--     WHEN that is false, makes it write row by row. An AFTER row trigger whose WHEN is false
--     costs COPY nothing (the WHEN is evaluated when the row is written; no event is queued).
--     A failed check still fails the statement, at its end instead of at the row: nothing of
--     it is kept either way.
--   * the per-statement check reads the statement's rows once (the distinct combinations of
--     the four referencing columns: a few hundred for a 20,000-row COPY), not once per
--     referenced table.
--
-- Measured (benchmarks/README.md, 2026-12-07: 92,767 imported issues COPYed into a copy of the
-- issue table, median of five): BEFORE row + per-statement check 1,094 ms; AFTER row +
-- per-statement check 1,049 ms; with the check reading its rows once 980 ms; no trigger at
-- all 918 ms.
-- depends: 0013_issue_reference_checks

DROP TRIGGER issue_references_on_insert ON issue;
DROP TRIGGER issue_references_on_update ON issue;

CREATE TRIGGER issue_references_on_insert AFTER INSERT ON issue
    FOR EACH ROW
    WHEN (current_setting('gridmap.reference_checks', true) IS DISTINCT FROM 'per_statement')
    EXECUTE FUNCTION issue_references_row();
CREATE TRIGGER issue_references_on_update AFTER UPDATE ON issue
    FOR EACH ROW
    WHEN ((OLD.set_name, OLD.category_code, OLD.worker_id, OLD.department_code)
          IS DISTINCT FROM (NEW.set_name, NEW.category_code, NEW.worker_id, NEW.department_code))
    EXECUTE FUNCTION issue_references_row();

-- Same checks, locks and errors as migration 0013's, fed from one pass over new_issue. A
-- migration replaces a function by writing it whole again; the blocks stay written out per
-- referenced table for the reason 0013 gives (PL/pgSQL keeps the plans of static statements).
CREATE OR REPLACE FUNCTION issue_references_per_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sets        text[];
    codes       text[];
    workers     integer[];
    departments text[];
    missing     text;
BEGIN
    SELECT array_agg(r.set_name), array_agg(r.category_code), array_agg(r.worker_id),
           array_agg(r.department_code)
    INTO sets, codes, workers, departments
    FROM (SELECT DISTINCT set_name, category_code, worker_id, department_code
          FROM new_issue) r;

    WITH wanted AS (SELECT DISTINCT u.set_name, u.code FROM unnest(sets, codes) AS u(set_name, code)),
    held AS (
        SELECT c.set_name, c.code FROM category c
        WHERE (c.set_name, c.code) IN (SELECT set_name, code FROM wanted)
        FOR KEY SHARE OF c
    )
    SELECT format('(set_name, category_code)=(%s, %s)', w.set_name, w.code)
    INTO missing
    FROM wanted w
    WHERE NOT EXISTS (SELECT FROM held h WHERE h.set_name = w.set_name AND h.code = w.code)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_set_name_category_code_fkey'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'issue_set_name_category_code_fkey',
                  DETAIL = format('Key %s is not present in table "category".', missing);
    END IF;

    WITH wanted AS (SELECT DISTINCT u.id FROM unnest(workers) AS u(id) WHERE u.id IS NOT NULL),
    held AS (
        SELECT w.id FROM worker w WHERE w.id IN (SELECT id FROM wanted) FOR KEY SHARE OF w
    )
    SELECT format('(worker_id)=(%s)', w.id) INTO missing
    FROM wanted w WHERE NOT EXISTS (SELECT FROM held h WHERE h.id = w.id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_worker_id_fkey'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'issue_worker_id_fkey',
                  DETAIL = format('Key %s is not present in table "worker".', missing);
    END IF;

    WITH wanted AS (
        SELECT DISTINCT u.code FROM unnest(departments) AS u(code) WHERE u.code IS NOT NULL
    ),
    held AS (
        SELECT d.code FROM department d WHERE d.code IN (SELECT code FROM wanted)
        FOR KEY SHARE OF d
    )
    SELECT format('(department_code)=(%s)', w.code) INTO missing
    FROM wanted w WHERE NOT EXISTS (SELECT FROM held h WHERE h.code = w.code)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_department_code_fkey'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'issue_department_code_fkey',
                  DETAIL = format('Key %s is not present in table "department".', missing);
    END IF;
    RETURN NULL;
END
$$;
