"""The connection pool: one per process, opened by whoever wires the application."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool

from gridmap.errors import DatabaseError

LOGGER = logging.getLogger(__name__)

_BLOCK = 1 << 22  # bytes per copy.write(): few calls, bounded memory per call


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def json_text(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as compact JSON text, for every json/jsonb parameter the store writes and for
    intake's answers: non-ASCII kept, datetimes in ISO 8601, numpy numbers as numbers, NaN as
    null (jsonb refuses NaN), anything else as its str(); ``sort_keys`` for a canonical text.
    orjson, not the json module: intake encodes several values per request and its server
    process is bound by its Python time (benchmarks/intake.py)."""
    options = _JSON_OPTIONS | orjson.OPT_SORT_KEYS if sort_keys else _JSON_OPTIONS
    return orjson.dumps(value, default=str, option=options).decode()


def _configure(conn: psycopg.Connection) -> None:
    """Every pooled connection parses JSON results with orjson (for the same reason)."""
    set_json_loads(orjson.loads, conn)


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<unparseable database URL>"
    info.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


class Database:
    """A psycopg 3 connection pool with transaction helpers.

    Parameters
    ----------
    url
        libpq connection URL (``GRIDMAP_DATABASE_URL``).
    max_size
        most connections held at once.
    """

    def __init__(self, url: str, *, max_size: int = 10) -> None:
        self.url = url
        self._max_size = max_size
        self._pool: ConnectionPool | None = None
        # the first requests of a server arrive together: one of them opens the pool, the
        # others wait for it (two concurrent opens of one pool fail, and the failing one used
        # to close the pool under the other, leaving every later request a 503)
        self._opening = threading.Lock()

    def open(self) -> Database:
        if self._pool is not None:
            return self
        with self._opening:
            if self._pool is not None:
                return self
            # one direct attempt first: the pool would retry for its whole timeout and then
            # report only "pool initialization incomplete", hiding the server's own reason
            try:
                psycopg.connect(self.url, connect_timeout=5).close()
            except psycopg.OperationalError as exc:
                raise DatabaseError(
                    "db_unreachable", url=redact_url(self.url), reason=str(exc).strip()
                ) from exc
            # a new pool each time: a psycopg pool that failed to open (or was closed) cannot
            # be opened again, and the next request must be able to try once the server is up
            pool = ConnectionPool(
                self.url,
                min_size=1,
                max_size=self._max_size,
                open=False,
                name="gridmap",
                timeout=10,
                configure=_configure,
            )
            try:
                pool.open(wait=True, timeout=10)
            except Exception as exc:
                pool.close()
                raise DatabaseError(
                    "db_unreachable", url=redact_url(self.url), reason=str(exc).strip()
                ) from exc
            self._pool = pool
        return self

    def close(self) -> None:
        with self._opening:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def __enter__(self) -> Database:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; the block runs in one transaction, committed at the end."""
        pool = self.open()._pool
        assert pool is not None
        with pool.connection() as conn:
            yield conn

    @contextmanager
    def autocommit(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in autocommit mode: every statement its own transaction, with
        no BEGIN or COMMIT round trips. For callers whose every write is a single statement."""
        with self.connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                if not conn.closed:
                    conn.autocommit = False

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[psycopg.Connection]:
        """One transaction; with ``commit=False`` everything is rolled back at the end.

        Dry runs use this: the same code path as a real import, nothing kept. (No libpq
        pipeline mode: intake tried it, and psycopg's pipeline loop cost more client CPU than
        the round trips it saved; intake sends two statements instead.)
        """
        with self.connection() as conn, conn.transaction(force_rollback=not commit):
            yield conn


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    prefix: Mapping[str, Any] | None = None,
) -> None:
    """COPY ``rows`` (values for ``columns``) into ``table`` in one round trip; ``prefix``
    gives columns with one value for every row (e.g. the owning run's id), written first.
    Identifiers are composed with psycopg.sql, never formatted into the statement."""
    prefix = dict(prefix or {})
    statement = psycopg.sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg.sql.Identifier(table),
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(c) for c in [*prefix, *columns]),
    )
    values = tuple(prefix.values())
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row((*values, *row))


def arrow_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Frame columns named by ``schema`` as an Arrow table of those types; None, NaN and
    pandas NA all become nulls (COPY cannot take NAType)."""
    arrays = []
    for field in schema:
        values = frame[field.name]
        if values.dtype == object:
            values = values.astype(object).where(values.notna(), None)
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def copy_csv(conn: psycopg.Connection, statement: str, table: pa.Table) -> None:
    """COPY an Arrow table as CSV text (``statement`` says ``FROM STDIN (FORMAT csv)``) in one
    stream fed in large blocks: ~3x faster than a write_row per row. Nulls are written
    unquoted and empty (NULL to COPY), strings quoted (an empty string stays an empty string).
    """
    copy_data(conn, statement, csv_data(table))


def csv_data(table: pa.Table) -> memoryview:
    """An Arrow table as the CSV text ``copy_csv`` sends (no connection needed: it can be
    prepared while the connection is busy with something else)."""
    buffer = io.BytesIO()
    columns = [
        _utc_text(column) if pa.types.is_timestamp(column.type) and column.type.tz else column
        for column in table.columns
    ]
    pa_csv.write_csv(
        pa.table(columns, names=table.column_names),
        buffer,
        pa_csv.WriteOptions(include_header=False),
    )
    return buffer.getbuffer()


def _utc_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Zone-aware times as UTC text ('2020-01-01 08:05:00.000000Z'). Arrow keeps them as UTC
    instants, so dropping the zone gives UTC wall time: its CSV writer formats that about 25x
    faster than the zone-aware type, which it converts value by value (a hotline import's
    three time columns were most of its CSV time)."""
    wall = column.cast(pa.timestamp(column.type.unit)).cast(pa.string())
    return pc.binary_join_element_wise(wall, pa.scalar("Z"), pa.scalar(""))


def copy_data(
    conn: psycopg.Connection, statement: str | psycopg.sql.Composed, data: memoryview
) -> None:
    """COPY prepared data (e.g. ``csv_data``) in large blocks."""
    with conn.cursor().copy(statement) as copy:
        for start in range(0, len(data), _BLOCK):
            copy.write(data[start : start + _BLOCK])
