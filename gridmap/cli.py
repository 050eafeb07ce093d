"""The `gridmap` command: parses arguments, calls services, prints results. Nothing more."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gridmap.config import Settings
from gridmap.domain.messages import bilingual, message
from gridmap.errors import GridmapError, ImportChecksError, OutsideError
from gridmap.geo.grids import METHODS, GridSpec
from gridmap.ingest.osm_lines import ROAD_CLASSES
from gridmap.services import apikeys as apikey_service
from gridmap.services import boundaries as boundary_service
from gridmap.services import categories as category_service
from gridmap.services import coverage as coverage_service
from gridmap.services import demo as demo_service
from gridmap.services import dispatch as dispatch_service
from gridmap.services import facilities as facility_service
from gridmap.services import geocode as geocode_service
from gridmap.services import grids as grid_service
from gridmap.services import hotline as hotline_service
from gridmap.services import intake as intake_service
from gridmap.services import locate as locate_service
from gridmap.services import networks as network_service
from gridmap.services import routing as routing_service
from gridmap.services import workers as worker_service
from gridmap.store import migrations
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


class Context:
    """Settings read once per invocation; the pool opened only by commands that need it."""

    def __init__(self) -> None:
        self.settings = Settings.from_env()
        logging.basicConfig(
            level=self.settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )

    @contextmanager
    def database(self) -> Iterator[Database]:
        with Database(self.settings.database_url, max_size=self.settings.pool_max) as db:
            yield db


def _fail(exc: GridmapError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


class GridmapGroup(click.Group):
    """Turns domain errors into a clear message and exit status 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GridmapError as exc:
            _fail(exc)


@click.group(cls=GridmapGroup)
@click.version_option(package_name="gridmap")
@click.pass_context
def main(ctx: click.Context) -> None:
    """gridmap: grid registry, point location and routing for grid management."""
    ctx.obj = Context()


pass_context = click.make_pass_decorator(Context)


# --- db ----------------------------------------------------------------------------------------


# The coordinate system of reported points (geo.coords.POINT_COORD_TYPES): the services refuse
# any other value with a message in both languages, so no click.Choice here.
point_coord_type_option = click.option(
    "--coord-type",
    default="wgs84",
    show_default=True,
    help="coordinate system: wgs84, gcj02 (Amap, Tencent), bd09 (Baidu), cgcs2000",
)


