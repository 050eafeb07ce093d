-- Activation history (for rollback) and placements: anything located in the grid, re-located
-- when another generation becomes active, with a record of the unit it left.
-- depends: 0003_workers

CREATE TABLE generation_activation (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    generation_id integer NOT NULL REFERENCES boundary_generation (id),
    previous_id   integer REFERENCES boundary_generation (id),
    activated_at  timestamptz NOT NULL DEFAULT now(),
    kind          text NOT NULL DEFAULT 'activate' CHECK (kind IN ('activate', 'rollback'))
);

-- One row per located thing (an issue, a facility, ...): where it is and the unit it is in
-- under the generation it was last placed in. subject + subject_id name the thing.
CREATE TABLE placement (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject      text NOT NULL,
    subject_id   bigint NOT NULL,
    lon          double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    generation   integer REFERENCES boundary_generation (id),
    unit_level   text,
    unit_code    text,
    placed_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (subject, subject_id)
);
CREATE INDEX placement_unit ON placement (unit_code, unit_level);

-- Every move of a placement between units caused by a boundary change.
CREATE TABLE placement_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    placement_id   bigint NOT NULL REFERENCES placement (id) ON DELETE CASCADE,
    from_generation integer REFERENCES boundary_generation (id),
    from_level     text,
    from_code      text,
    to_generation  integer NOT NULL REFERENCES boundary_generation (id),
    to_level       text,
    to_code        text,
    moved_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX placement_history_placement ON placement_history (placement_id);
