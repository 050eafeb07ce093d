-- Placements become append-only per generation: the unit each placement is in, one row per
-- (generation, placement), written once when a generation is first activated. Activating a
-- new generation only appends rows (one COPY, ~2 s per million) instead of UPDATEing every
-- placement (indexed unit_code, FK checks, history INSERT: ~35 s per million); a rollback
-- finds its rows already there. The move history is derived by comparing generations.
-- depends: 0005_coverage

-- the old index on placement (unit_code, unit_level) goes with its columns; dropped first as
-- it holds the name the new table takes (tables and indexes share one namespace)
DROP INDEX placement_unit;

-- No foreign keys, on purpose: generations are never deleted (a generation's units stay for
-- history and rollback) and placements are never deleted while their rows matter, while FK
-- checks cost ~10 s per million rows written. The primary key (generation first) serves the
-- lookups: a generation's rows, and a placement's row in one generation.
-- unit_level/unit_code NULL: computed for that generation, but outside every unit.
CREATE TABLE placement_unit (
    generation   integer NOT NULL,
    placement_id bigint NOT NULL,
    unit_level   text,
    unit_code    text,
    PRIMARY KEY (generation, placement_id)
);

-- keep what was computed: each placement's unit in the generation it was last placed in
INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
SELECT generation, id, unit_level, unit_code FROM placement WHERE generation IS NOT NULL;

-- the unit columns moved to placement_unit; placement keeps where the thing is
ALTER TABLE placement
    DROP COLUMN generation,
    DROP COLUMN unit_level,
    DROP COLUMN unit_code;

-- history is now derived from placement_unit (see store.placements.placement_history)
DROP TABLE placement_history;
