"""Use case: import a boundary file as one level of a new generation; activate generations.

One core for every front end (CLI now, a web upload page later): it takes plain values and
returns an ImportReport; nothing is kept unless ``commit`` is true.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.domain.messages import message
from gridmap.errors import ImportChecksError, InputError, NotFoundError
from gridmap.geo.geometry import covering, ewkb, subdivide, to_valid_multipolygons
from gridmap.geo.validation import (
    ALLOWED,
    CHECK_KEYS,
    ERROR,
    Finding,
    Tolerances,
    check_layer,
    summarise,
)
from gridmap.ingest.boundaries import BoundaryFile, read_boundary_file
from gridmap.services.geocode import refresh_gazetteer_units
from gridmap.services.locate import load_unit_index
from gridmap.store import placements as placement_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

_SAMPLE_SIZE = 5


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    source: str
    level: str
    features: int
    source_crs: str
    crs_from: str
    encoding: str | None
    encoding_from: str
    coord_type: str
    sample_names: list[str]
    base_generation: int | None
    parent_level: str | None
    parents_from: str  # "field", "geometry" or "none"
    repaired: list[str] = field(default_factory=list)
    z_dropped: int = 0
    without_parent: list[str] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {"key": ..., "params": ...}
    checks: list[dict[str, Any]] = field(default_factory=list)  # findings (see geo.validation)
    check_errors: int = 0
    allowed: list[str] = field(default_factory=list)  # check keys accepted as warnings
    diff: dict[str, Any] = field(default_factory=dict)  # against the base generation
    placements_moved: int = 0
    level_counts: dict[str, int] = field(default_factory=dict)
    committed: bool = False
    generation: int | None = None
    activated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def warn(self, key: str, **params: Any) -> None:
        """Record a warning by message key, so each front end shows it in its language."""
        self.warnings.append({"key": key, "params": params})


def _column(frame: pd.DataFrame, name: str, *, option: str, path: str) -> pd.Series:
    """The named field; case-insensitive when unambiguous (DBF field names are often upper
    case, while the same layer as GeoJSON has them in lower case)."""
    if name in frame.columns:
        return frame[name]
    folded = [c for c in frame.columns if str(c).casefold() == name.casefold()]
    if len(folded) == 1:
        return frame[folded[0]]
    fields = ", ".join(str(c) for c in frame.columns if c != frame.geometry.name)
    raise InputError("field_missing", path=path, field=name, option=option, fields=fields)


def _as_text(values: pd.Series) -> np.ndarray:
    """Codes as text: integers stay integers ("19", not "19.0"); missing becomes ""."""
    if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
        values = values.astype("Int64")
    return values.astype("string").fillna("").str.strip().to_numpy(dtype=object)


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


@dataclass(frozen=True)
class _Columns:
    """The attributes of a layer's features, index-aligned with its geometries."""

    codes: np.ndarray  # str, unique, never empty
    names: np.ndarray
    field_parents: np.ndarray  # parent code from --parent-field, None where absent or empty
    properties: list[dict[str, Any]]  # every other field, JSON-safe


def _unit_columns(
    frame: pd.DataFrame,
    *,
    path: str,
    code_field: str,
    name_field: str,
    parent_field: str | None,
) -> _Columns:
    codes = _as_text(_column(frame, code_field, option="--code-field", path=path))
    names = _as_text(_column(frame, name_field, option="--name-field", path=path))
    parents = (
        _as_text(_column(frame, parent_field, option="--parent-field", path=path))
        if parent_field
        else np.full(len(frame), "", dtype=object)
    )
    empty = np.flatnonzero(codes == "")
    if len(empty):
        raise InputError("code_empty", path=path, feature=int(empty[0]), field=code_field)
    dup = pd.Series(codes).duplicated(keep=False).to_numpy()
    if dup.any():
        first = codes[dup][0]
        features = ", ".join(str(i) for i in np.flatnonzero(codes == first))
        raise InputError("code_duplicate", path=path, code=first, features=features)
    extra = [c for c in frame.columns if c not in (frame.geometry.name,)]
    records = frame[extra].to_dict(orient="records")
    properties = [{str(k): _json_safe(v) for k, v in record.items()} for record in records]
    parents[parents == ""] = None
    return _Columns(codes, names, parents, properties)


def import_boundaries(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    level: str,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    towgs84: str | None = None,
    coord_type: str = "wgs84",
    layer: str | None = None,
    allow: Sequence[str] = (),
    commit: bool = False,
    activate: bool = False,
    description: str = "",
) -> ImportReport:
    """Import one level from a boundary file into a new generation based on the active one.

    The whole import runs in one transaction: a dry run (``commit=False``) goes through every
    step, reports, and is rolled back; a failure anywhere leaves the database as it was.
    """
    settings.levels.get(level)  # unknown level: clear error before reading anything
    boundary = read_boundary_file(
        path, layer=layer, encoding=encoding, crs=crs, towgs84=towgs84, coord_type=coord_type
    )
    return import_layer(
        db,
        settings,
        boundary,
        level=level,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        allow=allow,
        commit=commit,
        activate=activate,
        description=description or f"{level} from {path.name}",
    )


