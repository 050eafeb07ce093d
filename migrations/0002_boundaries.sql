-- Boundary generations and admin units (MapIt-style generation ranges).
-- depends: 0001_postgis

-- A generation is one version of the whole grid. Imports write a new, inactive generation;
-- activation switches which one lookups use. Exactly one may be active.
CREATE TABLE boundary_generation (
    id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    activated_at  timestamptz,
    active        boolean NOT NULL DEFAULT false,
    description   text NOT NULL DEFAULT '',
    report        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX boundary_generation_one_active ON boundary_generation ((true)) WHERE active;

-- A unit row is valid in every generation from generation_low to generation_high (inclusive):
-- an import that leaves a unit unchanged extends its range instead of copying it.
-- The parent is referenced by code (not row id) so a child row stays valid when its parent's
-- row is replaced in a later generation.
CREATE TABLE admin_unit (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    level            text NOT NULL,
    code             text NOT NULL CHECK (code <> ''),
    name             text NOT NULL,
    parent_level     text,
    parent_code      text,
    CHECK ((parent_level IS NULL) = (parent_code IS NULL)),
    geom             geometry(MultiPolygon, 4326) NOT NULL,
    area_m2          double precision NOT NULL CHECK (area_m2 >= 0),
    generation_low   integer NOT NULL REFERENCES boundary_generation (id),
    generation_high  integer NOT NULL REFERENCES boundary_generation (id),
    properties       jsonb NOT NULL DEFAULT '{}'::jsonb,
    CHECK (generation_low <= generation_high),
    CHECK (NOT ST_IsEmpty(geom)),
    -- one unit per (level, code) in any generation
    CONSTRAINT admin_unit_code_unique_per_generation EXCLUDE USING gist (
        level WITH =, code WITH =, int4range(generation_low, generation_high, '[]') WITH &&
    )
);
CREATE INDEX admin_unit_code ON admin_unit (code);
CREATE INDEX admin_unit_parent ON admin_unit (parent_code, parent_level);
CREATE INDEX admin_unit_level_code ON admin_unit (level, code);
-- GiST on the full geometry serves bbox queries for maps and neighbours.
CREATE INDEX admin_unit_geom ON admin_unit USING gist (geom);

-- The lookup copy: each unit cut by ST_Subdivide into pieces of few vertices. Point-in-polygon
-- on a big, detailed boundary costs time in its vertex count; on small pieces with tight
-- bounding boxes the GiST index does almost all the work.
CREATE TABLE admin_unit_part (
    unit_id  bigint NOT NULL REFERENCES admin_unit (id) ON DELETE CASCADE,
    geom     geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX admin_unit_part_geom ON admin_unit_part USING gist (geom);
CREATE INDEX admin_unit_part_unit ON admin_unit_part (unit_id);