@main.group()
def db() -> None:
    """Database set-up."""


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Create the database if missing and apply pending migrations."""
    url = context.settings.database_url
    if migrations.ensure_database(url):
        click.echo("created database")
    applied = migrations.upgrade(url)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


# --- boundaries --------------------------------------------------------------------------------


@main.group()
def boundaries() -> None:
    """Import boundary files and manage generations."""


def _print_report(
    report: boundary_service.ImportReport, lang: str, *, refused: bool = False
) -> None:
    echo = click.echo
    echo(f"source:      {report.source}")
    echo(f"level:       {report.level}")
    echo(f"features:    {report.features}")
    echo(f"crs:         {report.source_crs} (from {report.crs_from}) -> EPSG:4326")
    echo(
        f"encoding:    {report.encoding or 'UTF-8'} (from {report.encoding_from}); "
        f"sample names: {', '.join(report.sample_names)}"
    )
    if report.coord_type != "wgs84":
        echo(f"offset:      {report.coord_type} -> WGS84 removed")
    echo(f"based on:    generation {report.base_generation or '-'}")
    if report.parent_level:
        echo(
            f"parents:     {report.parent_level} (from {report.parents_from}); "
            f"without parent: {len(report.without_parent)}"
        )
    if report.z_dropped:
        echo(f"z/m dropped: {report.z_dropped}")
    for warning in report.warnings:
        echo(f"warning:     {bilingual(warning['key'], **warning['params'])}")
    for finding in report.checks:
        where = f" at {finding['lon']}, {finding['lat']}" if finding["lon"] is not None else ""
        text = bilingual(finding["key"], **finding["params"])
        echo(f"{finding['severity']:<12} {text}{where}")
    if report.checks or report.check_errors:
        warnings = len(report.checks) - report.check_errors
        echo(f"checks:      {report.check_errors} error(s), {warnings} warning(s)")
    if report.diff:
        diff = report.diff
        echo(
            f"diff:        +{len(diff['added'])} added, -{len(diff['removed'])} removed, "
            f"~{len(diff['changed'])} changed"
        )
        for unit in diff["changed"][:20]:
            echo(
                f"  ~ {unit['code']} {unit['name']}: area {unit['area_change_pct']:+}%"
                + (" (renamed)" if unit["renamed"] else "")
            )
        for kind, sign in (("added", "+"), ("removed", "-")):
            for unit in diff[kind][:20]:
                echo(f"  {sign} {unit['code']} {unit['name']}")
    counts = ", ".join(f"{k}={v}" for k, v in sorted(report.level_counts.items()))
    echo(f"units in the new generation: {counts}")
    if report.committed:
        state = "active" if report.activated else "inactive"
        echo(bilingual("import_committed", generation=report.generation, state=state))
    elif not refused:  # a refused --commit ends with the error itself, not "dry run"
        echo(bilingual("import_dry_run"))


@boundaries.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--level", required=True, help="level these units belong to (GRIDMAP_LEVELS)")
@click.option("--code-field", required=True, help="field holding each unit's code")
@click.option("--name-field", required=True, help="field holding each unit's name")
@click.option("--parent-field", help="field holding the parent's code (default: by geometry)")
@click.option("--encoding", help="attribute encoding, e.g. GB18030 (default: the file's own)")
@click.option("--crs", help="the file's CRS when it declares none or a wrong one")
@click.option("--towgs84", help="dx,dy,dz[,rx,ry,rz,ds]: makes Xian 1980 / Beijing 1954 usable")
@click.option(
    "--coord-type",
    type=click.Choice(["wgs84", "gcj02", "bd09"]),
    default="wgs84",
    show_default=True,
    help="gcj02/bd09: digitised on Amap/Tencent or Baidu maps",
)
@click.option("--layer", help="layer name in a multi-layer file, or a file inside a zip")
@click.option(
    "--allow",
    multiple=True,
    metavar="CHECK",
    help="accept this check's errors as warnings (recorded), e.g. check_overlap",
)
@click.option("--commit", is_flag=True, help="write a new generation (default: dry run)")
@click.option("--activate", is_flag=True, help="make the new generation active (with --commit)")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@pass_context
def boundaries_import(context: Context, file: Path, as_json: bool, **options: Any) -> None:
    """Import FILE (GeoJSON, Shapefile, zipped Shapefile, GeoPackage) as one level."""
    if options["activate"] and not options["commit"]:
        raise click.UsageError("--activate needs --commit")
    with context.database() as database:
        try:
            report = boundary_service.import_boundaries(database, context.settings, file, **options)
        except ImportChecksError as failed:  # show every finding, then fail
            if failed.report is not None:
                _print_report(failed.report, context.settings.lang, refused=True)
            raise
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, context.settings.lang)


@boundaries.command("list")
@pass_context
def boundaries_list(context: Context) -> None:
    """List generations (the active one is marked *)."""
    with context.database() as database:
        for gen in boundary_service.generations(database):
            mark = "*" if gen["active"] else " "
            click.echo(
                f"{mark} {gen['id']:>4}  {gen['created_at']:%Y-%m-%d %H:%M}  "
                f"{gen['units']:>7} units  {gen['description']}"
            )


@boundaries.command("activate")
@click.argument("generation", type=int)
@pass_context
def boundaries_activate(context: Context, generation: int) -> None:
    """Make GENERATION the active one; re-locates every placement into it."""
    with context.database() as database:
        switched = boundary_service.activate_generation(database, context.settings, generation)
    _print_activation(switched)


@boundaries.command("rollback")
@pass_context
def boundaries_rollback(context: Context) -> None:
    """Return to the generation that was active before the current one."""
    with context.database() as database:
        switched = boundary_service.rollback(database, context.settings)
    _print_activation(switched)


def _print_activation(switched: boundary_service.Activation) -> None:
    click.echo(
        f"generation {switched.generation} is active (was {switched.previous or '-'}); "
        f"{switched.moved} of {switched.placements} placements moved to another unit"
    )


@boundaries.command("report")
@click.argument("generation", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the stored report as JSON")
@pass_context
def boundaries_report(context: Context, generation: int, as_json: bool) -> None:
    """Print the stored import report of GENERATION, with its diff."""
    with context.database() as database:
        stored = boundary_service.generation_report(database, generation)
    if as_json:
        click.echo(json.dumps(stored, ensure_ascii=False, indent=2, default=str))
        return
    active_now = stored.pop("active_now")
    _print_report(boundary_service.ImportReport(**stored), context.settings.lang)
    click.echo(f"active now: {'yes' if active_now else 'no'}")


# --- grids -------------------------------------------------------------------------------------


@main.group()
def grids() -> None:
    """Generate cells (or any lower level) inside parent units."""


@grids.command("generate")
@click.option("--parent-level", required=True, help="level whose units are cut")
@click.option("--parent", "parent_code", help="cut only this parent unit (others kept)")
@click.option("--method", type=click.Choice(METHODS), default="roads", show_default=True)
@click.option("--target-area-m2", type=float, default=10_000.0, show_default=True)
@click.option("--network", type=click.Path(path_type=Path), help="OSM .osm/.pbf (roads method)")
@click.option(
    "--road-classes",
    default=",".join(ROAD_CLASSES),
    show_default=True,
    help="OSM highway classes that bound cells",
)
@click.option("--allow", multiple=True, metavar="CHECK", help="accept this check's errors")
@click.option("--commit", is_flag=True, help="write a new generation (default: dry run)")
@click.option("--activate", is_flag=True, help="make the new generation active (with --commit)")
@pass_context
def grids_generate(
    context: Context,
    parent_level: str,
    parent_code: str | None,
    method: str,
    target_area_m2: float,
    network: Path | None,
    road_classes: str,
    allow: tuple[str, ...],
    commit: bool,
    activate: bool,
) -> None:
    """Cut parent units along roads (or into squares/hexagons) toward a target area."""
    if activate and not commit:
        raise click.UsageError("--activate needs --commit")
    try:
        spec = GridSpec(method=method, target_area_m2=target_area_m2)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    with context.database() as database:
        result = grid_service.generate_cells(
            database,
            context.settings,
            parent_level=parent_level,
            parent_code=parent_code,
            spec=spec,
            network=network,
            road_classes=tuple(road_classes.split(",")),
            commit=commit,
            activate=activate,
            allow=allow,
        )
    _print_report(result.report, context.settings.lang)
    areas = result.areas
    if areas.get("cells"):
        click.echo(
            f"cell areas (m2): min {areas['min']:,.0f}, p10 {areas['p10']:,.0f}, "
            f"median {areas['median']:,.0f}, p90 {areas['p90']:,.0f}, "
            f"max {areas['max']:,.0f}; {areas['share_within_50pct_of_target']:.0%} "
            f"within 50% of the target"
        )


# --- workers -----------------------------------------------------------------------------------


@main.group()
def workers() -> None:
    """Grid workers and their cells."""


@workers.command("add")
@click.argument("name")
@click.option("--phone", help="contact number (never shown in the public API)")
@click.option("--department", help="department or station the worker belongs to")
@pass_context
def workers_add(context: Context, name: str, phone: str | None, department: str | None) -> None:
    """Register a worker; prints the new worker's id as the last word."""
    with context.database() as database:
        worker_id = worker_service.add_worker(
            database, name=name, phone=phone, department=department
        )
    click.echo(f"added worker {worker_id}")