def import_layer(
    db: Database,
    settings: Settings,
    boundary: BoundaryFile,
    *,
    level: str,
    code_field: str,
    name_field: str,
    parent_field: str | None = None,
    allow: Sequence[str] = (),
    commit: bool = False,
    activate: bool = False,
    description: str,
) -> ImportReport:
    """Import a layer already in EPSG:4326 (read from a file, or generated, e.g. cells cut
    from the road network): repair, assign parents, check and cut the lookup pieces in
    memory (the pieces on a worker thread meanwhile), write with two COPYs, or roll back.

    ``allow`` names check kinds (e.g. ``check_overlap``) accepted as warnings for a layer whose
    units legitimately break them (LA's Neighborhood Councils share territory); the report
    records what was allowed.
    """
    settings.levels.get(level)
    unknown = sorted(set(allow) - set(CHECK_KEYS))
    if unknown:
        raise InputError("check_unknown", check=", ".join(unknown), checks=", ".join(CHECK_KEYS))
    frame = boundary.frame
    source = boundary.source
    if len(frame) == 0:
        raise InputError("layer_empty", path=source)

    repair = to_valid_multipolygons(frame.geometry.to_numpy())
    for i, problem in enumerate(repair.problem):
        if problem is not None:
            code = _column(frame, code_field, option="--code-field", path=source).iloc[i]
            key = "geometry_empty" if problem == "empty" else "geometry_not_polygonal"
            raise InputError(key, path=source, feature=i, code=code, geom_type=problem)
    columns = _unit_columns(
        frame,
        path=source,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
    )
    codes = columns.codes
    report = ImportReport(
        source=source,
        level=level,
        features=len(codes),
        source_crs=boundary.source_crs,
        crs_from=boundary.crs_from,
        encoding=boundary.encoding,
        encoding_from=boundary.encoding_from,
        coord_type=boundary.coord_type,
        sample_names=[str(n) for n in columns.names[:_SAMPLE_SIZE]],
        base_generation=None,
        parent_level=None,
        parents_from="none",
        repaired=[str(c) for c in codes[repair.repaired]],
        z_dropped=int(repair.had_z.sum()),
        allowed=sorted(set(allow)),
    )
    if report.repaired:
        report.warn(
            "geometry_repaired", count=len(report.repaired), codes=", ".join(report.repaired[:10])
        )
    geoms = repair.geometries
    units_ewkb = ewkb(geoms)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        db.transaction(commit=commit) as conn,
    ):
        # The lookup pieces depend on the geometries only: they are cut on another core while
        # parents and checks are worked out (GEOS releases the GIL), from the thread's own
        # copy of the geometries, as GEOS objects are not shared between threads.
        lookup_pieces = pool.submit(_lookup_pieces, units_ewkb, settings.subdivide_max_vertices)
        base = unit_store.active_generation(conn)
        report.base_generation = base
        generation = unit_store.create_generation(conn, description=description)
        if base is not None:
            unit_store.carry_over_units(conn, base=base, new=generation, except_level=level)
        counts = unit_store.level_counts(conn, generation)
        parents = _assign_parents(
            conn,
            settings,
            report,
            generation=generation,
            counts=counts,
            columns=columns,
            geoms=geoms,
            parent_field=parent_field,
        )
        areas_m2 = _run_checks(settings, report, columns=columns, geoms=geoms, parents=parents)
        part_units, parts_ewkb = lookup_pieces.result()
        unit_store.insert_units(
            conn,
            generation=generation,
            level=level,
            units=unit_store.NewUnits(
                codes=codes.tolist(),
                names=columns.names.tolist(),
                parent_level=parents.level if parents else None,
                parent_codes=parents.of_units.tolist() if parents else [None] * len(codes),
                geoms_ewkb=units_ewkb.tolist(),
                areas_m2=areas_m2.tolist(),
                properties=columns.properties,
                part_units=part_units,
                parts_ewkb=parts_ewkb,
            ),
        )
        _check_hierarchy_after(conn, settings, report, base=base, generation=generation)
        if base is not None:
            report.diff = _diff(conn, base=base, generation=generation, level=level)
        report.level_counts = unit_store.level_counts(conn, generation)
        if report.check_errors and commit:
            first: dict[str, Any] = next(c for c in report.checks if c["severity"] == ERROR)
            raise ImportChecksError(
                "checks_failed",
                report=report,
                path=report.source,
                count=report.check_errors,
                first=message(first["key"], "en", **first["params"]),
            )
        if commit:
            report.committed = True
            report.generation = generation
            unit_store.save_generation_report(conn, generation, report.as_dict())
    if commit and activate:
        # its own transaction, after the commit: activation re-locates placements with an
        # index of the new generation, which must be visible to read it
        switched = activate_generation(db, settings, generation)
        report.activated, report.placements_moved = True, switched.moved
        with db.transaction() as conn:
            unit_store.save_generation_report(conn, generation, report.as_dict())
    LOGGER.info(
        "import %s level=%s features=%d committed=%s generation=%s",
        source,
        level,
        report.features,
        report.committed,
        report.generation,
    )
    return report


