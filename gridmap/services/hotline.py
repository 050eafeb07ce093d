"""Use case: import a hotline export (12345, MyLA311 ...) as issues, set-based: rows are read
in one frame and, batch by batch (20,000 rows), mapped, located with the in-memory unit
index, routed once per distinct unit x category (the same rule function as intake), given
their deadlines once per category and filing day (or instant, for limits counted in hours),
and written in one transaction: each batch's new routes (one routing decision and first event
per group of rows filed alike) and deadline sets (numbered across the import, each written
once), issues, placements and placement units by one COPY per table, sent by a second thread
while the next batch is prepared. Every run is recorded (``issue_import``:
source, file, who, when, counts), including one that adds nothing. Rows that cannot be taken
go to ``issue_rejected`` with the reason; a row seen before (same source and id) is skipped
before any of that work, so importing a file twice adds nothing and costs little. Imports of
one source take turns (an advisory lock); a row another client stores meanwhile under the
same id refuses the whole import (409).

No step loops over the rows in Python: each works on whole columns, and the per-row Python
work is done once per distinct value (category name, unit x category, filing day)."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from gridmap.analysis.locate import UnitIndex
from gridmap.config import Settings
from gridmap.domain.calendar import DAY_BASED_UNITS, deadline_entry
from gridmap.domain.categories import normalise_name
from gridmap.domain.routing import decide
from gridmap.errors import InputError, NotFoundError
from gridmap.geo.coords import POINT_COORD_TYPES, to_wgs84
from gridmap.ingest.tables import read_text_table
from gridmap.services.categories import Taxonomy, responsibility_rules, taxonomy_in_use
from gridmap.services.locate import load_unit_index
from gridmap.services.routing import decision_record, route_input, workers_for
from gridmap.store import hotline as hotline_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database, json_text

LOGGER = logging.getLogger(__name__)

FIELDS = (
    "external_id",
    "category",
    "reported_at",
    "lon",
    "lat",
    "address",
    "description",
    "closed_at",  # optional: a row closed in the exporting system is imported closed
)


@dataclass(frozen=True)
class ExportFormat:
    """How one kind of export names its columns and writes its dates."""

    columns: dict[str, str]  # field -> column (matched ignoring case, width and spaces)
    date_formats: tuple[str, ...]  # strptime formats, tried in turn; () = DEFAULT_DATE_FORMATS


FORMATS = {
    # MyLA311 (data/los_angeles/la311_2020_sample_10k.csv, from hackforla/311-data: dates like
    # 1/1/20 0:05); the city's own open-data download names the same columns in CamelCase
    # (SRNumber, CreatedDate) and writes 01/01/2020 12:05:00 AM
    "la311": ExportFormat(
        columns={
            "external_id": "srnumber",
            "category": "requesttype",
            "reported_at": "createddate",
            "lon": "longitude",
            "lat": "latitude",
            "address": "address",
            "closed_at": "closeddate",
        },
        date_formats=("%m/%d/%y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"),
    ),
    # a generic export: columns named like the fields; --map renames, --date-format parses
    "csv": ExportFormat(columns={f: f for f in FIELDS}, date_formats=()),
}


@dataclass
class ImportReport:
    source: str
    import_id: int = 0
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)


def match_columns(columns: dict[str, str], present: Iterable[Any]) -> dict[str, str]:
    """``columns`` (field -> column) with each column named as the export spells it: an exact
    name first, else the one that differs only in case, width or spaces (SRNumber for
    srnumber); a column found neither way is left as given (reported missing if required)."""
    names = [str(c) for c in present]
    loose = {normalise_name(c): c for c in reversed(names)}  # the first spelling wins
    return {
        field: column if column in names else loose.get(normalise_name(column), column)
        for field, column in columns.items()
    }


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """``column=field`` pairs from the command line."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, name = pair.partition("=")
        if not sep or not column or name not in FIELDS:
            raise InputError("mapping_invalid", value=pair, fields=", ".join(FIELDS))
        mapping[name] = column
    return mapping


