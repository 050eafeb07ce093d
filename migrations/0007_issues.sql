-- Issue intake and routing: category sets, departments and their responsibilities, duty
-- rosters, issues with their events, routing decisions, photos, idempotency keys, API keys
-- and the rows a hotline import could not take.
-- depends: 0006_placement_units

-- A category set is one deployment's taxonomy (data/categories/NAME.toml), stored whole as
-- JSON (the domain parser reads it back) plus one row per minor class for foreign keys and
-- queries. Exactly one set is in use; loading a set again updates it in place.
CREATE TABLE category_set (
    name        text PRIMARY KEY CHECK (name <> ''),
    title_en    text NOT NULL,
    title_zh    text NOT NULL,
    source      text NOT NULL,
    definition  jsonb NOT NULL,
    -- the working calendar the set's time limits count in (data/calendars/NAME.toml, as text):
    -- deadlines must not change because a file on disk changed
    calendar_name  text NOT NULL,
    calendar_text  text NOT NULL,
    in_use      boolean NOT NULL DEFAULT false,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX category_set_one_in_use ON category_set ((true)) WHERE in_use;

-- A category that a reload no longer lists stays (issues filed under it keep their meaning)
-- but is marked withdrawn: intake refuses it.
CREATE TABLE category (
    set_name    text NOT NULL REFERENCES category_set (name) ON DELETE CASCADE,
    code        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('event', 'component')),
    major_code  text NOT NULL,
    name_en     text NOT NULL,
    name_zh     text NOT NULL,
    handler     text NOT NULL CHECK (handler IN ('grid', 'department')),
    department  text,
    severity    text NOT NULL,
    withdrawn   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (set_name, code)
);

CREATE TABLE department (
    code     text PRIMARY KEY CHECK (code <> ''),
    name_en  text NOT NULL,
    name_zh  text NOT NULL,
    active   boolean NOT NULL DEFAULT true
);

-- Which department handles a category in a part of the city: the rule whose unit is the
-- deepest ancestor of the issue's unit wins, then an exact category over its major class
-- over any category (category_code and major_code NULL). unit_code NULL = the whole city.
CREATE TABLE responsibility (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    set_name         text NOT NULL REFERENCES category_set (name) ON DELETE CASCADE,
    category_code    text,
    major_code       text,
    CHECK (category_code IS NULL OR major_code IS NULL),
    unit_level       text,
    unit_code        text,
    CHECK ((unit_level IS NULL) = (unit_code IS NULL)),
    department_code  text NOT NULL REFERENCES department (code),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX responsibility_one_rule ON responsibility (
    set_name, coalesce(category_code, ''), coalesce(major_code, ''),
    coalesce(unit_level, ''), coalesce(unit_code, '')
);

-- Duty periods. A worker without any period is always on duty (a small deployment without
-- rosters); a worker with periods is on duty only inside one of them.
CREATE TABLE worker_duty (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id  integer NOT NULL REFERENCES worker (id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX worker_duty_worker ON worker_duty (worker_id, starts_at);

-- One reported problem. The location is stored in WGS84 (converted at intake from the
-- coordinate type the reporter's map used; the original is kept in input_*). Reporter contact
-- fields are private: only the store's reporter-facing queries read them.
CREATE TABLE issue (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    set_name           text NOT NULL,
    category_code      text NOT NULL,
    FOREIGN KEY (set_name, category_code) REFERENCES category (set_name, code),
    description        text NOT NULL DEFAULT '',
    channel            text NOT NULL
                       CHECK (channel IN ('hotline', 'app', 'patrol', 'open311', 'import')),
    geom               geometry(Point, 4326),
    input_lon          double precision,
    input_lat          double precision,
    input_coord_type   text,
    address            text,
    geocode            jsonb,
    reporter_name      text,
    reporter_phone     text,
    reporter_email     text,
    external_source    text,
    external_id        text,
    state              text NOT NULL,
    version            integer NOT NULL DEFAULT 1,
    severity           text NOT NULL,
    attributes         jsonb NOT NULL DEFAULT '{}'::jsonb,
    reported_at        timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    due_at             timestamptz,
    deadlines          jsonb NOT NULL DEFAULT '[]'::jsonb,
    generation         integer,
    unit_level         text,
    unit_code          text,
    edge_distance_m    double precision,
    target_kind        text NOT NULL CHECK (target_kind IN ('worker', 'department', 'triage')),
    worker_id          integer REFERENCES worker (id),
    department_code    text REFERENCES department (code),
    needs_confirmation boolean NOT NULL DEFAULT false,
    master_id          bigint REFERENCES issue (id),
    CHECK (master_id IS NULL OR master_id <> id),
    status_notes       text,
    closed_at          timestamptz,
    -- a hotline row or an Open311 client's own id is taken once: re-importing is a no-op
    UNIQUE (external_source, external_id)
);
-- duplicates are searched by distance in metres: a GiST index on the geography cast serves
-- ST_DWithin(geom::geography, ...) directly
CREATE INDEX issue_geog ON issue USING gist ((geom::geography));
CREATE INDEX issue_category_open ON issue (set_name, category_code, reported_at)
    WHERE closed_at IS NULL;
CREATE INDEX issue_state ON issue (state);
CREATE INDEX issue_master ON issue (master_id) WHERE master_id IS NOT NULL;
CREATE INDEX issue_unit ON issue (unit_code, unit_level);

-- Every state change, append-only (who, when, from, to, note).
CREATE TABLE issue_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id    bigint NOT NULL REFERENCES issue (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    note        text NOT NULL DEFAULT '',
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX issue_event_issue ON issue_event (issue_id, at);

-- Every routing decision with its reasons (a list of {key, params} steps, readable in either
-- language); the issue row holds the current one.
CREATE TABLE routing_decision (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id           bigint NOT NULL REFERENCES issue (id),
    decided_at         timestamptz NOT NULL DEFAULT now(),
    generation         integer,
    unit_level         text,
    unit_code          text,
    target_kind        text NOT NULL,
    worker_id          integer,
    department_code    text,
    needs_confirmation boolean NOT NULL,
    steps              jsonb NOT NULL
);
CREATE INDEX routing_decision_issue ON routing_decision (issue_id, decided_at);

-- Photos as sent after checking, re-encoded without EXIF/GPS metadata.
CREATE TABLE issue_photo (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id      bigint NOT NULL REFERENCES issue (id),
    content_type  text NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    sha256        text NOT NULL,
    data          bytea NOT NULL
);
CREATE INDEX issue_photo_issue ON issue_photo (issue_id);

-- Idempotency-Key: the first response to a key is kept and returned to every retry. The key
-- row is inserted in the same transaction as the issue, so a concurrent retry waits on the
-- unique index and then reads the stored response instead of creating a second issue.
CREATE TABLE idempotency_key (
    key          text PRIMARY KEY,
    fingerprint  text NOT NULL,
    status       integer NOT NULL,
    body         jsonb NOT NULL,
    issue_id     bigint REFERENCES issue (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Open311 API keys: only a hash is kept; the key itself is shown once when created.
CREATE TABLE api_key (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    key_sha256  text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Hotline rows that could not be taken, with the reason; the same row seen again (same
-- source, same content) is not recorded twice.
CREATE TABLE issue_rejected (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text NOT NULL,
    row_number     integer NOT NULL,
    external_id    text,
    fingerprint    text NOT NULL,
    reason         text NOT NULL,
    detail         text NOT NULL DEFAULT '',
    raw            jsonb NOT NULL,
    rejected_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, fingerprint)
);