def _lookup_pieces(units_ewkb: np.ndarray, max_vertices: int) -> tuple[list[int], list[bytes]]:
    """The subdivided lookup copy: (index of the unit, EWKB) of each piece."""
    pieces, units = subdivide(shapely.from_wkb(units_ewkb), max_vertices)
    return units.tolist(), ewkb(pieces).tolist()


def _run_checks(
    settings: Settings,
    report: ImportReport,
    *,
    columns: _Columns,
    geoms: np.ndarray,
    parents: _Parents | None,
) -> np.ndarray:
    """Code profile and geometry checks of the level against its parent level; returns each
    unit's area in m2 (measured by the checks' metric projection)."""
    findings: list[Finding] = []
    of_units = parents.of_units if parents else np.full(len(columns.codes), None, dtype=object)
    for code, parent in zip(columns.codes, of_units, strict=True):
        problem = settings.code_profile.problem(report.level, code, parent)
        if problem:
            findings.append(Finding(ERROR, problem[0], problem[1]))
    checked = check_layer(
        columns.codes,
        geoms,
        assigned_parents=of_units,
        parent_codes=parents.codes if parents else None,
        parent_geoms=parents.geoms if parents else None,
        tolerances=Tolerances(settings.check_width_m, settings.sliver_area_m2),
    )
    findings += checked.findings
    for finding in findings:
        if finding.key in report.allowed:
            finding.severity = ALLOWED
    report.checks = summarise(findings)
    report.check_errors = sum(f.severity == ERROR for f in findings)
    return checked.areas_m2


def _diff(conn: Any, *, base: int, generation: int, level: str) -> dict[str, Any]:
    """Units of the imported level added, removed and changed (area change %) vs the base."""
    added, removed, changed = [], [], []
    for code, name, old_area, new_area, reshaped, renamed in unit_store.level_diff(
        conn, base=base, new=generation, level=level
    ):
        if old_area is None:
            added.append({"code": code, "name": name})
        elif new_area is None:
            removed.append({"code": code, "name": name})
        else:
            pct = 100.0 * (new_area - old_area) / old_area if old_area else None
            changed.append(
                {
                    "code": code,
                    "name": name,
                    "reshaped": reshaped,
                    "renamed": renamed,
                    "area_change_pct": None if pct is None else round(pct, 2),
                }
            )
    return {"added": added, "removed": removed, "changed": changed}


def _check_hierarchy_after(
    conn: Any, settings: Settings, report: ImportReport, *, base: int | None, generation: int
) -> None:
    """Warnings about the level below: parents left childless, children left parentless."""
    if base is None or settings.levels.child_of(report.level) is None:
        return
    lost = unit_store.parents_without_children(conn, base=base, new=generation, level=report.level)
    if lost:
        report.warn("children_lost", count=len(lost), codes=", ".join(lost[:10]))
    orphans = unit_store.orphaned_children(conn, generation=generation, level=report.level)
    if orphans:
        report.warn("children_orphaned", count=len(orphans), codes=", ".join(orphans[:10]))


@dataclass(frozen=True)
class _Parents:
    """The parent level of an import, read once for parent assignment and the checks."""

    level: str
    codes: np.ndarray  # the parent level's codes in the generation, sorted
    geoms: np.ndarray  # their geometries (EPSG:4326)
    of_units: np.ndarray  # each imported unit's parent code, None where none was found


