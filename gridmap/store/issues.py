"""Issues: the case rows, their append-only events, routing decisions, photos, idempotency
keys, duplicate search and merges. Reporter contact columns are read only by
``reporter_contacts`` (for notifying reporters); every other query leaves them out."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from gridmap.store.db import json_text

LOGGER = logging.getLogger(__name__)

# What other roles may see of an issue: never the reporter's contact.
PUBLIC_COLUMNS = """
    i.id, i.set_name, i.category_code, c.name_en AS category_name_en,
    c.name_zh AS category_name_zh, c.kind AS category_kind, i.description, i.channel,
    ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.address, i.geocode, i.external_source,
    i.external_id, i.state, i.version, i.severity, i.attributes, i.reported_at, i.created_at,
    i.due_at, coalesce(i.deadlines, dl.deadlines) AS deadlines, i.generation, i.unit_level,
    i.unit_code, u.name AS unit_name,
    i.edge_distance_m, i.target_kind, i.worker_id, w.name AS worker_name, i.department_code,
    d.name_en AS department_name_en, d.name_zh AS department_name_zh, i.needs_confirmation,
    i.master_id, i.status_notes, i.closed_at, i.media_url,
    m.state AS master_state, m.status_notes AS master_status_notes,
    (SELECT count(*) FROM issue_photo p WHERE p.issue_id = i.id) AS photo_count,
    coalesce((SELECT max(e.at) FROM issue_event e WHERE e.issue_id = i.id), i.created_at)
        AS updated_at
"""
PUBLIC_FROM = """
    issue i
    JOIN category c ON c.set_name = i.set_name AND c.code = i.category_code
    LEFT JOIN worker w ON w.id = i.worker_id
    LEFT JOIN department d ON d.code = i.department_code
    LEFT JOIN issue m ON m.id = i.master_id
    LEFT JOIN admin_unit u ON u.level = i.unit_level AND u.code = i.unit_code
        AND u.generation_low <= i.generation AND u.generation_high >= i.generation
    -- an imported issue's deadlines are its import's deadline set (migration 0016)
    LEFT JOIN issue_import_deadlines dl ON dl.import_id = i.import_id
        AND dl.deadline_set = i.import_deadline_set
"""

ISSUE_COLUMNS = (
    "set_name",
    "category_code",
    "description",
    "channel",
    "input_lon",
    "input_lat",
    "input_coord_type",
    "address",
    "geocode",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "reporter_device_id",
    "reporter_account_id",
    "media_url",
    "external_source",
    "external_id",
    "state",
    "severity",
    "attributes",
    "reported_at",
    "due_at",
    "deadlines",
    "generation",
    "unit_level",
    "unit_code",
    "edge_distance_m",
    "target_kind",
    "worker_id",
    "department_code",
    "needs_confirmation",
)
JSON_COLUMNS = ("geocode", "attributes", "deadlines")


# --- writing issues ------------------------------------------------------------------------


def _json(value: Any) -> str | None:
    return None if value is None else json_text(value)


def issue_insert_sql() -> str:
    """INSERT of one issue from ``issue_params`` under an id reserved beforehand (%(id)s),
    RETURNING id; nothing (no row) when its (external_source, external_id) is there already."""
    columns = ["id", *ISSUE_COLUMNS]
    # binary parameters (%(name)b): psycopg adapts them in half the client CPU of text ones,
    # which escape every value (intake benchmark profile); JSON text then needs its cast
    values = [
        sql.SQL("{}::jsonb").format(sql.Placeholder(c, sql.PyFormat.BINARY))
        if c in JSON_COLUMNS
        else sql.Placeholder(c, sql.PyFormat.BINARY)
        for c in columns
    ]
    # composed once, to text: psycopg turns a Composed into bytes again on every execute,
    # which cost more CPU than the rest of the INSERT's client side (intake benchmark profile)
    return (
        sql.SQL(
            """
        INSERT INTO issue ({columns}, geom) OVERRIDING SYSTEM VALUE
        VALUES ({values}, CASE WHEN %(lon)b::float8 IS NULL THEN NULL
                          ELSE ST_SetSRID(ST_MakePoint(%(lon)b, %(lat)b), 4326) END)
        ON CONFLICT (external_source, external_id) DO NOTHING
        RETURNING id
        """
        )
        .format(
            columns=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            values=sql.SQL(", ").join(values),
        )
        .as_string(None)
    )


def issue_params(values: dict[str, Any], *, lon: float | None, lat: float | None) -> dict[str, Any]:
    """Parameters of ``issue_insert_sql`` from an issue's values (JSON columns as text)."""
    params = {
        c: _json(values.get(c)) if c in JSON_COLUMNS else values.get(c) for c in ISSUE_COLUMNS
    }
    params["attributes"] = params["attributes"] or "{}"
    params["deadlines"] = params["deadlines"] or "[]"
    return {**params, "lon": lon, "lat": lat}


