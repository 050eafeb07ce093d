-- The issue table's references to its category, worker and department checked by triggers
-- instead of declared foreign keys, so that a bulk writer can have them checked once per
-- statement, set-based, instead of once per row.
--
-- PostgreSQL checks a declared foreign key with one query per written row. In a 100,000-row
-- hotline import (one COPY per 20,000 issues) the issue table's COPY took 5.7 s with the
-- declared keys and 4.0 s with the per-statement check below (benchmarks/import_issues.py).
-- But a statement-level check costs a one-row write more than the declared keys did (in a
-- loop of one-row inserts on this VM, medians: about 110 us over no check at all, against
-- their 40 us), and intake writes one row at a time. So:
--
--   * by default each row is checked as a declared key would check it (issue_references_row);
--   * a transaction that sets gridmap.reference_checks to 'per_statement' (the hotline import)
--     has each statement's rows checked together instead (issue_references_per_statement).
--
-- The setting chooses how the rule is checked, never whether: one of the two triggers always
-- runs. Both lock every referenced row FOR KEY SHARE until the end of the transaction (a
-- concurrent delete of it waits, then fails), and the referenced tables refuse to delete or
-- re-key a row an issue refers to (a concurrent write referring to it waits for the delete,
-- then fails). Errors carry SQLSTATE 23503 (foreign_key_violation) and the old constraints'
-- names, as the declared keys' did.
-- depends: 0012_issue_imports

ALTER TABLE issue
    DROP CONSTRAINT issue_set_name_category_code_fkey,
    DROP CONSTRAINT issue_worker_id_fkey,
    DROP CONSTRAINT issue_department_code_fkey;

-- No index on issue (worker_id) or (department_code) for the referenced side's checks: a
-- declared key has none either, and every index costs each imported row (workers and
-- departments are deactivated, not deleted).

-- One block per referenced table, written out rather than built with EXECUTE format(...):
-- PL/pgSQL keeps the plan of a static statement, and re-plans a dynamic one on every call.
CREATE FUNCTION issue_references_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM FROM category c WHERE c.set_name = NEW.set_name AND c.code = NEW.category_code
        FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_set_name_category_code_fkey'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'issue_set_name_category_code_fkey',
                  DETAIL = format('Key (set_name, category_code)=(%s, %s) is not present in '
                                  'table "category".', NEW.set_name, NEW.category_code);
    END IF;
    IF NEW.worker_id IS NOT NULL THEN
        PERFORM FROM worker w WHERE w.id = NEW.worker_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
                'issue_worker_id_fkey'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'issue_worker_id_fkey',
                      DETAIL = format('Key (worker_id)=(%s) is not present in table "worker".',
                                      NEW.worker_id);
        END IF;
    END IF;
    IF NEW.department_code IS NOT NULL THEN
        PERFORM FROM department d WHERE d.code = NEW.department_code FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
                'issue_department_code_fkey'
                USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'issue_department_code_fkey',
                      DETAIL = format('Key (department_code)=(%s) is not present in table '
                                      '"department".', NEW.department_code);
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER issue_references_on_insert BEFORE INSERT ON issue
    FOR EACH ROW
    WHEN (current_setting('gridmap.reference_checks', true) IS DISTINCT FROM 'per_statement')
    EXECUTE FUNCTION issue_references_row();
CREATE TRIGGER issue_references_on_update BEFORE UPDATE ON issue
    FOR EACH ROW
    WHEN ((OLD.set_name, OLD.category_code, OLD.worker_id, OLD.department_code)
          IS DISTINCT FROM (NEW.set_name, NEW.category_code, NEW.worker_id, NEW.department_code))
    EXECUTE FUNCTION issue_references_row();