@workers.command("assign")
@click.argument("worker_id", type=int)
@click.argument("code")
@click.option("--level", help="the unit's level when its code repeats across levels")
@click.option(
    "--role", type=click.Choice(worker_service.ROLES), default="primary", show_default=True
)
@pass_context
def workers_assign(
    context: Context, worker_id: int, code: str, level: str | None, role: str
) -> None:
    """Assign WORKER_ID to the unit CODE of the active generation."""
    with context.database() as database:
        result = worker_service.assign_worker(
            database, context.settings, worker_id, code, level=level, role=role
        )
    names = ", ".join(f"{w['name']} ({w['role']})" for w in result["workers"])
    click.echo(f"{result['level']} {result['unit']}: {names}")


@workers.command("list")
@pass_context
def workers_list(context: Context) -> None:
    """List workers and their current units."""
    with context.database() as database:
        for w in worker_service.list_workers(database):
            click.echo(f"{w['id']:>5}  {w['name']:<16} {w['department'] or '-':<12} {w['units']}")


@workers.group("duty")
def workers_duty() -> None:
    """Duty rosters: a worker with periods is routed to only while on duty."""


def _print_periods(periods: list[dict[str, Any]]) -> None:
    for p in periods:
        click.echo(
            f"{p['worker_id']:>5}  {p['name']:<16} {p['starts_at'].isoformat()} -> "
            f"{p['ends_at'].isoformat()}"
        )


@workers_duty.command("add")
@click.argument("worker_id", type=int)
@click.argument("starts_at")
@click.argument("ends_at")
@pass_context
def workers_duty_add(context: Context, worker_id: int, starts_at: str, ends_at: str) -> None:
    """Put WORKER_ID on duty from STARTS_AT to ENDS_AT (ISO 8601; without an offset, the
    time zone of the category set in use)."""
    with context.database() as database:
        roster = worker_service.add_duty(database, worker_id, starts_at, ends_at)
    click.echo(f"duty periods added: {roster.added}")


@workers_duty.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def workers_duty_import(context: Context, file: Path) -> None:
    """Import a roster CSV with columns worker_id, starts_at, ends_at (all or nothing; periods
    already stored are skipped)."""
    with context.database() as database:
        roster = worker_service.import_roster(database, file)
    click.echo(f"{len(roster.periods)} periods read, {roster.added} new")


@workers_duty.command("list")
@click.option("--worker", "worker_id", type=int, help="only this worker's periods")
@click.option("--all", "show_all", is_flag=True, help="include periods that are over")
@pass_context
def workers_duty_list(context: Context, worker_id: int | None, show_all: bool) -> None:
    """Duty periods, current and coming ones by default."""
    since = None if show_all else datetime.now(UTC)
    with context.database() as database:
        _print_periods(worker_service.list_duties(database, worker_id=worker_id, since=since))


# --- categories, issues, API keys (issue 5) ------------------------------------------------------


@main.group()
def categories() -> None:
    """Category sets (taxonomy, time limits, handlers) and department responsibilities."""


