-- Hotline imports as records of their own, and one routing decision and first event per group
-- of an import's issues instead of a copy of each per issue.
--
-- An import routes once per group of rows that route alike (unit chain x category x near an
-- edge) and files each group in one state (closed when the export says so, else triage or
-- dispatched): a 100,000-row export makes about a thousand decisions. It stored them once per
-- issue (410 bytes of routing_decision and 210 of issue_event a row, two foreign-key checks
-- locking the new issue row, each with its WAL record): two thirds of an import's database
-- time for a thousand distinct rows (benchmarks/import_issues.py). Now an import's issues
-- point to their route; the histories below show it as each issue's first event and first
-- decision, as before. Every later event and decision (dispatch, re-routing, closing) is
-- stored per issue as always.
-- depends: 0007_issues 0010_open311 0011_reference_version

-- One run of `gridmap issues import` (including runs that added nothing new): which source
-- and file, who ran it, when, and what came of it.
CREATE TABLE issue_import (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source            text NOT NULL CHECK (source <> ''),
    file_name         text NOT NULL,
    file_sha256       text NOT NULL,
    actor             text NOT NULL,
    started_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    rows              integer NOT NULL DEFAULT 0,
    imported          integer NOT NULL DEFAULT 0,
    already_imported  integer NOT NULL DEFAULT 0,
    rejected          jsonb NOT NULL DEFAULT '{}'::jsonb,  -- {reason: count}
    targets           jsonb NOT NULL DEFAULT '{}'::jsonb   -- {target kind: count}
);
CREATE INDEX issue_import_source ON issue_import (source, started_at);

-- How an import filed one group of its issues: the state it filed them in and the routing
-- decision it made for them (the columns of routing_decision). Append-only, like the events
-- and decisions it stands for.
CREATE TABLE issue_import_route (
    import_id          bigint NOT NULL REFERENCES issue_import (id),
    route              integer NOT NULL,
    to_state           text NOT NULL,
    generation         integer,
    unit_level         text,
    unit_code          text,
    target_kind        text NOT NULL,
    worker_id          integer,
    department_code    text,
    needs_confirmation boolean NOT NULL,
    steps              jsonb NOT NULL,
    PRIMARY KEY (import_id, route)
);

-- An imported issue's route. No foreign key: only the import writes these two columns, in the
-- transaction that writes the routes, and routes are never changed or deleted (the trigger
-- below; TRUNCATE, an administrator's reset of the issue tables, is left to them). A declared key was checked row by row, one query per issue: a quarter of the
-- issue table's COPY time (benchmarks/import_issues.py).
ALTER TABLE issue
    ADD COLUMN import_id bigint,
    ADD COLUMN import_route integer,
    ADD CHECK ((import_id IS NULL) = (import_route IS NULL));

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: rows are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER issue_import_route_append_only BEFORE UPDATE OR DELETE
    ON issue_import_route FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Every issue's events, oldest first by (at, id): the stored ones and, for an imported
-- issue, the import's filing (id 0, so it comes first).
CREATE VIEW issue_event_history AS
SELECT e.id, e.issue_id, e.at, e.actor, e.from_state, e.to_state, e.note, e.data
FROM issue_event e
UNION ALL
SELECT 0, i.id, m.started_at, 'import:' || m.source, NULL, r.to_state, '',
       jsonb_build_object('channel', 'import', 'source', m.source, 'worker_id', r.worker_id,
                          'department', r.department_code)
FROM issue i
JOIN issue_import_route r ON r.import_id = i.import_id AND r.route = i.import_route
JOIN issue_import m ON m.id = i.import_id;

-- Every issue's routing decisions, oldest first by (decided_at, id): the stored ones and, for
-- an imported issue, the import's (id 0).
CREATE VIEW routing_decision_history AS
SELECT d.id, d.issue_id, d.decided_at, d.generation, d.unit_level, d.unit_code, d.target_kind,
       d.worker_id, d.department_code, d.needs_confirmation, d.steps
FROM routing_decision d
UNION ALL
SELECT 0, i.id, m.started_at, r.generation, r.unit_level, r.unit_code, r.target_kind,
       r.worker_id, r.department_code, r.needs_confirmation, r.steps
FROM issue i
JOIN issue_import_route r ON r.import_id = i.import_id AND r.route = i.import_route
JOIN issue_import m ON m.id = i.import_id;