CREATE FUNCTION issue_references_per_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    WITH wanted AS (SELECT DISTINCT set_name, category_code FROM new_issue),
    held AS (
        SELECT c.set_name, c.code FROM category c
        WHERE (c.set_name, c.code) IN (SELECT set_name, category_code FROM wanted)
        FOR KEY SHARE OF c
    )
    SELECT format('(set_name, category_code)=(%s, %s)', w.set_name, w.category_code)
    INTO missing
    FROM wanted w
    WHERE NOT EXISTS (SELECT FROM held h WHERE h.set_name = w.set_name AND h.code = w.category_code)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_set_name_category_code_fkey'
            USING ERRCODE = 'foreign_key_violation',
                  CONSTRAINT = 'issue_set_name_category_code_fkey',
                  DETAIL = format('Key %s is not present in table "category".', missing);
    END IF;

    WITH wanted AS (SELECT DISTINCT worker_id FROM new_issue WHERE worker_id IS NOT NULL),
    held AS (
        SELECT w.id FROM worker w WHERE w.id IN (SELECT worker_id FROM wanted) FOR KEY SHARE OF w
    )
    SELECT format('(worker_id)=(%s)', w.worker_id) INTO missing
    FROM wanted w WHERE NOT EXISTS (SELECT FROM held h WHERE h.id = w.worker_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "issue" violates foreign key constraint "%"',
            'issue_worker_id_fkey'
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'issue_worker_id_fkey',
                  DETAIL = format('Key %s is not present in table "worker".', missing);
    END IF;

    WITH wanted AS (
        SELECT DISTINCT department_code FROM new_issue WHERE department_code IS NOT NULL
    ),
    held AS (
        SELECT d.code FROM department d WHERE d.code IN (SELECT department_code FROM wanted)
        FOR KEY SHARE OF d
    )
    SELECT format('(department_code)=(%s)', w.department_code) INTO missing
    FROM wanted w WHERE NOT EXISTS (SELECT FROM held h WHERE h.code = w.department_code)
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

CREATE TRIGGER issue_references_per_statement AFTER INSERT ON issue
    REFERENCING NEW TABLE AS new_issue
    FOR EACH STATEMENT
    WHEN (current_setting('gridmap.reference_checks', true) = 'per_statement')
    EXECUTE FUNCTION issue_references_per_statement();

-- The referenced side: a row an issue refers to is neither deleted nor given another key.
-- Only the keys that are gone (deleted, or re-keyed away) are looked up in issue: an update
-- that keeps the key (a category withdrawn, a worker renamed) reads no issue at all.
CREATE FUNCTION refuse_if_issues_refer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found text;
BEGIN
    IF TG_TABLE_NAME = 'category' THEN
        WITH gone AS MATERIALIZED (
            SELECT o.set_name, o.code FROM old_row o
            WHERE TG_OP = 'DELETE' OR NOT EXISTS (
                SELECT FROM category c WHERE c.set_name = o.set_name AND c.code = o.code)
        )
        SELECT format('(set_name, code)=(%s, %s)', g.set_name, g.code) INTO found
        FROM gone g
        WHERE EXISTS (SELECT FROM issue i
                      WHERE i.set_name = g.set_name AND i.category_code = g.code)
        LIMIT 1;
    ELSIF TG_TABLE_NAME = 'worker' THEN
        WITH gone AS MATERIALIZED (
            SELECT o.id FROM old_row o
            WHERE TG_OP = 'DELETE' OR NOT EXISTS (SELECT FROM worker w WHERE w.id = o.id)
        )
        SELECT format('(id)=(%s)', g.id) INTO found
        FROM gone g WHERE EXISTS (SELECT FROM issue i WHERE i.worker_id = g.id)
        LIMIT 1;
    ELSE
        WITH gone AS MATERIALIZED (
            SELECT o.code FROM old_row o
            WHERE TG_OP = 'DELETE' OR NOT EXISTS (SELECT FROM department d WHERE d.code = o.code)
        )
        SELECT format('(code)=(%s)', g.code) INTO found
        FROM gone g WHERE EXISTS (SELECT FROM issue i WHERE i.department_code = g.code)
        LIMIT 1;
    END IF;
    IF found IS NOT NULL THEN
        RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "issue"',
            TG_TABLE_NAME, TG_ARGV[0]
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[0],
                  DETAIL = format('Key %s is still referenced from table "issue".', found);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER category_referenced_by_issues_delete AFTER DELETE ON category
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_set_name_category_code_fkey');
CREATE TRIGGER category_referenced_by_issues_update AFTER UPDATE ON category
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_set_name_category_code_fkey');
CREATE TRIGGER worker_referenced_by_issues_delete AFTER DELETE ON worker
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_worker_id_fkey');
CREATE TRIGGER worker_referenced_by_issues_update AFTER UPDATE ON worker
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_worker_id_fkey');
CREATE TRIGGER department_referenced_by_issues_delete AFTER DELETE ON department
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_department_code_fkey');
CREATE TRIGGER department_referenced_by_issues_update AFTER UPDATE ON department
    REFERENCING OLD TABLE AS old_row FOR EACH STATEMENT
    EXECUTE FUNCTION refuse_if_issues_refer('issue_department_code_fkey');