@categories.command("load")
@click.argument("name_or_file")
@pass_context
def categories_load(context: Context, name_or_file: str) -> None:
    """Load a shipped set (cn, la311) or a TOML file and make it the set in use."""
    with context.database() as database:
        loaded, counts = category_service.load_categories(database, context.settings, name_or_file)
    click.echo(
        f"category set {loaded.name}: {counts['categories']} categories "
        f"({counts['added']} new, {counts['withdrawn']} withdrawn), "
        f"{counts['departments']} departments, calendar {loaded.calendar}"
    )


@categories.command("responsible")
@click.argument("department")
@click.option("--category", help="a minor class code (default: any)")
@click.option("--major", help="a major class code (instead of --category)")
@click.option("--unit", "unit_code", help="the unit whose subtree the rule covers (default: city)")
@click.option("--level", "unit_level", help="the unit's level when its code repeats")
@pass_context
def categories_responsible(context: Context, department: str, **options: Any) -> None:
    """Make DEPARTMENT responsible for a category in part of the city (most specific wins)."""
    with context.database() as database:
        rule = category_service.add_responsibility(
            database, context.settings, department=department, **options
        )
    click.echo(f"responsibility rule {rule}")


@main.group()
def issues() -> None:
    """Reported issues: list, show, route, place (the triage queue), import."""


@issues.command("list")
@click.option("--state", help="only this state (triage: the dispatcher's queue)")
@click.option("--category", help="only this category code")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_context
def issues_list(context: Context, state: str | None, category: str | None, limit: int) -> None:
    """Issues newest first, one line each."""
    lang = context.settings.lang
    with context.database() as database:
        found = dispatch_service.list_issues(
            database, state=state, category=category, limit=limit, lang=lang
        )
    for view in found:
        unit = view["unit"]["code"] if view["unit"] else "-"
        where = view["address"] or (f"{view['lon']:.6f},{view['lat']:.6f}" if view["lon"] else "-")
        click.echo(
            f"{view['id']:>7}  {view['state']:<10} {view['category']['code']:<8} unit {unit:<14} "
            f"{where}"
        )


@issues.command("place")
@click.argument("issue_id", type=int)
@click.option("--lon", type=float, help="longitude of the spot")
@click.option("--lat", type=float, help="latitude of the spot")
@point_coord_type_option
@click.option("--candidate", type=int, help="use geocoding candidate N (from 1) instead")
@click.option("--note", default="", help="why (kept with the event)")
@pass_context
def issues_place(context: Context, issue_id: int, **options: Any) -> None:
    """Place an issue (normally from the triage queue) and route it."""
    with context.database() as database:
        view = dispatch_service.place_issue(
            database, context.settings, issue_id, lang=context.settings.lang, **options
        )
    target = view["target"]
    who = (target["worker"] or {}).get("name") or (target["department"] or {}).get("code") or "-"
    unit = view["unit"]["code"] if view["unit"] else "-"
    click.echo(f"issue {issue_id}: {view['state']}, unit {unit}, {target['kind']} {who}")


@issues.command("show")
@click.argument("issue_id", type=int)
@pass_context
def issues_show(context: Context, issue_id: int) -> None:
    """The public view of an issue as JSON."""
    with context.database() as database:
        view = intake_service.get_issue(database, issue_id, lang=context.settings.lang)
    click.echo(json.dumps(view, ensure_ascii=False, indent=2, default=str))


@issues.command("route")
@click.argument("issue_id", type=int)
@click.option("--explain", is_flag=True, help="print every step of the stored decisions")
@click.option("--again", is_flag=True, help="route again under today's grid, workers and rules")
@pass_context
def issues_route(context: Context, issue_id: int, explain: bool, again: bool) -> None:
    """The routing decision of an issue: target, unit, and (with --explain) why."""
    lang = context.settings.lang
    with context.database() as database:
        if again:
            routing_service.reroute_issue(database, context.settings, issue_id)
        history = routing_service.routing_history(database, issue_id)
    shown = history if explain else history[-1:]
    for decision in shown:
        target = decision["worker_id"] or decision["department_code"] or "-"
        unit = f"{decision['unit_level']} {decision['unit_code']}" if decision["unit_code"] else "-"
        flag = " (to confirm)" if decision["needs_confirmation"] else ""
        click.echo(
            f"{decision['decided_at']:%Y-%m-%d %H:%M:%S}  {decision['target_kind']} {target}  "
            f"unit {unit}{flag}"
        )
        if explain:
            for step in routing_service.explain_steps(decision["steps"], lang):
                click.echo(f"    - {step}")


