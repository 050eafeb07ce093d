"""The `gridmap` command: parses arguments, calls services, prints results. Nothing more."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gridmap.config import Settings
from gridmap.domain.messages import bilingual, message
from gridmap.errors import GridmapError, ImportChecksError, OutsideError
from gridmap.services import boundaries as boundary_service
from gridmap.services import demo as demo_service
from gridmap.services import locate as locate_service
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


# --- serve and demo ----------------------------------------------------------------------------


@main.command()
@click.option("--host", help="address to bind (default GRIDMAP_HOST)")
@click.option("--port", type=int, help="port (default GRIDMAP_PORT)")
@pass_context
def serve(context: Context, host: str | None, port: int | None) -> None:
    """Run the web app under waitress, a production-grade WSGI server."""
    import waitress

    from gridmap.app import create_app

    settings = context.settings
    host = host or settings.host
    port = port or settings.port
    app = create_app(settings)
    click.echo(bilingual("serving", url=f"http://{host}:{port}/"), err=False)
    sys.stdout.flush()
    waitress.serve(app, host=host, port=port, threads=settings.threads, ident="gridmap")


@main.command("demo")
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
def demo(context: Context, data_dir: Path, out_dir: Path) -> None:
    """Load the bundled Los Angeles sample and locate its 311 requests."""
    with context.database() as database:
        result = demo_service.load_los_angeles(
            database, context.settings, data_dir=data_dir, out_dir=out_dir
        )
    for line in result.summary_lines():
        click.echo(line)
