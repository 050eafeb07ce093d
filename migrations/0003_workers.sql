-- Grid workers and the units (normally cells) they are assigned to.
-- depends: 0002_boundaries

CREATE TABLE worker (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    phone       text,
    department  text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Assignments reference the unit code, which is stable across boundary generations.
-- primary = the cell's own worker; backup = covers when the primary is off duty.
CREATE TABLE worker_assignment (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id   integer NOT NULL REFERENCES worker (id) ON DELETE CASCADE,
    unit_level  text NOT NULL,
    unit_code   text NOT NULL,
    role        text NOT NULL DEFAULT 'primary' CHECK (role IN ('primary', 'backup')),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX worker_assignment_unit ON worker_assignment (unit_code, unit_level);
-- at most one current primary per unit
CREATE UNIQUE INDEX worker_assignment_one_primary
    ON worker_assignment (unit_level, unit_code) WHERE role = 'primary' AND valid_to IS NULL;