def _assign_parents(
    conn: Any,
    settings: Settings,
    report: ImportReport,
    *,
    generation: int,
    counts: dict[str, int],
    columns: _Columns,
    geoms: np.ndarray,
    parent_field: str | None,
) -> _Parents | None:
    """Parent from the named field, else from geometry, in the deepest loaded higher level.

    By geometry, a unit's parent is the one covering its point-on-surface (not the centroid:
    it always lies inside the unit, so a crescent-shaped unit still finds the parent it
    actually sits in); a tie on a shared parent edge goes to the lowest code, the same rule
    as locate.
    """
    level = report.level
    rank = settings.levels.get(level).rank
    higher = [lv.name for lv in settings.levels.levels[:rank]]
    loaded = [name for name in higher if counts.get(name)]
    if not higher:
        return None
    immediate = higher[-1]
    parent_level = loaded[-1] if loaded else None
    if parent_level != immediate:
        report.warn("parent_level_empty", level=level, parent_level=immediate)
    if parent_level is None:
        return None
    report.parent_level = parent_level
    codes, wkb = unit_store.level_geometries(conn, generation=generation, level=parent_level)
    parent_codes = np.array(codes, dtype=object)
    parent_geoms = shapely.from_wkb(np.array(wkb, dtype=object))
    of_units = columns.field_parents.copy()
    if parent_field:
        named = np.flatnonzero(pd.notna(of_units))
        unknown = named[~np.isin(of_units[named].astype(str), parent_codes.astype(str))]
        if len(unknown):
            feature = int(unknown[0])
            raise InputError(
                "parent_unknown",
                path=report.source,
                feature=feature,
                code=columns.codes[feature],
                parent=of_units[feature],
                level=parent_level,
            )
        report.parents_from = "field"
    else:
        report.parents_from = "geometry"
    # rows with an empty parent field fall back to geometry as well
    todo = np.flatnonzero(pd.isna(of_units))
    found = covering(shapely.point_on_surface(geoms[todo]), parent_geoms)
    of_units[todo[found >= 0]] = parent_codes[found[found >= 0]]
    report.without_parent = sorted(str(c) for c in columns.codes[todo[found < 0]])
    if report.without_parent:
        report.warn(
            "parent_not_found",
            count=len(report.without_parent),
            level=level,
            parent_level=parent_level,
            codes=", ".join(report.without_parent[:10]),
        )
    return _Parents(parent_level, parent_codes, parent_geoms, of_units)


@dataclass(frozen=True)
class Activation:
    """What switching generations did."""

    generation: int
    previous: int | None
    placements: int
    moved: int


def activate_generation(
    db: Database, settings: Settings, generation: int, *, kind: str = "activate"
) -> Activation:
    """Make ``generation`` active and give every placement its unit in it, in one transaction:
    lookups switch and placements follow together, or nothing changes.

    The gazetteer's unit entries and the units of its OSM entries follow in the same
    transaction. Units are kept per generation (append-only): only placements without a row for
    ``generation`` are located (with the in-memory index of its units) and written, with one
    COPY; after a rollback to an earlier generation nearly all rows exist already, so it is
    nearly free. ``moved`` counts placements whose unit differs from the one they had in the
    previously active generation (no row there counts as no unit).
    """
    with db.transaction() as conn:
        previous = unit_store.activate_generation(conn, generation, kind=kind)
        unplaced = placement_store.read_unplaced(conn, generation)
        located = 0
        if len(unplaced):
            # the generation is committed (imports commit before activating): another
            # connection reads its units for the index
            index = load_unit_index(db, settings, generation=generation)
            units = index.deepest_units(
                unplaced["lon"].to_numpy(dtype=float), unplaced["lat"].to_numpy(dtype=float)
            )
            located = int((units >= 0).sum())
            # units is -1 where no unit holds the point: it then picks the trailing None
            levels = np.empty(len(index.unit_level) + 1, dtype=object)  # filled with None
            codes = np.empty(len(index.unit_code) + 1, dtype=object)
            levels[:-1], codes[:-1] = index.unit_level, index.unit_code
            placement_store.write_units(
                conn, generation, unplaced["id"].to_numpy(), levels[units], codes[units]
            )
        if previous is None or previous == generation:
            # nothing to compare with: the rows just written moved from no unit into one
            moved = located
        else:
            moved = placement_store.count_moves(conn, before=previous, after=generation)
        placements = placement_store.count_placements(conn)
        # addresses are geocoded against the grid in force from the same commit on
        refresh_gazetteer_units(conn, settings, generation)
    LOGGER.info(
        "activated generation %s (was %s): %d placements located, %d of %d moved",
        generation,
        previous,
        len(unplaced),
        moved,
        placements,
    )
    return Activation(generation, previous, placements, moved)


def rollback(db: Database, settings: Settings) -> Activation:
    """Return to the generation that was active before the current one."""
    with db.connection() as conn:
        before = unit_store.generation_before_active(conn)
    if before is None:
        raise NotFoundError("rollback_nothing")
    return activate_generation(db, settings, before, kind="rollback")


def generation_report(db: Database, generation: int) -> dict[str, Any]:
    with db.connection() as conn:
        return unit_store.generation_report(conn, generation)


def generations(db: Database) -> list[dict[str, Any]]:
    with db.connection() as conn:
        return unit_store.list_generations(conn)


def describe_generation(db: Database, generation: int | None, text: str) -> None:
    """Set a generation's description (e.g. to mark what a sample load wrote)."""
    if generation is None:
        return
    with db.transaction() as conn:
        unit_store.set_generation_description(conn, generation, text)
