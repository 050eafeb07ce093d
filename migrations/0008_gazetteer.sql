-- Gazetteer for offline geocoding: admin units, OSM places, POIs, roads and house numbers.
-- depends: 0006_placement_units

-- pg_trgm: trigram similarity for fuzzy name matching (typos, partial names). It ships with
-- the PostgreSQL server (contrib) and is a trusted extension, so the database owner may
-- create it. CJK names get trigrams only in a database whose LC_CTYPE knows them as letters
-- (C.UTF-8 or any UTF-8 locale; plain "C" would index Chinese names as empty).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per build: what the entries were built from. The entries are replaced in the same
-- transaction, so the newest row always describes the entries queries see.
CREATE TABLE gazetteer_build (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    built_at    timestamptz NOT NULL DEFAULT now(),
    generation  integer REFERENCES boundary_generation (id),  -- NULL: built before any activation
    sources     text[] NOT NULL DEFAULT '{}',                   -- the OSM files read
    counts      jsonb NOT NULL DEFAULT '{}'::jsonb              -- entries by kind
);

-- One searchable name of one thing. A thing with several names (name, name:zh, name:en,
-- alt_name ...) has one row per name, sharing its source id. name_norm is the name after the
-- geocoder's normaliser (case, width, punctuation, US street types and directions), the same
-- function that normalises queries.
CREATE TABLE gazetteer_entry (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL CHECK (name <> ''),
    name_norm      text NOT NULL CHECK (name_norm <> ''),
    kind           text NOT NULL CHECK (kind IN ('unit', 'place', 'poi', 'road', 'house_number')),
    -- house_number | poi | road | a level name (GRIDMAP_LEVELS): how precisely it places a point
    precision      text NOT NULL CHECK (precision <> ''),
    geom           geometry(Point, 4326) NOT NULL,       -- a point on the thing (on its surface)
    line           geometry(MultiLineString, 4326),      -- roads: the whole road
    housenumber    text,                                 -- addr:housenumber as tagged
    housenumber_norm text,                               -- "18号" -> "18", lower case
    street         text,                                 -- addr:street (or addr:place)
    street_norm    text,
    postcode       text,
    city           text,                                 -- city context: top-level unit, else addr:city
    city_norm      text,
    -- the units containing the point in the active generation, top-down (a unit entry: the
    -- unit itself and its ancestors); unit_names normalised, for "in this district" filters
    unit_level     text,                                 -- deepest of them
    unit_code      text,
    unit_codes     text[] NOT NULL DEFAULT '{}',
    unit_names     text[] NOT NULL DEFAULT '{}',
    source         text NOT NULL CHECK (source IN ('unit', 'osm')),
    source_file    text,
    osm_type       char(1) CHECK (osm_type IN ('n', 'w', 'r')),
    osm_id         bigint,
    tag            text,                                 -- e.g. amenity=school, place=square
    CHECK ((source = 'osm') = (osm_id IS NOT NULL))
);
-- GIN trigram indexes on the normalised name: they serve the similarity operators `%` and
-- `<%` (word similarity) for fuzzy lookups; GIN rather than GiST because the table is rebuilt
-- rarely and read constantly (GIN lookups are faster, its slower build is paid once).
-- Partial: house-number entries are found by number and street, never by their label (which
-- repeats the street thousands of times and would swamp every road lookup: 27 ms instead of
-- 0.7 ms for "W 17th St" in Midtown); roads get their own index, searched on their own.
-- A rebuild inserts every row into GIN's pending list (4x faster than fastupdate off:
-- 0.35 s instead of 1.3 s for 20,000 entries) and then flushes it (gin_clean_pending_list,
-- store.gazetteer.rebuild): left there, lookups took 21 ms instead of 2 ms and the planner
-- preferred a 140 ms sequential scan.
CREATE INDEX gazetteer_entry_name_trgm ON gazetteer_entry USING gin (name_norm gin_trgm_ops)
    WHERE kind <> 'house_number';
CREATE INDEX gazetteer_entry_road_trgm ON gazetteer_entry USING gin (name_norm gin_trgm_ops)
    WHERE kind = 'road';
-- house numbers are matched exactly first (very selective), then their street fuzzily
CREATE INDEX gazetteer_entry_housenumber ON gazetteer_entry (housenumber_norm)
    WHERE housenumber_norm IS NOT NULL;