@issues.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "export_format",
    type=click.Choice(list(hotline_service.FORMATS)),
    default="csv",
    show_default=True,
    help="a known export layout",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help=f"read FIELD from COLUMN; fields: {', '.join(hotline_service.FIELDS)}",
)
@click.option(
    "--date-format",
    help="strptime format of the date columns (default: ISO 8601, or year first as in "
    "2026/3/2 9:05, 2026.3.2 or 2026年3月2日 09:05)",
)
@click.option(
    "--source",
    help="name of the source system (default: the format); with the "
    "row id it makes a row unique, so a second import adds nothing",
)
@point_coord_type_option
@click.option("--encoding", help="a CSV's text encoding if not UTF-8, e.g. GB18030 (.xlsx: none)")
@click.option(
    "--category-map",
    type=click.Path(path_type=Path),
    help="table (CSV or .xlsx) of the export's category texts and their codes",
)
@pass_context
def issues_import(
    context: Context,
    file: Path,
    export_format: str,
    mapping: tuple[str, ...],
    date_format: str | None,
    source: str | None,
    coord_type: str,
    encoding: str | None,
    category_map: Path | None,
) -> None:
    """Import a hotline export: located, routed, stored; rejected rows counted by reason."""
    with context.database() as database:
        report = hotline_service.import_issues(
            database,
            context.settings,
            file,
            export_format=export_format,
            mapping=hotline_service.parse_mapping(mapping),
            date_format=date_format,
            source=source,
            actor=getpass.getuser(),
            coord_type=coord_type,
            encoding=encoding,
            category_map=category_map,
        )
    click.echo(
        bilingual(
            "hotline_imported",
            import_id=report.import_id,
            rows=report.rows,
            imported=report.imported,
            already=report.already_imported,
            rejected=sum(report.rejected.values()),
        )
    )
    for reason, count in sorted(report.rejected.items()):
        click.echo("  " + bilingual("hotline_rejected_reason", reason=reason, count=count))
    for kind, count in sorted(report.targets.items()):
        click.echo("  " + bilingual("hotline_routed", target=kind, count=count))


@issues.command("imports")
@click.option("--limit", default=20, show_default=True, help="how many, newest first")
@pass_context
def issues_imports(context: Context, limit: int) -> None:
    """List the hotline imports: source, file, who ran them, when, and their counts."""
    with context.database() as database:
        runs = hotline_service.import_history(database, limit=limit)
    if not runs:
        click.echo(bilingual("hotline_no_imports"))
    for run in runs:
        click.echo(
            bilingual(
                "hotline_import_row",
                import_id=run["id"],
                started=f"{run['started_at']:%Y-%m-%d %H:%M:%S%z}",
                source=run["source"],
                file=run["file_name"],
                actor=run["actor"],
                rows=run["rows"],
                imported=run["imported"],
                already=run["already_imported"],
                rejected=sum(run["rejected"].values()),
            )
        )
        for reason, count in sorted(run["rejected"].items()):
            click.echo("  " + bilingual("hotline_rejected_reason", reason=reason, count=count))


@main.group()
def apikeys() -> None:
    """API keys for Open311 clients."""


@apikeys.command("create")
@click.argument("name")
@pass_context
def apikeys_create(context: Context, name: str) -> None:
    """Create a key for client NAME; the key (shown once) is the last word printed."""
    with context.database() as database:
        key_id, key = apikey_service.create_api_key(database, name)
    click.echo(f"api key {key_id} for {name}: {key}")


# --- locate ------------------------------------------------------------------------------------


# ignore_unknown_options: a western longitude such as -118.25 is a value, not an option
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("lon", required=False)
@click.argument("lat", required=False)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--csv", "csv_in", type=click.Path(path_type=Path), help="locate every row of CSV")
@click.option("--lon-col", default="longitude", show_default=True)
@click.option("--lat-col", default="latitude", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="output CSV (with --csv)")
@pass_context
def locate(
    context: Context,
    lon: str | None,
    lat: str | None,
    as_json: bool,
    csv_in: Path | None,
    lon_col: str,
    lat_col: str,
    out: Path | None,
) -> None:
    """Print the units containing LON LAT (WGS84), or locate a whole CSV with --csv."""
    settings = context.settings
    if csv_in is not None:
        if out is None:
            raise click.UsageError("--csv needs --out")
        with context.database() as database:
            counts = locate_service.locate_csv(
                database, settings, csv_in, lon_col=lon_col, lat_col=lat_col, out=out
            )
        total = sum(counts.values())
        click.echo(f"{total} rows -> {out}")
        for outcome, n in counts.most_common():
            click.echo(f"  {outcome}: {n}")
        return
    if lon is None or lat is None:
        raise click.UsageError("give LON LAT, or --csv IN --out OUT")
    with context.database() as database:
        try:
            location = locate_service.locate_point(database, settings, lon, lat)
        except OutsideError as exc:
            if as_json:
                click.echo(
                    json.dumps(
                        {"error": exc.key, "message": exc.message(settings.lang)},
                        ensure_ascii=False,
                    )
                )
                sys.exit(1)
            raise
    if as_json:
        click.echo(
            json.dumps(
                {
                    "lon": location.lon,
                    "lat": location.lat,
                    "generation": location.generation,
                    "chain": location.chain,
                    "edge_distance_m": round(location.edge_distance_m, 2),
                },
                ensure_ascii=False,
            )
        )
        return
    for unit in location.chain:
        label = (
            settings.levels.get(unit["level"]).label(settings.lang)
            if unit["level"] in settings.levels.names
            else unit["level"]
        )
        click.echo(f"{label:<12} {unit['code']:<16} {unit['name']}")
    deepest = location.unit["level"]
    click.echo(
        message("edge_distance", settings.lang, level=deepest, metres=location.edge_distance_m)
    )


