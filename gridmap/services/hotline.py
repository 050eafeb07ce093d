"""Use case: import a hotline export (12345, MyLA311 ...) as issues, set-based: rows are read
and mapped in one frame, located with the in-memory unit index, routed once per distinct
unit x category (the same rule function as intake), and written in one transaction with
COPY. Rows that cannot be taken go to ``issue_rejected`` with the reason; a row seen before
(same source and id) is skipped, so importing a file twice adds nothing."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from gridmap.config import Settings
from gridmap.domain.routing import RouteInput, decide
from gridmap.errors import InputError
from gridmap.services.categories import responsibility_rules, taxonomy_in_use
from gridmap.services.locate import load_unit_index
from gridmap.services.routing import decision_record, workers_for
from gridmap.store import hotline as hotline_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

FIELDS = ("external_id", "category", "reported_at", "lon", "lat", "address", "description")


@dataclass(frozen=True)
class ExportFormat:
    """How one kind of export names its columns and writes its dates."""

    columns: dict[str, str]  # field -> column
    date_format: str | None  # strptime format; None = ISO 8601


FORMATS = {
    # MyLA311 open data (data/los_angeles/la311_2020_sample_10k.csv): dates like 1/1/20 0:05
    "la311": ExportFormat(
        columns={
            "external_id": "srnumber",
            "category": "requesttype",
            "reported_at": "createddate",
            "lon": "longitude",
            "lat": "latitude",
            "address": "address",
        },
        date_format="%m/%d/%y %H:%M",
    ),
    # a generic export: columns named like the fields; --map renames, --date-format parses
    "csv": ExportFormat(columns={f: f for f in FIELDS}, date_format=None),
}


@dataclass
class ImportReport:
    source: str
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    targets: Counter[str] = field(default_factory=Counter)


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


def parse_times(values: pd.Series, *, date_format: str | None, zone: ZoneInfo) -> pd.Series:
    """Times as UTC; a value without an offset is local time in ``zone`` (the deployment's),
    one with an offset keeps it. Unparseable values (and local times that do not exist or
    repeat at a DST change) become NaT."""
    aware = values.str.contains(_ZONE_SUFFIX, regex=True)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    fmt = date_format or "ISO8601"
    if aware.any():
        out[aware] = pd.to_datetime(values[aware], format=fmt, errors="coerce", utc=True)
    if (~aware).any():
        local = pd.to_datetime(values[~aware], format=fmt, errors="coerce")
        out[~aware] = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
            "UTC"
        )
    return out


def import_issues(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    export_format: str = "csv",
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    source: str | None = None,
) -> ImportReport:
    """Import every row of ``path``; returns counts (imported, skipped, rejected by reason)."""
    if export_format not in FORMATS:
        raise InputError("format_unknown", value=export_format, known=", ".join(FORMATS))
    spec = FORMATS[export_format]
    columns = {**spec.columns, **(mapping or {})}
    date_format = date_format or spec.date_format
    source = source or export_format
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError("file_unreadable", path=str(path), reason=str(exc)) from exc
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
    zone = ZoneInfo(taxonomy.categories.timezone)

    def text(name: str) -> pd.Series:
        column = columns.get(name)
        if column is None or column not in frame.columns:
            return pd.Series([""] * len(frame), dtype=object)
        return frame[column].astype(str).str.strip()

    # pandas' row hash is deterministic across runs and processes (fixed hash key), so the
    # same row gets the same fingerprint on a second import
    fingerprints = pd.util.hash_pandas_object(frame, index=False).map("{:016x}".format)
    external_id = text("external_id")
    external_id = external_id.where(external_id != "", fingerprints)
    reason = pd.Series([""] * len(frame), dtype=object)

    names = text("category")
    known: dict[str, str] = {}
    for name in names.unique().tolist():
        found = taxonomy.categories.by_external_name(str(name))
        known[str(name)] = found.code if found is not None else ""
    category = names.map(known)
    reason[category == ""] = "unknown_category"

    stamps = parse_times(text("reported_at"), date_format=date_format, zone=zone)
    reason[(reason == "") & stamps.isna()] = "bad_date"

    lon = pd.to_numeric(text("lon"), errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(text("lat"), errors="coerce").to_numpy(dtype=float, copy=True)
    # 0,0 is how many exports write "no coordinates"
    lon[(lon == 0) & (lat == 0)] = np.nan
    index = load_unit_index(db, settings)
    located = index.locate(lon, lat)
    errors = located["locate_error"].replace(
        {"missing_coordinates": "missing_coordinates", "out_of_range": "bad_coordinates"}
    )
    reason[(reason == "") & (errors != "")] = errors[(reason == "") & (errors != "")]

    ok = (reason == "").to_numpy()
    taken = np.flatnonzero(ok).tolist()
    levels = list(settings.levels.names)
    level_codes = {lv: located[f"{lv}_code"].tolist() for lv in levels}
    level_names = {lv: located[f"{lv}_name"].tolist() for lv in levels}
    chains = [
        tuple((lv, level_codes[lv][i], level_names[lv][i]) for lv in levels if level_codes[lv][i])
        for i in taken
    ]
    edges = located["edge_distance_m"].astype(float).tolist()
    codes = category.tolist()
    starts = [None if pd.isna(t) else t.to_pydatetime() for t in stamps.tolist()]
    ids, addresses, texts = (
        external_id.tolist(),
        text("address").tolist(),
        text("description").tolist(),
    )
    now = datetime.now(UTC)

    @cache
    def deadlines(code: str, start: datetime) -> tuple[Any, list[dict[str, Any]]]:
        """Many rows share a category and a minute: compute each deadline set once."""
        limits = taxonomy.calendar.deadlines(start, taxonomy.categories.category(code).time_limits)
        return max((d for _, d in limits), default=None), [
            {
                "stage": t.stage,
                "due_at": d.isoformat(),
                "label_en": t.label_en,
                "label_zh": t.label_zh,
            }
            for t, d in limits
        ]

    with db.transaction() as conn:
        rules = responsibility_rules(conn, taxonomy.categories.name)
        chain_dicts = {
            c: [{"level": lv, "code": cd, "name": nm} for lv, cd, nm in c] for c in set(chains)
        }
        workers = workers_for(conn, chain_dicts.values(), at=now)
        generation = unit_store.active_generation(conn)
        decisions: dict[tuple[Any, ...], dict[str, Any]] = {}
        rows = []
        for i, chain in zip(taken, chains, strict=True):
            cat = taxonomy.categories.category(codes[i])
            key = (chain, cat.code, edges[i] < settings.edge_margin_m)
            if key not in decisions:  # once per distinct unit x category x near-edge
                decision = decide(
                    RouteInput(
                        cat.code,
                        cat.major_code,
                        cat.handler,
                        cat.department,
                        chain_dicts[chain],
                        edges[i],
                    ),
                    workers=workers,
                    rules=rules,
                    edge_margin_m=settings.edge_margin_m,
                )
                decisions[key] = decision_record(decision, generation)
            record = decisions[key]
            due, stages = deadlines(cat.code, starts[i])
            rows.append(
                {
                    **record,
                    "external_id": ids[i],
                    "category_code": cat.code,
                    "severity": cat.severity,
                    "reported_at": starts[i],
                    "due_at": due,
                    "deadlines": stages,
                    "lon": float(lon[i]),
                    "lat": float(lat[i]),
                    "address": addresses[i] or None,
                    "description": texts[i],
                    "edge_distance_m": edges[i],
                    "state": "triage" if record["target_kind"] == "triage" else "dispatched",
                }
            )
        inserted = hotline_store.copy_issues_in(
            conn, rows, set_name=taxonomy.categories.name, source=source, generation=generation
        )
        reasons, prints, raw = reason.tolist(), fingerprints.tolist(), frame.to_dict("records")
        hotline_store.copy_rejected_in(
            conn,
            [
                {
                    "row_number": i + 2,
                    "external_id": ids[i],
                    "fingerprint": prints[i],
                    "reason": reasons[i],
                    "raw": raw[i],
                }
                for i in np.flatnonzero(~ok).tolist()
            ],
            source=source,
        )
    report.imported = inserted
    report.already_imported = int(ok.sum()) - inserted
    report.rejected = Counter(str(r) for r in reason[~ok].tolist())
    # how the new rows were routed (none on a repeated import)
    report.targets = Counter(str(r["target_kind"]) for r in rows) if inserted else Counter()
    LOGGER.info("imported %s: %s", path, report)
    return report