_ZONE_SUFFIX = r"(?:Z|[+-]\d\d:?\d\d)$"
# Without --date-format: ISO 8601, then the layouts Chinese 12345 systems and spreadsheets
# write (month and day with or without a leading zero). All are year first, so none can be
# misread; day-first or month-first dates (3/2/2026) stay unreadable (bad_date) until
# --date-format says which they are.
DEFAULT_DATE_FORMATS = (
    "ISO8601",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分%S秒",
    "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日",
)


class TimeParser:
    """An export's times as UTC; a value without an offset is local time in ``zone`` (the
    deployment's), one with an offset keeps it. Unparseable values (and local times that do
    not exist or repeat at a DST change) become NaT.

    Each distinct text is parsed once per import, whichever batch it comes in: an export's
    times repeat (minutes, or whole days), and strptime was a seventh of an import's Python
    time (benchmarks/import_issues.py). The texts are told apart and looked up by Arrow
    (dictionary encoding, ``index_in``): a Python dict or a pandas Index lookup of each
    batch's distinct texts cost more than the parsing it saved."""

    def __init__(self, date_formats: Sequence[str], zone: ZoneInfo) -> None:
        self._formats = tuple(date_formats) or DEFAULT_DATE_FORMATS
        self._zone = zone
        self._texts = pa.array([], pa.string())  # every distinct text parsed so far
        self._times = np.zeros(0, dtype="datetime64[ns]")  # its time (UTC), NaT if unreadable

    def __call__(self, values: pd.Series) -> pd.Series:
        texts = pa.array(values, pa.string())
        if isinstance(texts, pa.ChunkedArray):  # pandas' Arrow strings may come in chunks
            texts = texts.combine_chunks()
        encoded = pc.dictionary_encode(texts)
        distinct = encoded.dictionary
        position = pc.index_in(distinct, value_set=self._texts)
        new = position.is_null().to_numpy(zero_copy_only=False)
        known = position.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        if new.any():
            unseen = distinct.filter(pa.array(new))
            parsed = self._parse(pd.Series(unseen.to_pylist(), dtype=object))
            known[new] = len(self._times) + np.arange(len(unseen))
            self._texts = pa.concat_arrays([self._texts, unseen])
            self._times = np.concatenate([self._times, parsed.to_numpy(dtype="datetime64[ns]")])
        rows = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        times = np.where(rows >= 0, self._times[known][rows], np.datetime64("NaT"))
        return pd.Series(pd.DatetimeIndex(times).tz_localize("UTC"), index=values.index)

    def _parse(self, values: pd.Series) -> pd.Series:
        # Arrow's regular expressions: one vectorised call, not one Python call per value
        found = values.astype("string[pyarrow]").str.contains(_ZONE_SUFFIX, regex=True)
        aware = found.fillna(False).to_numpy(dtype=bool)
        out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        if aware.any():
            out[aware] = self._read(values[aware], utc=True)
        if (~aware).any():
            local = self._read(values[~aware], utc=False)
            out[~aware] = local.dt.tz_localize(
                self._zone, ambiguous="NaT", nonexistent="NaT"
            ).dt.tz_convert("UTC")
        return out

    def _read(self, texts: pd.Series, *, utc: bool) -> pd.Series:
        """Each text in the first of the formats that reads it (NaT if none does)."""
        times = pd.to_datetime(texts, format=self._formats[0], errors="coerce", utc=utc)
        for layout in self._formats[1:]:
            unread = times.isna() & (texts != "")
            if not unread.any():
                break
            times[unread] = pd.to_datetime(texts[unread], format=layout, errors="coerce", utc=utc)
        return times


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), kept with the import's record: which file it was."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_export(path: Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Every row and column of the export as text (CSV, or the first sheet of an .xlsx)."""
    return read_text_table(path, encoding=encoding)


@dataclass
class ParsedRows:
    """The fields of every row, column by column; ``reason`` is why a row cannot be taken
    ('' while it can)."""

    external_id: pd.Series  # the row's fingerprint when it has none
    category: pd.Series  # the category's code, '' if unknown
    reported_at: pd.Series  # UTC, NaT if unreadable
    closed_at: pd.Series  # UTC, NaT when open (blank)
    lon: np.ndarray  # WGS84, NaN if missing or unreadable
    lat: np.ndarray
    input_lon: np.ndarray  # as the export gives them (in the import's coord_type)
    input_lat: np.ndarray
    address: pd.Series
    description: pd.Series
    reason: pd.Series