def issue_by_external_id(conn: psycopg.Connection, source: str, external_id: str) -> int | None:
    row = conn.execute(
        "SELECT id FROM issue WHERE external_source = %s AND external_id = %s",
        (source, external_id),
    ).fetchone()
    return int(row[0]) if row else None


def add_event(
    conn: psycopg.Connection,
    issue_id: int,
    *,
    actor: str,
    from_state: str | None,
    to_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        """
        INSERT INTO issue_event (issue_id, actor, from_state, to_state, note, data)
        VALUES (%s, %s, %s, %s, %s, %s)
        """,
        (issue_id, actor, from_state, to_state, note, _json(data or {})),
    )


def add_routing_decision(conn: psycopg.Connection, issue_id: int, decision: dict[str, Any]) -> None:
    conn.execute(
        """
        INSERT INTO routing_decision (issue_id, generation, unit_level, unit_code, target_kind,
                                      worker_id, department_code, needs_confirmation, steps)
        VALUES (%(issue_id)s, %(generation)s, %(unit_level)s, %(unit_code)s, %(target_kind)s,
                %(worker_id)s, %(department_code)s, %(needs_confirmation)s, %(steps)s)
        """,
        {**decision, "issue_id": issue_id, "steps": _json(decision["steps"])},
    )


def set_route(conn: psycopg.Connection, issue_id: int, decision: dict[str, Any]) -> None:
    """Store a new routing decision and make it the issue's current target."""
    add_routing_decision(conn, issue_id, decision)
    conn.execute(
        """
        UPDATE issue SET target_kind = %(target_kind)s, worker_id = %(worker_id)s,
            department_code = %(department_code)s, needs_confirmation = %(needs_confirmation)s,
            generation = %(generation)s, unit_level = %(unit_level)s, unit_code = %(unit_code)s,
            version = version + 1
        WHERE id = %(id)s
        """,
        {**decision, "id": issue_id},
    )


def add_photos(conn: psycopg.Connection, issue_id: int, photos: Sequence[Any]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO issue_photo (issue_id, content_type, width, height, sha256, data)
            VALUES (%s, %s, %s, %s, %s, %s)
            """,
            [(issue_id, p.content_type, p.width, p.height, p.sha256, p.data) for p in photos],
        )


def merge_into(
    conn: psycopg.Connection, duplicate_id: int, master_id: int, *, actor: str, note: str
) -> None:
    """Mark ``duplicate_id`` (and anything already merged into it) as following the master."""
    # the RETURNING subquery reads the statement's snapshot: the state before this UPDATE
    rows = conn.execute(
        """
        UPDATE issue SET master_id = %(master)s, version = version + 1,
            state = CASE WHEN id = %(dup)s THEN 'merged' ELSE state END
        WHERE id = %(dup)s OR master_id = %(dup)s
        RETURNING id, (SELECT state FROM issue o WHERE o.id = issue.id)
        """,
        {"master": master_id, "dup": duplicate_id},
    ).fetchall()
    for issue_id, old_state in rows:
        if issue_id == duplicate_id:
            add_event(
                conn,
                issue_id,
                actor=actor,
                from_state=old_state,
                to_state="merged",
                note=note,
                data={"master_id": master_id},
            )


# --- reading issues ------------------------------------------------------------------------


def get_issue(conn: psycopg.Connection, issue_id: int, *, lock: bool = False) -> dict | None:
    query = f"SELECT {PUBLIC_COLUMNS} FROM {PUBLIC_FROM} WHERE i.id = %s"
    if lock:
        query += " FOR UPDATE OF i"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, (issue_id,)).fetchone()


def issue_events(conn: psycopg.Connection, issue_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            # the history view: an imported issue's first event is its import's (migration 0012)
            "SELECT at, actor, from_state, to_state, note, data FROM issue_event_history "
            "WHERE issue_id = %s ORDER BY at, id",
            (issue_id,),
        ).fetchall()


def routing_decisions(conn: psycopg.Connection, issue_id: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT decided_at, generation, unit_level, unit_code, target_kind, worker_id,
                   department_code, needs_confirmation, steps
            FROM routing_decision_history WHERE issue_id = %s ORDER BY decided_at, id
            """,
            (issue_id,),
        ).fetchall()


