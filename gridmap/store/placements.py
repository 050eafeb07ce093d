"""Placements: where each located thing is, and which unit holds it in each generation.

``placement`` says where a thing is; ``placement_unit`` holds its unit per generation, one
row per (generation, placement), appended when a generation is activated and never updated
by it: activation appends the rows a generation lacks (one COPY), a rollback finds its rows
already there, and the history of moves is derived by comparing generations.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa

from gridmap.store.db import arrow_table, copy_csv

LOGGER = logging.getLogger(__name__)

_PLACEMENT_SCHEMA = pa.schema(
    [
        ("subject", pa.string()),
        ("subject_id", pa.int64()),
        ("lon", pa.float64()),
        ("lat", pa.float64()),
        ("generation", pa.int32()),
        ("unit_level", pa.string()),
        ("unit_code", pa.string()),
    ]
)
_UNIT_SCHEMA = pa.schema(
    [
        ("generation", pa.int32()),
        ("placement_id", pa.int64()),
        ("unit_level", pa.string()),
        ("unit_code", pa.string()),
    ]
)


def place(
    conn: psycopg.Connection,
    *,
    subject: str,
    subject_id: int,
    lon: float,
    lat: float,
    generation: int | None,
    level: str | None,
    code: str | None,
) -> int:
    """Record (or update) where ``subject`` ``subject_id`` is and, when ``generation`` is
    given, which unit holds it in that generation."""
    row = conn.execute(
        """
        WITH old AS (
            SELECT lon, lat FROM placement WHERE subject = %(s)s AND subject_id = %(i)s
        )
        INSERT INTO placement (subject, subject_id, lon, lat)
        VALUES (%(s)s, %(i)s, %(lon)s, %(lat)s)
        ON CONFLICT (subject, subject_id) DO UPDATE SET
            lon = excluded.lon, lat = excluded.lat, placed_at = now()
        RETURNING id,
            (SELECT old.lon IS DISTINCT FROM %(lon)s OR old.lat IS DISTINCT FROM %(lat)s
             FROM old) AS relocated
        """,
        {"s": subject, "i": subject_id, "lon": lon, "lat": lat},
    ).fetchone()
    assert row is not None
    placement_id, relocated = int(row[0]), bool(row[1])
    if relocated:
        # the thing itself moved: its units in other generations were computed for the old
        # spot; drop them so activating one of those generations locates it again
        conn.execute(
            "DELETE FROM placement_unit WHERE placement_id = %s AND generation <> %s",
            (placement_id, generation if generation is not None else -1),
        )
    if generation is not None:
        conn.execute(
            """
            INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (generation, placement_id) DO UPDATE SET
                unit_level = excluded.unit_level, unit_code = excluded.unit_code
            """,
            (generation, placement_id, level, code),
        )
    return placement_id


def copy_placements_in(conn: psycopg.Connection, frame: pd.DataFrame) -> None:
    """Bulk-load placements (columns subject, subject_id, lon, lat; optionally generation,
    unit_level, unit_code for rows already located) as CSV in one COPY stream: a million
    rows in about 2 s. Missing values may be None, NaN or pandas NA."""
    frame = frame.copy()
    for column in ("generation", "unit_level", "unit_code"):
        if column not in frame.columns:
            frame[column] = None
    located = frame["generation"].notna()
    if not located.any():
        copy_csv(
            conn,
            "COPY placement (subject, subject_id, lon, lat) FROM STDIN (FORMAT csv)",
            arrow_table(frame, _PLACEMENT_SCHEMA).select(["subject", "subject_id", "lon", "lat"]),
        )
        return
    # rows with units need the ids the placement rows get: stage everything, then two
    # set-based INSERTs (the temp table goes with the transaction)
    conn.execute(
        """
        CREATE TEMP TABLE placement_load (
            subject text, subject_id bigint, lon double precision, lat double precision,
            generation integer, unit_level text, unit_code text
        ) ON COMMIT DROP
        """
    )
    copy_csv(
        conn,
        "COPY placement_load (subject, subject_id, lon, lat, generation, unit_level, unit_code) "
        "FROM STDIN (FORMAT csv)",
        arrow_table(frame, _PLACEMENT_SCHEMA),
    )
    conn.execute(
        "INSERT INTO placement (subject, subject_id, lon, lat) "
        "SELECT subject, subject_id, lon, lat FROM placement_load"
    )
    conn.execute(
        """
        INSERT INTO placement_unit (generation, placement_id, unit_level, unit_code)
        SELECT l.generation, p.id, l.unit_level, l.unit_code
        FROM placement_load l
        JOIN placement p ON p.subject = l.subject AND p.subject_id = l.subject_id
        WHERE l.generation IS NOT NULL
        """
    )
    conn.execute("DROP TABLE placement_load")


def _read_csv(
    conn: psycopg.Connection, statement: str, params: Any, dtype: dict[str, str]
) -> pd.DataFrame:
    """A query's rows via COPY to CSV and Arrow: a million rows in about a second, where
    fetching tuples takes several. (COPY takes no server-side parameters: psycopg binds
    ``params`` client-side, still quoted safely.)"""
    buffer = io.BytesIO()
    with conn.cursor().copy(statement, params) as copy:
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return pd.read_csv(buffer, engine="pyarrow", dtype=dtype)


def read_unplaced(conn: psycopg.Connection, generation: int) -> pd.DataFrame:
    """Placements (id, lon, lat) with no unit row for ``generation`` yet: those an activation
    must locate. After a rollback to an earlier generation this is (nearly) empty."""
    return _read_csv(
        conn,
        # anti-join on the primary key (generation, placement_id)
        """
        COPY (
            SELECT p.id, p.lon, p.lat FROM placement p
            WHERE NOT EXISTS (
                SELECT 1 FROM placement_unit u
                WHERE u.generation = %(gen)s AND u.placement_id = p.id
            )
            ORDER BY p.id
        ) TO STDOUT (FORMAT csv, HEADER true)
        """,
        {"gen": generation},
        {"id": "int64", "lon": "float64", "lat": "float64"},
    )


def read_placements(conn: psycopg.Connection, generation: int) -> pd.DataFrame:
    """Every placement (id, lon, lat, unit_level, unit_code) with its unit in ``generation``
    (missing when it has no row there or is outside every unit), ordered by id."""
    return _read_csv(
        conn,
        """
        COPY (
            SELECT p.id, p.lon, p.lat, u.unit_level, u.unit_code FROM placement p
            LEFT JOIN placement_unit u ON u.generation = %(gen)s AND u.placement_id = p.id
            ORDER BY p.id
        ) TO STDOUT (FORMAT csv, HEADER true)
        """,
        {"gen": generation},
        {
            "id": "int64",
            "lon": "float64",
            "lat": "float64",
            "unit_level": "string",
            "unit_code": "string",
        },
    )


def write_units(
    conn: psycopg.Connection,
    generation: int,
    ids: Sequence[int] | np.ndarray,
    levels: Sequence[str | None] | np.ndarray,
    codes: Sequence[str | None] | np.ndarray,
) -> int:
    """Append the units of placements ``ids`` in ``generation`` (None: outside every unit)
    with one COPY; returns the rows written. Only for placements without a row there."""
    count = len(ids)
    if count == 0:
        return 0
    table = pa.Table.from_arrays(
        [
            pa.array(np.full(count, generation, dtype=np.int32)),
            pa.array(np.asarray(ids, dtype=np.int64)),
            pa.array(np.asarray(levels, dtype=object), type=pa.string(), from_pandas=True),
            pa.array(np.asarray(codes, dtype=object), type=pa.string(), from_pandas=True),
        ],
        schema=_UNIT_SCHEMA,
    )
    copy_csv(
        conn,
        "COPY placement_unit (generation, placement_id, unit_level, unit_code) "
        "FROM STDIN (FORMAT csv)",
        table,
    )
    return count


def count_placements(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM placement").fetchone()
    return int(row[0]) if row else 0


def count_moves(conn: psycopg.Connection, *, before: int, after: int) -> int:
    """Placements whose unit in ``after`` differs from their unit in ``before``; one with no
    row in ``before`` counts as outside every unit there (so newly placed ones count)."""
    row = conn.execute(
        # both sides by primary key; IS DISTINCT FROM: NULL (outside, or no row) vs a unit
        """
        SELECT count(*) FROM placement_unit a
        LEFT JOIN placement_unit b ON b.generation = %(before)s AND b.placement_id = a.placement_id
        WHERE a.generation = %(after)s
          AND (a.unit_level, a.unit_code) IS DISTINCT FROM (b.unit_level, b.unit_code)
        """,
        {"before": before, "after": after},
    ).fetchone()
    return int(row[0]) if row else 0


def placement_history(
    conn: psycopg.Connection, *, subject: str, subject_id: int
) -> list[tuple[int, str | None, str | None]]:
    """(generation, unit_level, unit_code) of the generations in which the placement's unit
    changed (the first generation it has a row in included), ordered by generation."""
    rows = conn.execute(
        # derived: compare each generation's row with the one of the previous generation
        """
        SELECT generation, unit_level, unit_code FROM (
            SELECT u.generation, u.unit_level, u.unit_code,
                   row_number() OVER w AS n,
                   lag(u.unit_level) OVER w AS prev_level,
                   lag(u.unit_code) OVER w AS prev_code
            FROM placement_unit u JOIN placement p ON p.id = u.placement_id
            WHERE p.subject = %s AND p.subject_id = %s
            WINDOW w AS (ORDER BY u.generation)
        ) h
        WHERE n = 1 OR (unit_level, unit_code) IS DISTINCT FROM (prev_level, prev_code)
        ORDER BY generation
        """,
        (subject, subject_id),
    ).fetchall()
    return [(int(g), level, code) for g, level, code in rows]


def current_unit(
    conn: psycopg.Connection, *, subject: str, subject_id: int
) -> tuple[str | None, str | None] | None:
    """(unit_level, unit_code) of the placement in the active generation; None when it has
    no row there (unknown placement, or not located since). (None, None): outside."""
    row = conn.execute(
        """
        SELECT u.unit_level, u.unit_code
        FROM placement p
        JOIN placement_unit u ON u.placement_id = p.id
        JOIN boundary_generation g ON g.id = u.generation AND g.active
        WHERE p.subject = %s AND p.subject_id = %s
        """,
        (subject, subject_id),
    ).fetchone()
    return None if row is None else (row[0], row[1])