# --- geocode (issue 5) -------------------------------------------------------------------------


@main.group()
def geocode() -> None:
    """Offline geocoding: the gazetteer (units + OSM) and address queries."""


@geocode.command("build")
@click.option(
    "--osm",
    "osm_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="OSM extract (.osm / .osm.pbf) to take places, POIs, roads, house numbers from",
)
@pass_context
def geocode_build(context: Context, osm_files: tuple[Path, ...]) -> None:
    """Rebuild the gazetteer from the active generation's units and the OSM files."""
    with context.database() as database:
        counts = geocode_service.build_gazetteer(
            database, context.settings, osm_files=list(osm_files)
        )
    for kind, n in counts.items():
        click.echo(f"{kind:<13} {n:>8}")
    click.echo(f"{'total':<13} {sum(counts.values()):>8}")


def _candidate_line(candidate: geocode_service.GeocodeCandidate) -> str:
    where = f"{candidate.unit_level} {candidate.unit_code}" if candidate.unit_code else "-"
    return (
        f"{candidate.score:5.2f}  {candidate.precision:<13} {candidate.lon:.6f},"
        f"{candidate.lat:.6f}  {candidate.name}  [{candidate.source} {candidate.osm or ''}"
        f"{' ' if candidate.osm else ''}in {where}]"
    )


@geocode.command("query")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@pass_context
def geocode_query(context: Context, text: str, as_json: bool) -> None:
    """Geocode the address TEXT: decision, precision, best match and every candidate."""
    settings = context.settings
    with context.database() as database:
        result = geocode_service.geocode_address(database, settings, text)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    parsed = ", ".join(f"{k}={v}" for k, v in result.parsed.items())
    click.echo(f"parsed:     {parsed or '-'}")
    click.echo(f"decision:   {result.decision}")
    click.echo(f"precision:  {result.best.precision if result.best else '-'}")
    click.echo(f"reason:     {result.message(settings.lang)}")
    click.echo(f"best:       {_candidate_line(result.best) if result.best else '-'}")
    for candidate in result.candidates:
        click.echo(f"candidate:  {_candidate_line(candidate)}")


# --- serve and demo ----------------------------------------------------------------------------


@main.command()
@click.option("--host", help="address to bind (default GRIDMAP_HOST)")
@click.option("--port", type=int, help="port (default GRIDMAP_PORT)")
@pass_context
def serve(context: Context, host: str | None, port: int | None) -> None:
    """Run the web app under waitress, a production-grade WSGI server."""
    from gridmap.app import create_app
    from gridmap.app import serve as serve_app

    settings = context.settings
    host = host or settings.host
    port = port or settings.port
    app = create_app(settings)
    click.echo(bilingual("serving", url=f"http://{host}:{port}/"), err=False)
    sys.stdout.flush()
    serve_app(app, settings, host=host, port=port)


@main.command("demo")
@click.argument("city", type=click.Choice(sorted(demo_service.CITIES)), default="los_angeles")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("data"),
    show_default=True,
)
@click.option(
    "--out-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("var/demo"),
    show_default=True,
)
@pass_context
def demo(context: Context, city: str, data_dir: Path, out_dir: Path) -> None:
    """Load a bundled sample city (boundaries once; cells too for Nanjing), locate its points.

    Use the city's settings: set -a; . data/CITY/gridmap.env; set +a
    """
    with context.database() as database:
        result = demo_service.load_city(
            database, context.settings, city, data_dir=data_dir, out_dir=out_dir
        )
    for line in result.summary_lines():
        click.echo(line)


# --- coverage (issue 4) -------------------------------------------------------------------------


@main.group()
def coverage() -> None:
    """15-minute service circles: networks, facilities, runs, what-ifs, sites, exports."""


@coverage.group("network")
def coverage_network() -> None:
    """Walking/cycling networks from OSM extracts."""


@coverage_network.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="name the network is known by")
@click.option("--profile", type=click.Choice(["walk", "bike"]), default="walk", show_default=True)
@pass_context
def coverage_network_import(context: Context, file: Path, name: str, profile: str) -> None:
    """Import the usable ways and buildings of FILE (OSM XML .osm or .osm.pbf)."""
    with context.database() as database:
        report = network_service.import_network(
            database, context.settings, file, name=name, profile=profile
        )
    click.echo(
        f"network {report.name} ({report.profile}): {report.nodes} nodes, {report.edges} edges, "
        f"{report.total_length_km} km; largest component {report.largest_component_nodes} "
        f"nodes; {report.buildings} buildings; {report.ways_kept} ways kept, "
        f"{report.ways_dropped} dropped; lengths in {report.metric_crs}"
    )
    click.echo(f"network id {report.network_id}")