def latest_steps(conn: psycopg.Connection, issue_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The steps of each issue's latest routing decision, for many issues in one query."""
    rows = conn.execute(
        """
        SELECT DISTINCT ON (issue_id) issue_id, steps FROM routing_decision_history
        WHERE issue_id = ANY(%s) ORDER BY issue_id, decided_at DESC, id DESC
        """,
        (list(issue_ids),),
    ).fetchall()
    return {int(issue_id): steps for issue_id, steps in rows}


# Open issues of the same category within %(radius)s metres reported since %(since)s, nearest
# first (at most %(limit)s); merged issues point to their master, so only masters are offered.
# CTEs (dup_pt, near, nearby) of intake's one-statement read (store.intake).
# MATERIALIZED: the radius is applied first, on its own, through the issue_open_geog GiST
# index (geography: metres; open issues only, so near says closed_at IS NULL). Planned
# together with the category filter, the planner took issue_category_open instead whenever the
# table had no statistics yet (a new deployment) and measured every open issue of the
# category: a cost that grows with the backlog (intake benchmark). Comments stay out of the
# SQL text: see store.intake on its length.
NEARBY_OPEN_CTES = """
dup_pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g),
near AS MATERIALIZED (
    SELECT i.id, i.state, i.reported_at, i.description, i.set_name,
           i.category_code, i.closed_at, i.master_id,
           ST_Distance(i.geom::geography, dup_pt.g) AS distance
    FROM issue i, dup_pt
    WHERE ST_DWithin(i.geom::geography, dup_pt.g, %(radius)s) AND i.closed_at IS NULL
), nearby AS (
    SELECT i.id, i.state, i.reported_at, i.description,
           round(i.distance::numeric, 1)::float8 AS distance_m
    FROM near i
    WHERE i.set_name = %(set)s AND i.category_code = %(cat)s
      AND i.closed_at IS NULL AND i.master_id IS NULL
      AND i.reported_at >= %(since)s
    ORDER BY distance_m, i.id LIMIT %(limit)s
)"""


def list_issues(
    conn: psycopg.Connection,
    *,
    ids: Sequence[int] | None = None,
    category_codes: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    target_kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Issues matching every given filter, newest first."""
    where = ["true"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if ids is not None:
        where.append("i.id = ANY(%(ids)s)")
        params["ids"] = list(ids)
    if category_codes is not None:
        where.append("i.category_code = ANY(%(cats)s)")
        params["cats"] = list(category_codes)
    if states is not None:
        where.append("i.state = ANY(%(states)s)")
        params["states"] = list(states)
    if start is not None:
        where.append("i.reported_at >= %(start)s")
        params["start"] = start
    if end is not None:
        where.append("i.reported_at <= %(end)s")
        params["end"] = end
    if bbox is not None:
        where.append("i.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)")
        params.update(dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=True)))
    if target_kind is not None:
        where.append("i.target_kind = %(kind)s")
        params["kind"] = target_kind
    # The page's ids first, from the issue table alone; then the joins of PUBLIC_FROM for those
    # rows only. Ordering the joined rows made every page join the whole table, archive
    # included, before its sort (53 -> 7 ms at 16,000 issues, benchmarks/intake.py's database).
    # No index in list order: its b-tree insert per row cost the hotline import 0.6 s in 2.7
    # (benchmarks/import_issues.py), past its goal.
    order = "ORDER BY i.reported_at DESC, i.id DESC"
    query = (
        f"SELECT {PUBLIC_COLUMNS} FROM {PUBLIC_FROM} WHERE i.id = ANY(ARRAY("
        f"SELECT i.id FROM issue i WHERE {' AND '.join(where)} {order} "
        f"LIMIT %(limit)s OFFSET %(offset)s)) {order}"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def duplicates_of(conn: psycopg.Connection, master_id: int) -> list[int]:
    return [
        int(r[0])
        for r in conn.execute("SELECT id FROM issue WHERE master_id = %s ORDER BY id", (master_id,))
    ]


def reporter_contacts(conn: psycopg.Connection, master_id: int) -> list[dict[str, Any]]:
    """The reporters of an issue and of every duplicate merged into it: who must hear the
    outcome. The only query that reads contact columns."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT id AS issue_id, reporter_name, reporter_phone, reporter_email
            FROM issue WHERE (id = %s OR master_id = %s)
              AND coalesce(reporter_phone, reporter_email) IS NOT NULL
            ORDER BY id
            """,
            (master_id, master_id),
        ).fetchall()


def count_issues(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM issue").fetchone()
    assert row is not None
    return int(row[0])


def set_location(
    conn: psycopg.Connection, issue_id: int, *, lon: float, lat: float, edge_m: float | None
) -> None:
    """A dispatcher's placement: the issue's point (WGS84) and its distance to its unit's edge."""
    conn.execute(
        """
        UPDATE issue SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326), edge_distance_m = %s
        WHERE id = %s
        """,
        (lon, lat, edge_m, issue_id),
    )


def set_state(conn: psycopg.Connection, issue_id: int, state: str) -> None:
    conn.execute("UPDATE issue SET state = %s WHERE id = %s", (state, issue_id))
