-- Walking/cycling networks, facility sets and coverage runs (15-minute service circles).
-- depends: 0003_workers

-- One imported OSM network. Nodes and edges are unsimplified: every OSM node on a kept way
-- is a node, every edge a straight segment, so partial edges are a plain interpolation.
CREATE TABLE network (
    id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (name <> ''),
    profile      text NOT NULL CHECK (profile IN ('walk', 'bike')),
    source       text NOT NULL,
    metric_epsg  integer NOT NULL,          -- local metric CRS the lengths were measured in
    created_at   timestamptz NOT NULL DEFAULT now(),
    report       jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- idx is dense (0..n-1) per network: the in-memory arrays and pgRouting use it as the vertex id
CREATE TABLE network_node (
    network_id   integer NOT NULL REFERENCES network (id) ON DELETE CASCADE,
    idx          integer NOT NULL,
    osm_id       bigint NOT NULL,
    in_largest   boolean NOT NULL,          -- member of the largest connected component
    geom         geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (network_id, idx)
);
-- GiST for map bbox queries over a network's nodes
CREATE INDEX network_node_geom ON network_node USING gist (geom);

CREATE TABLE network_edge (
    network_id   integer NOT NULL REFERENCES network (id) ON DELETE CASCADE,
    idx          integer NOT NULL,
    source       integer NOT NULL,
    target       integer NOT NULL,
    osm_way_id   bigint NOT NULL,
    highway      text NOT NULL,
    length_m     double precision NOT NULL CHECK (length_m >= 0),
    geom         geometry(LineString, 4326) NOT NULL,
    PRIMARY KEY (network_id, idx),
    FOREIGN KEY (network_id, source) REFERENCES network_node (network_id, idx),
    FOREIGN KEY (network_id, target) REFERENCES network_node (network_id, idx)
);
CREATE INDEX network_edge_geom ON network_edge USING gist (geom);

-- Buildings of the same extract: they carry population (by floor area) in coverage runs.
CREATE TABLE network_building (
    network_id     integer NOT NULL REFERENCES network (id) ON DELETE CASCADE,
    osm_type       text NOT NULL,
    osm_id         bigint NOT NULL,
    levels         double precision,
    height_m       double precision,
    footprint_m2   double precision NOT NULL,
    floor_area_m2  double precision NOT NULL,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (network_id, osm_type, osm_id)
);
CREATE INDEX network_building_geom ON network_building USING gist (geom);

CREATE TABLE facility_set (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    source      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE facility (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    set_id      integer NOT NULL REFERENCES facility_set (id) ON DELETE CASCADE,
    feature     integer NOT NULL,             -- position in the source file, for messages
    ref         text NOT NULL DEFAULT '',     -- the source's own id (e.g. OSM id)
    name        text NOT NULL DEFAULT '',
    type        text NOT NULL DEFAULT '',
    geom        geometry(Point, 4326) NOT NULL,
    properties  jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (set_id, feature)
);

-- One coverage run: its inputs and parameters, its state (a web-started run is a background
-- job whose progress the UI polls) and, when done, its summary.
CREATE TABLE coverage_run (
    id               integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network_id       integer NOT NULL REFERENCES network (id) ON DELETE CASCADE,
    facility_set_id  integer REFERENCES facility_set (id) ON DELETE SET NULL,
    generation       integer REFERENCES boundary_generation (id),
    minutes          integer[] NOT NULL,
    parameters       jsonb NOT NULL DEFAULT '{}'::jsonb,
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'done', 'failed')),
    progress         real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    stage            text NOT NULL DEFAULT '',
    error            text,
    summary          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

-- Facilities as used by a run (a what-if run adds or removes some), with their snapping.
CREATE TABLE coverage_run_facility (
    run_id       integer NOT NULL REFERENCES coverage_run (id) ON DELETE CASCADE,
    facility_id  bigint,                       -- NULL for a point added in a what-if
    name         text NOT NULL DEFAULT '',
    type         text NOT NULL DEFAULT '',
    geom         geometry(Point, 4326) NOT NULL,
    snapped      boolean NOT NULL,
    access_m     double precision             -- straight walk to the network (NULL if too far)
);
CREATE INDEX coverage_run_facility_run ON coverage_run_facility (run_id);

CREATE TABLE coverage_band (
    run_id    integer NOT NULL REFERENCES coverage_run (id) ON DELETE CASCADE,
    minutes   integer NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('band', 'uncovered')),
    area_m2   double precision NOT NULL,
    geom      geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (run_id, minutes, kind)
);

CREATE TABLE coverage_unit (
    run_id              integer NOT NULL REFERENCES coverage_run (id) ON DELETE CASCADE,
    level               text NOT NULL,
    code                text NOT NULL,
    name                text NOT NULL,
    minutes             integer NOT NULL,
    area_m2             double precision NOT NULL,
    covered_area_m2     double precision NOT NULL,
    buildings           integer NOT NULL,
    covered_buildings   integer NOT NULL,
    population          double precision,       -- NULL: no count for this unit
    covered_population  double precision,
    PRIMARY KEY (run_id, level, code, minutes)
);

-- Per-node result: minutes to the nearest facility (NULL = not reachable).
CREATE TABLE coverage_node_time (
    run_id    integer NOT NULL REFERENCES coverage_run (id) ON DELETE CASCADE,
    node_idx  integer NOT NULL,
    minutes   real,
    PRIMARY KEY (run_id, node_idx)
);