@coverage_network.command("list")
@pass_context
def coverage_network_list(context: Context) -> None:
    """List imported networks."""
    with context.database() as database:
        for n in network_service.list_networks(database):
            click.echo(
                f"{n['id']:>4}  {n['name']:<24} {n['profile']:<5} {n['nodes']:>8} nodes "
                f"{n['edges']:>8} edges {n['buildings']:>7} buildings  {n['source']}"
            )


@coverage.group("facilities")
def coverage_facilities() -> None:
    """Facility sets (service centres, rest stops ...)."""


@coverage_facilities.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="name of the facility set")
@click.option("--type-field", help="field (or OSM tag key) giving each facility's type")
@click.option("--name-field", default="name", show_default=True)
@click.option("--lon-col", default="lon", show_default=True, help="CSV longitude column")
@click.option("--lat-col", default="lat", show_default=True, help="CSV latitude column")
@pass_context
def coverage_facilities_import(context: Context, file: Path, **options: Any) -> None:
    """Import FILE (GeoJSON/GeoPackage/Shapefile points, CSV, or OSM tags) as a set."""
    with context.database() as database:
        report = facility_service.import_facilities(database, file, **options)
    types = ", ".join(f"{k or '-'}={v}" for k, v in report.types.items())
    click.echo(f"facility set {report.name}: {report.facilities} facilities ({types})")
    click.echo(f"facility set id {report.set_id}")


@coverage_facilities.command("list")
@pass_context
def coverage_facilities_list(context: Context) -> None:
    """List facility sets."""
    with context.database() as database:
        for s in facility_service.list_facility_sets(database):
            click.echo(f"{s['id']:>4}  {s['name']:<24} {s['facilities']:>6}  {s['source']}")


def _print_run(result: coverage_service.RunResult, lang: str) -> None:
    for warning in result.warnings:
        click.echo(f"warning: {bilingual(warning['key'], **warning['params'])}", err=True)
    summary = result.summary
    for measure, key in (
        ("population", "population_share"),
        ("buildings", "building_share"),
        ("area", "area_share"),
    ):
        if summary.get(key) is not None:
            click.echo(f"within {summary['target_minutes']} min: {summary[key]:.1%} of {measure}")
    verdict = "target_met" if summary.get("target_met") else "target_missed"
    click.echo(f"target {summary['target_share']:.0%}: {bilingual(verdict)}")


@coverage.command("run")
@click.option("--network", required=True, help="network name")
@click.option("--facilities", required=True, help="facility set name")
@click.option("--minutes", default="5,10,15", show_default=True, help="bands, in minutes")
@click.option("--population", type=click.Path(path_type=Path), help="CSV of counts per unit")
@click.option("--population-level", help="level whose units the counts are for")
@click.option("--population-code-col", default="unit_id", show_default=True)
@click.option("--population-col", default="population", show_default=True)
@pass_context
def coverage_run(
    context: Context,
    network: str,
    facilities: str,
    minutes: str,
    population: Path | None,
    population_level: str | None,
    population_code_col: str,
    population_col: str,
) -> None:
    """Compute travel times, bands and per-unit coverage; prints the run id last."""
    bands = coverage_service.parse_minutes(minutes)
    if population is not None and population_level is None:
        raise click.UsageError("--population needs --population-level")
    with (
        context.database() as database,
        click.progressbar(length=100, label="coverage", file=sys.stderr) as bar,
    ):
        done = [0]

        def advance(fraction: float, stage: str) -> None:
            step = int(fraction * 100) - done[0]
            if step > 0:
                bar.update(step)
                done[0] += step

        result = coverage_service.run_coverage(
            database,
            context.settings,
            network=network,
            facilities=facilities,
            minutes=bands,
            population_file=population,
            population_level=population_level,
            population_code_col=population_code_col,
            population_col=population_col,
            progress=advance,
        )
    _print_run(result, context.settings.lang)
    click.echo(f"run {result.run_id}")


@coverage.command("show")
@click.argument("run_id", type=int)
@click.option("--level", help="only units of this level")
@pass_context
def coverage_show(context: Context, run_id: int, level: str | None) -> None:
    """Print a run's parameters, summary and per-unit table."""
    with context.database() as database:
        run = coverage_service.get_run(database, run_id)
    summary = run["summary"]
    click.echo(
        f"run {run['id']} [{run['state']} {run['progress']:.0%}] network {run['network']}, "
        f"facilities {run['facility_set']}, minutes {run['minutes']}"
    )
    for key in ("population_share", "building_share", "area_share"):
        if summary.get(key) is not None:
            click.echo(f"  {key}: {summary[key]:.1%} within {summary['target_minutes']} min")
    for u in run["units"]:
        if level and u["level"] != level:
            continue
        pop = (
            f"{u['covered_population'] / u['population']:.1%} of {u['population']:.0f}"
            if u["population"]
            else "-"
        )
        click.echo(
            f"  {u['level']:<10} {u['code']:<14} {u['minutes']:>3} min  "
            f"area {u['covered_area_m2'] / max(u['area_m2'], 1):.1%}  "
            f"buildings {u['covered_buildings']}/{u['buildings']}  population {pop}"
        )