def read_category_map(
    path: Path, taxonomy: Taxonomy, *, encoding: str | None = None
) -> dict[str, str]:
    """An export's category texts -> codes of the set in use, from a table (CSV or .xlsx)
    whose first column is the export's text and second the code; texts compare like the
    set's own names (case, width and spaces ignored). Checked whole before anything is read
    from the export: a code the set lacks, or one text given two codes, refuses the file with
    its line."""
    frame = read_text_table(path, encoding=encoding)
    if frame.shape[1] < 2:
        raise InputError("category_map_columns", path=path)
    mapping: dict[str, str] = {}
    for line, (text, code) in enumerate(frame.iloc[:, :2].itertuples(index=False), start=2):
        text, code = str(text).strip(), str(code).strip()
        if not text and not code:
            continue
        try:
            taxonomy.categories.category(code)
        except NotFoundError:
            raise InputError(
                "category_map_code",
                path=path,
                line=line,
                code=code,
                name=taxonomy.categories.name,
            ) from None
        key = normalise_name(text)
        if not key or mapping.get(key, code) != code:
            raise InputError("category_map_text", path=path, line=line, text=text)
        mapping[key] = code
    return mapping


def row_fingerprints(frame: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """A hash of each of ``rows``' content (rows are positions), as 16 hex digits.

    pandas' row hash is deterministic across runs and processes (fixed hash key), so the same
    row gets the same fingerprint on a second import; it depends on the row alone, so only
    the rows that need one (no id, rejected) are hashed."""
    hashes = pd.util.hash_pandas_object(frame.iloc[rows], index=False)
    return hashes.map("{:016x}".format).to_numpy(dtype=object)


def parse_rows(
    frame: pd.DataFrame,
    columns: dict[str, str],
    taxonomy: Taxonomy,
    *,
    times: TimeParser,
    coord_type: str = "wgs84",
    category_map: dict[str, str] | None = None,
) -> ParsedRows:
    """Map the export's columns to the fields; categories by name (once per distinct name),
    dates by ``times`` (the deployment's time zone), coordinates as numbers in ``coord_type``
    (geo.coords.POINT_COORD_TYPES), converted to WGS84. ``category_map`` (read_category_map)
    is asked before the category set's own names."""

    def text(name: str) -> pd.Series:
        column = columns.get(name)
        if column is None or column not in frame.columns:
            return pd.Series([""] * len(frame), dtype=object)
        return frame[column].astype(str).str.strip()

    external_id = text("external_id")
    missing = (external_id == "").to_numpy()
    external_id[missing] = row_fingerprints(frame, np.flatnonzero(missing))
    reason = pd.Series([""] * len(frame), dtype=object)

    names = text("category")
    known: dict[str, str] = {}
    for name in names.unique().tolist():
        mapped = (category_map or {}).get(normalise_name(str(name)))
        found = taxonomy.categories.by_external_name(str(name)) if mapped is None else None
        known[str(name)] = mapped or (found.code if found is not None else "")
    category = names.map(known)
    reason[category == ""] = "unknown_category"

    stamps = times(text("reported_at"))
    reason[(reason == "") & stamps.isna()] = "bad_date"
    closed_text = text("closed_at")
    closed = times(closed_text)
    # a closing date that cannot be read, or before the report, is a bad date too: guessing
    # open or closed would misstate the case
    bad_close = (closed_text != "") & (closed.isna() | (closed < stamps))
    reason[(reason == "") & bad_close] = "bad_date"

    lon = pd.to_numeric(text("lon"), errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(text("lat"), errors="coerce").to_numpy(dtype=float, copy=True)
    # 0,0 is how many exports write "no coordinates"
    lon[(lon == 0) & (lat == 0)] = np.nan
    # Chinese exports often carry the coordinates of the web map their agents clicked on
    # (GCJ-02 of Amap or Tencent, BD-09 of Baidu): hundreds of metres off, removed here.
    # NaN stays NaN, and values out of range stay as they are (refused when located).
    wgs_lon, wgs_lat = to_wgs84(lon, lat, coord_type=coord_type)
    return ParsedRows(
        external_id=external_id,
        category=category,
        reported_at=stamps,
        closed_at=closed,
        lon=wgs_lon,
        lat=wgs_lat,
        input_lon=lon,
        input_lat=lat,
        address=text("address"),
        description=text("description"),
        reason=reason,
    )


_LOCATE_REASONS = {"missing_coordinates": "missing_coordinates", "out_of_range": "bad_coordinates"}


def locate_rows(index: UnitIndex, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """The units of each point (``UnitIndex.locate``'s columns); ``reason`` says why a point
    could not be placed ('' if it was)."""
    located = index.locate(lon, lat)
    located["reason"] = located["locate_error"].replace(_LOCATE_REASONS)
    return located


@dataclass
class RoutingFacts:
    """What routing reads from the database, read once per import (the workers of every
    unit, on duty or not at the import's time, and the responsibility rules), and what the
    import's earlier batches decided, computed and wrote: the import's routes and deadline sets
    are numbered across its batches, each written once."""

    workers: dict[tuple[str, str], list[Any]]
    rules: Any
    # decisions made so far, numbered, by group (unit chain, category, near an edge): later
    # batches route their groups as the first batch that met them did
    decided: dict[tuple[Any, ...], int] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # by number
    routes_written: set[int] = field(default_factory=set)
    # deadlines computed so far (deadlines_for's ``known``): batches share their filing days
    deadlines_known: dict[tuple[Any, ...], datetime] = field(default_factory=dict)
    deadline_sets: dict[str, int] = field(default_factory=dict)  # JSON -> its number, written


def routing_facts(conn: Any, index: UnitIndex, set_name: str, *, at: datetime) -> RoutingFacts:
    units = [
        [{"level": str(lv), "code": str(c)}]
        for lv, c in zip(index.unit_level, index.unit_code, strict=True)
    ]
    return RoutingFacts(workers_for(conn, units, at=at), responsibility_rules(conn, set_name))


def route_groups(
    settings: Settings,
    taxonomy: Taxonomy,
    located: pd.DataFrame,
    category: np.ndarray,
    *,
    facts: RoutingFacts,
    generation: int | None,
) -> np.ndarray:
    """Each row's decision (its number in ``facts.decisions``). Rows in the same unit chain, of
    the same category and alike near an edge route alike: ``decide`` runs once per such group
    and import (a few thousand at most), not once per row."""
    levels = list(settings.levels.names)
    edges = located["edge_distance_m"].to_numpy(dtype=float)
    keys = located[[f"{lv}_code" for lv in levels]].copy()
    keys["category"] = category
    keys["near_edge"] = edges < settings.edge_margin_m
    group = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    # the group's first row stands for it (its edge distance is the one the steps quote)
    _, first = np.unique(group, return_index=True)
    codes = {lv: located[f"{lv}_code"].to_numpy(dtype=object)[first] for lv in levels}
    names = {lv: located[f"{lv}_name"].to_numpy(dtype=object)[first] for lv in levels}
    near = keys["near_edge"].to_numpy()[first]
    numbers = np.zeros(len(first), dtype=np.int64)
    for g, i in enumerate(first.tolist()):
        # a group an earlier batch of the import decided routes as it did there
        key = (*(codes[lv][g] for lv in levels), category[i], bool(near[g]))
        number = facts.decided.get(key)
        if number is None:
            chain = [
                {"level": lv, "code": str(codes[lv][g]), "name": str(names[lv][g])}
                for lv in levels
                if codes[lv][g]
            ]
            decision = decide(
                route_input(taxonomy.categories.category(category[i]), chain, float(edges[i])),
                workers=facts.workers,
                rules=facts.rules,
                edge_margin_m=settings.edge_margin_m,
            )
            number = facts.decided[key] = len(facts.decisions)
            facts.decisions.append(decision_record(decision, generation))
        numbers[g] = number
    return numbers[group]


@dataclass
class Deadlines:
    """Each row's last deadline and its deadline set, as an index into ``sets`` (JSON)."""

    due_at: pd.Series  # UTC
    group: np.ndarray
    sets: list[str]


def deadlines_for(
    taxonomy: Taxonomy,
    category: np.ndarray,
    reported_at: pd.Series,
    *,
    known: dict[tuple[Any, ...], datetime] | None = None,
) -> Deadlines:
    """Every stage's deadline, computed by the working calendar once per category and
    distinct basis: the local filing day for limits in working days (they do not depend on
    the hour), the filing instant otherwise. ``known``: deadlines computed before (by
    basis, amount and unit), kept across an import's batches, which share their days.

    Rows are grouped by category with one sort, and the bases are int64 nanoseconds: pandas
    indexing per category was most of this function's time (benchmarks/import_issues.py)."""
    known = {} if known is None else known
    calendar = taxonomy.calendar
    n = len(category)
    filed = pd.DatetimeIndex(reported_at).tz_convert("UTC")
    instant = filed.asi8
    local_day: np.ndarray | None = None  # the local midnight of each filing, when needed
    last = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    group = np.zeros(n, dtype=np.int64)
    sets: list[str] = []
    category_no, categories = pd.factorize(np.asarray(category, dtype=object))
    order = np.argsort(category_no, kind="stable")
    edges = np.searchsorted(category_no[order], np.arange(len(categories) + 1))
    for k, code in enumerate(categories.tolist()):
        rows = order[edges[k] : edges[k + 1]]
        limits = taxonomy.categories.category(code).time_limits
        bases = []  # per stage, each row's basis
        for limit in limits:
            if limit.unit in DAY_BASED_UNITS:
                if local_day is None:
                    local_day = filed.tz_convert(calendar.zone).normalize().asi8
                bases.append(local_day[rows])
            else:
                bases.append(instant[rows])
        if not bases:
            bases.append(np.zeros(len(rows), dtype=np.int64))  # one empty set
        # rows with the same basis for every stage share their deadlines
        _, first, combo = np.unique(
            np.column_stack(bases), axis=0, return_index=True, return_inverse=True
        )
        lasts = []
        for i in first.tolist():
            start = filed[rows[i]].to_pydatetime()
            dues = []
            for limit, basis in zip(limits, bases, strict=False):
                key = (int(basis[i]), limit.amount, limit.unit)
                if key not in known:
                    known[key] = calendar.add(start, limit.amount, limit.unit)
                dues.append(known[key])
            sets.append(
                json_text(
                    [deadline_entry(limit, due) for limit, due in zip(limits, dues, strict=True)]
                )
            )
            lasts.append(max(dues).astimezone(UTC).replace(tzinfo=None) if dues else None)
        group[rows] = len(sets) - len(first) + combo.reshape(-1)
        last[rows] = np.array(lasts, dtype="datetime64[us]")[combo.reshape(-1)]
    return Deadlines(pd.Series(last).dt.tz_localize("UTC"), group, sets)


CHUNK_ROWS = 20_000  # rows parsed, located, routed and stored together (see BatchWriter)
# The first batch is smaller, so that the database starts sooner, and so is the last, so
# that the database has little left to write once Python is done (the whole wait at the end
# of an import is the last batch's COPY).
FIRST_CHUNK_ROWS = 5_000


def batch_bounds(n: int) -> list[tuple[int, int]]:
    """(start, stop) of each batch of ``n`` rows."""
    bounds, start = [], 0
    small = min(FIRST_CHUNK_ROWS, CHUNK_ROWS)
    size = small
    while start < n:
        bounds.append((start, min(start + size, n)))
        start, size = start + size, CHUNK_ROWS
    last_start, last_stop = bounds[-1] if bounds else (0, 0)
    if last_stop - last_start > small:
        bounds[-1:] = [(last_start, last_stop - small), (last_stop - small, last_stop)]
    return bounds


@dataclass
class PreparedBatch:
    tables: list[hotline_store.CopyData]  # what the writer sends
    targets: Counter[str]  # how its rows were routed


def issue_batch(
    ids: Future[tuple[np.ndarray, np.ndarray]],
    settings: Settings,
    taxonomy: Taxonomy,
    parsed: ParsedRows,
    text: dict[str, np.ndarray],
    take: np.ndarray,
    located: pd.DataFrame,
    *,
    facts: RoutingFacts,
    generation: int | None,
    source: str,
    import_id: int,
    coord_type: str = "wgs84",
) -> PreparedBatch:
    """The rows ``take`` (positions; ``located`` is their location) routed, given their
    deadlines, their ids (the first of ``ids``, see ``reserve_ids_ahead``) and laid out as
    the store's tables (CSV); ``text``: parsed's text fields as object arrays."""
    category = text["category"][take]
    decision = route_groups(
        settings, taxonomy, located, category, facts=facts, generation=generation
    )
    reported_at = parsed.reported_at.array[take]
    closed_at = parsed.closed_at.array[take]
    deadlines = deadlines_for(
        taxonomy, category, pd.Series(reported_at), known=facts.deadlines_known
    )
    # one route per decision and state (closed in the exporting system, or as decided) and
    # one deadline set per distinct JSON, numbered across the import: the batch writes those
    # no earlier batch wrote
    route = decision * 2 + ~pd.isna(closed_at)
    new_routes = np.setdiff1d(route, np.fromiter(facts.routes_written, dtype=np.int64))
    facts.routes_written.update(new_routes.tolist())
    set_numbers, new_sets = [], []
    for deadline_set in deadlines.sets:
        number = facts.deadline_sets.get(deadline_set)
        if number is None:
            number = facts.deadline_sets[deadline_set] = len(facts.deadline_sets)
            new_sets.append((number, deadline_set))
        set_numbers.append(number)
    severity = {c.code: c.severity for c in taxonomy.categories.categories}
    address = text["address"][take]
    rows = pd.DataFrame(
        {
            "external_id": text["external_id"][take],
            "category_code": category,
            "severity": pd.Series(category, dtype=object).map(severity).to_numpy(),
            "reported_at": reported_at,
            "due_at": deadlines.due_at.array,
            "deadline_set": np.array(set_numbers, dtype=np.int64)[deadlines.group],
            "lon": parsed.lon[take],
            "lat": parsed.lat[take],
            "input_lon": parsed.input_lon[take],
            "input_lat": parsed.input_lat[take],
            "address": np.where(address != "", address, None),
            "description": text["description"][take],
            "edge_distance_m": located["edge_distance_m"].to_numpy(dtype=float),
            "route": route,
            "closed_at": closed_at,
        }
    )
    issue_ids, placement_ids = (reserved[: len(rows)] for reserved in ids.result())
    tables = hotline_store.issue_tables(
        hotline_store.IssueBatch(
            rows=rows,
            decisions=facts.decisions,
            new_routes=new_routes,
            new_deadline_sets=new_sets,
            set_name=taxonomy.categories.name,
            source=source,
            generation=generation,
            import_id=import_id,
            coord_type=coord_type,
        ),
        issue_ids,
        placement_ids,
    )
    numbers, counts = np.unique(decision, return_counts=True)
    targets: Counter[str] = Counter()
    for number, count in zip(numbers.tolist(), counts.tolist(), strict=True):
        targets[facts.decisions[number]["target_kind"]] += count
    return PreparedBatch(tables, targets)


class BatchWriter:
    """Sends batches (their tables' CSV) on the transaction's connection from a second
    thread, in order, while the caller prepares the next one: the database's writing (most
    of an import's time) and Python's locating, routing and laying out overlap instead of
    taking turns. The caller does not use the connection until ``wait_for_writes``; after a
    failed batch the rest are skipped (the transaction is lost) and the error is raised to the
    caller, which rolls back."""

    def __init__(self, conn: Any, *, source: str) -> None:
        self._conn = conn
        self._source = source
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridmap-import")
        self._futures: list[Future[None]] = []
        self._failed = threading.Event()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._failed.set()  # the caller failed: store nothing more
        self._executor.shutdown(wait=True)  # never leave a COPY running past the block

    def submit(self, tables: list[hotline_store.CopyData]) -> None:
        self.check()
        self._futures.append(self._executor.submit(self._store, tables))

    def _store(self, tables: list[hotline_store.CopyData]) -> None:
        if self._failed.is_set():
            return
        try:
            hotline_store.store_issues(self._conn, tables, source=self._source)
        except BaseException:
            self._failed.set()
            raise

    def check(self) -> None:
        """Raise a finished batch's error now rather than preparing more for nothing."""
        for future in self._futures:
            if future.done() and future.exception() is not None:
                future.result()

    def wait(self) -> None:
        for future in self._futures:
            future.result()


def import_history(db: Database, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest imports (``issue_import`` rows), newest first."""
    with db.connection() as conn:
        return hotline_store.imports(conn, limit=limit)


def reserve_ids_ahead(side: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` issue and placement ids, taken on ``side`` (a connection besides the
    transaction's, which is busy writing) by a thread while the batch is being located: the
    ids of rows that then turn out outside are skipped, as a rolled-back insert's are (a
    sequence does not wait for a transaction anyway)."""
    ids = hotline_store.reserve_ids(side, n)
    side.commit()
    return ids


def wait_for_writes(writer: BatchWriter) -> None:
    """Until every batch is stored (what the database still had to do after Python)."""
    writer.wait()


def import_issues(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    export_format: str = "csv",
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    source: str | None = None,
    actor: str = "import",
    coord_type: str = "wgs84",
    encoding: str | None = None,
    category_map: Path | None = None,
) -> ImportReport:
    """Import every row of ``path``; returns counts (imported, skipped, rejected by reason)
    and the id of the import's record. ``actor``: who ran it; ``coord_type``: the system of
    the coordinate columns (geo.coords.POINT_COORD_TYPES), each issue keeps them as given
    (input_lon, input_lat) and is placed at their WGS84 point; ``encoding``: a CSV's text
    encoding when it is not UTF-8 (e.g. GB18030); ``category_map``: a table of the export's
    category texts and their codes (read_category_map)."""
    if export_format not in FORMATS:
        raise InputError("format_unknown", value=export_format, known=", ".join(FORMATS))
    if coord_type not in POINT_COORD_TYPES:
        raise InputError("coord_type_unknown", value=coord_type, known=", ".join(POINT_COORD_TYPES))
    spec = FORMATS[export_format]
    columns = {**spec.columns, **(mapping or {})}
    date_formats = (date_format,) if date_format else spec.date_formats
    source = source or export_format
    frame = read_export(path, encoding=encoding)
    columns = match_columns(columns, frame.columns)
    for name in ("category", "reported_at", "lon", "lat"):
        if columns[name] not in frame.columns:
            raise InputError(
                "column_missing",
                path=str(path),
                column=columns[name],
                columns=", ".join(map(str, frame.columns)),
            )
    report = ImportReport(source=source, rows=len(frame))
    with db.connection() as conn:
        taxonomy = taxonomy_in_use(conn)
    categories = (
        read_category_map(category_map, taxonomy, encoding=encoding) if category_map else None
    )
    index = load_unit_index(db, settings)
    now = datetime.now(UTC)
    reasons = np.full(len(frame), "", dtype=object)  # why each row was not taken ('' if it was)
    row_ids = np.full(len(frame), "", dtype=object)
    targets: Counter[str] = Counter()
    stored = seen = again = 0
    # two connections, both taken before the lock (so the import holding it has both): the
    # transaction's, and a side one for reads and ids while the first is writing
    with db.transaction() as conn, db.connection() as side:
        # imports of one source take turns: a concurrent import of the same file waits here,
        # then finds this one's rows known and adds nothing
        hotline_store.lock_source(conn, source)
        hotline_store.check_references_per_statement(conn)
        report.import_id = hotline_store.start_import(
            conn,
            source=source,
            file_name=path.name,
            file_sha256=file_sha256(path),
            actor=actor,
        )
        times = TimeParser(date_formats, ZoneInfo(taxonomy.categories.timezone))
        generation = unit_store.active_generation(conn)
        facts = routing_facts(conn, index, taxonomy.categories.name, at=now)
        taken = np.zeros(0, dtype=object)  # ids of the rows stored so far
        with (
            BatchWriter(conn, source=source) as writer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridmap-ids") as side_work,
        ):
            # batch by batch, from parsing on: the database stores one batch while Python
            # prepares the next, and starts after the first (small) one
            for start, stop in batch_bounds(len(frame)):
                parsed = parse_rows(
                    frame.iloc[start:stop].reset_index(drop=True),
                    columns,
                    taxonomy,
                    times=times,
                    coord_type=coord_type,
                    category_map=categories,
                )
                text = {
                    name: getattr(parsed, name).to_numpy(dtype=object)
                    for name in ("external_id", "category", "address", "description")
                }
                ids = text["external_id"]
                row_ids[start:stop] = ids
                reason = parsed.reason
                # rows imported before are left out of all further work (a second import
                # is cheap). Probed on the side connection (the transaction's is writing):
                # under the lock, every row of this source not stored by this import is
                # committed, so visible there; this import's own are in ``taken``
                candidates = (reason == "").to_numpy()
                known = hotline_store.known_external_ids(side, source, ids[candidates].tolist())
                side.commit()
                # object dtype (here and below): pandas' hash-table isin; pandas 3 would
                # otherwise infer its Arrow strings, whose isin converts value by value
                before = pd.Series(ids, dtype=object).isin(list(known)).to_numpy() & candidates
                seen += int(before.sum())
                todo = np.flatnonzero(candidates & ~before)

                ids_ahead = side_work.submit(reserve_ids_ahead, side, len(todo))
                located = locate_rows(index, parsed.lon[todo], parsed.lat[todo])
                reason.iloc[todo] = located["reason"].to_numpy()
                reasons[start:stop] = reason.to_numpy(dtype=object)
                placed = (located["reason"] == "").to_numpy(copy=True)
                # the same id twice in a file: the first placed row is the issue, the others
                # are already imported by the time they would be stored
                placed_ids = pd.Series(ids[todo[placed]], dtype=object)
                repeated = (placed_ids.duplicated() | placed_ids.isin(taken)).to_numpy()
                again += int(repeated.sum())
                placed[np.flatnonzero(placed)[repeated]] = False
                take, located = todo[placed], located[placed].reset_index(drop=True)
                if not len(take):
                    ids_ahead.result()  # the side connection is free again
                    continue
                taken = np.concatenate([taken, ids[take]])
                batch = issue_batch(
                    ids_ahead,
                    settings,
                    taxonomy,
                    parsed,
                    text,
                    take,
                    located,
                    facts=facts,
                    generation=generation,
                    source=source,
                    import_id=report.import_id,
                    coord_type=coord_type,
                )
                targets.update(batch.targets)
                stored += len(take)
                writer.submit(batch.tables)
            # the rejected rows are laid out while the last batches are written
            rejected = np.flatnonzero(reasons != "")
            prints = row_fingerprints(frame, rejected)
            # each rejected row as it was, as JSON text, in one call (JSON escapes newlines)
            raw = (
                frame.iloc[rejected]
                .to_json(orient="records", lines=True, force_ascii=False)
                .splitlines()
                if len(rejected)
                else []
            )
            wait_for_writes(writer)
        hotline_store.copy_rejected_in(
            conn,
            [
                {
                    "row_number": int(i) + 2,
                    "external_id": row_ids[i],
                    "fingerprint": prints[k],
                    "reason": reasons[i],
                    "raw": raw[k],
                }
                for k, i in enumerate(rejected.tolist())
            ],
            source=source,
        )
        report.imported = stored
        report.already_imported = seen + again
        report.rejected = Counter(str(r) for r in reasons[rejected].tolist())
        report.targets = targets  # how the new rows were routed (none on a repeated import)
        hotline_store.finish_import(
            conn,
            report.import_id,
            rows=report.rows,
            imported=report.imported,
            already_imported=report.already_imported,
            rejected=dict(report.rejected),
            targets=dict(report.targets),
        )
    LOGGER.info("imported %s: %s", path, report)
    return report