@coverage.command("compare")
@click.argument("base_id", type=int)
@click.argument("other_id", type=int)
@click.option("--level", help="only units of this level")
@pass_context
def coverage_compare(context: Context, base_id: int, other_id: int, level: str | None) -> None:
    """Two runs side by side: summaries, then per unit and band the covered shares and change."""
    with context.database() as database:
        compared = coverage_service.compare_runs(database, base_id, other_id)

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    def change(value: float | None) -> str:
        return "-" if value is None else f"{value:+.1%}"

    for which in ("base", "other"):
        run = compared[which]
        summary = run["summary"]
        shares = ", ".join(
            f"{key.removesuffix('_share')} {pct(summary.get(key))}"
            for key in ("population_share", "building_share", "area_share")
            if summary.get(key) is not None
        )
        click.echo(
            f"{which:<5} run {run['id']}: facilities {run['facility_set']}, "
            f"within {summary.get('target_minutes')} min: {shares}"
        )
    for row in compared["units"]:
        if level and row["level"] != level:
            continue
        cells = [
            f"{name} {pct(row[name + '_base'])} -> {pct(row[name + '_other'])} "
            f"({change(row[name + '_change'])})"
            for name in ("area", "buildings", "population")
        ]
        click.echo(
            f"  {row['level']:<10} {row['code']:<14} {row['minutes']:>3} min  " + "  ".join(cells)
        )


@coverage.command("list")
@pass_context
def coverage_list(context: Context) -> None:
    """List coverage runs."""
    with context.database() as database:
        for r in coverage_service.list_runs(database):
            share = r["summary"].get("population_share") or r["summary"].get("area_share")
            shown = f"{share:.1%}" if share is not None else "-"
            click.echo(
                f"{r['id']:>5}  {r['created_at']:%Y-%m-%d %H:%M}  {r['state']:<7} "
                f"{r['network']:<20} {r['facility_set'] or '-':<20} {shown}"
            )


def _lonlat_pairs(values: tuple[str, ...]) -> list[tuple[float, float]]:
    pairs = []
    for value in values:
        lon, _, lat = value.partition(",")
        try:
            pairs.append((float(lon), float(lat)))
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: expected LON,LAT") from exc
    return pairs


@coverage.command("whatif")
@click.argument("run_id", type=int)
@click.option("--add", multiple=True, help="a new facility at LON,LAT (repeatable)")
@click.option("--remove", multiple=True, type=int, help="a facility id to drop (repeatable)")
@click.option("--save", is_flag=True, help="store the result as a new run (with polygons)")
@pass_context
def coverage_whatif(
    context: Context, run_id: int, add: tuple[str, ...], remove: tuple[int, ...], save: bool
) -> None:
    """Recompute RUN_ID with facilities added or removed."""
    with context.database() as database:
        result = coverage_service.what_if(
            database,
            context.settings,
            run_id,
            add=_lonlat_pairs(add),
            remove=list(remove),
            save=save,
        )
    _print_run(result, context.settings.lang)
    if save:
        click.echo(f"run {result.run_id}")


@coverage.command("suggest")
@click.argument("run_id", type=int)
@click.option("--k", "k", type=int, default=5, show_default=True, help="sites to propose")
@click.option(
    "--candidates",
    default="nodes",
    show_default=True,
    help="'nodes' (network intersections) or a file of candidate points",
)
@click.option("--minutes", type=int, help="band to fill (default GRIDMAP_COVERAGE_TARGET_MINUTES)")
@pass_context
def coverage_suggest(
    context: Context, run_id: int, k: int, candidates: str, minutes: int | None
) -> None:
    """Propose K new sites that newly cover the most residents, with each site's uplift."""
    source: Path | str = candidates if candidates == "nodes" else Path(candidates)
    with context.database() as database:
        sites = coverage_service.suggest_sites(
            database, context.settings, run_id, k=k, candidates=source, minutes=minutes
        )
    for s in sites:
        click.echo(f"{s.rank:>2}  {s.lon:.6f},{s.lat:.6f}  +{s.uplift:.0f}  {s.label}")


@coverage.command("export")
@click.argument("run_id", type=int)
@click.option("--out", required=True, type=click.Path(path_type=Path), help=".gpkg/.geojson/.csv")
@click.option(
    "--layer",
    type=click.Choice(coverage_service.EXPORT_LAYERS),
    help="layer for single-layer formats",
)
@pass_context
def coverage_export(context: Context, run_id: int, out: Path, layer: str | None) -> None:
    """Write a run's bands, uncovered areas, per-unit table and per-node times."""
    with context.database() as database:
        layers = coverage_service.export_run(database, run_id, out, layer=layer)
    click.echo(f"{', '.join(layers)} -> {out}")
