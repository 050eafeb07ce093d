"""Use case: load a bundled sample city and locate its real service requests."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridmap.config import Settings
from gridmap.errors import ConfigError
from gridmap.geo.grids import GridSpec
from gridmap.services import boundaries as boundary_service
from gridmap.services import categories as category_service
from gridmap.services import coverage as coverage_service
from gridmap.services import geocode as geocode_service
from gridmap.services import grids as grid_service
from gridmap.services import hotline as hotline_service
from gridmap.services import locate as locate_service
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layer:
    """One boundary file of a sample city, imported top-down."""

    level: str
    file: str
    code_field: str
    name_field: str
    parent_field: str | None = None
    allow: tuple[str, ...] = ()  # check errors accepted for this layer, with the reason below


@dataclass(frozen=True)
class SampleCity:
    """A bundled deployment: its boundary layers, optional generated cells, real points."""

    name: str
    folder: str
    layers: tuple[Layer, ...]
    points: str  # file of real points to locate (CSV with lon/lat columns, or GeoJSON)
    lon_col: str = "longitude"
    lat_col: str = "latitude"
    cells_from_roads: str | None = None  # OSM file: generate cells in the lowest layer's units
    coverage_run: bool = False  # run the 5/10/15-minute walking coverage of its facilities
    categories: str = "cn"  # the category set its issues are reported in (data/categories)
    hotline_format: str | None = None  # its points are also a hotline export in this format
    gazetteer_osm: tuple[str, ...] = ()  # OSM files whose names and addresses are geocoded

    @property
    def marker(self) -> str:
        return f"demo {self.name}"


CITIES = {
    # LA's Neighborhood Councils really do share territory (up to 4 km2 between two of them),
    # and the regions dissolved from them inherit it: a deliberate, recorded exception.
    "los_angeles": SampleCity(
        categories="la311",
        hotline_format="la311",
        name="los_angeles",
        folder="los_angeles",
        layers=(
            Layer("city", "la_city.geojson", "city_code", "city_name"),
            Layer(
                "region",
                "la_service_regions.geojson",
                "region_code",
                "region_name",
                allow=("check_overlap",),
            ),
            Layer(
                "council",
                "nc-boundary-2019-modified.geojson",
                "nc_id",
                "name",
                allow=("check_overlap",),
            ),
        ),
        points="la311_2020_sample_10k.csv",
    ),
    # Streets and communities are generated inside the OSM extract only (data/README.md): the
    # rest of each district has none, which the street level's gap check would refuse.
    "nanjing": SampleCity(
        name="nanjing",
        folder="nanjing",
        layers=(
            Layer("city", "nanjing_city.geojson", "code", "name"),
            Layer("district", "nanjing_districts.geojson", "code", "name"),
            Layer(
                "street",
                "nanjing_xinjiekou_streets_generated.geojson",
                "code",
                "name",
                parent_field="parent_code",
                allow=("check_gap",),
            ),
            Layer(
                "community",
                "nanjing_xinjiekou_communities_generated.geojson",
                "code",
                "name",
                parent_field="parent_code",
            ),
        ),
        points="nanjing_xinjiekou_osm_service_facilities.geojson",
        cells_from_roads="nanjing_xinjiekou_overpass_2021-06-12.osm",
        coverage_run=True,
        gazetteer_osm=("nanjing_xinjiekou_overpass_2021-06-12.osm",),
    ),
}


@dataclass
class DemoResult:
    city: str
    loaded: bool
    located_csv: Path
    counts: Counter[str]
    lines: list[str] = field(default_factory=list)
    agreement: float | None = None
    compared: int = 0

    def summary_lines(self) -> list[str]:
        state = "loaded" if self.loaded else "already loaded"
        lines = [f"{self.city}: boundaries {state}", *self.lines]
        lines.append(f"located {sum(self.counts.values())} points -> {self.located_csv}")
        lines += [f"  {k}: {v}" for k, v in self.counts.most_common()]
        if self.agreement is not None:
            lines.append(
                f"agreement with the city's recorded Neighborhood Council: {self.agreement:.2%} "
                f"of {self.compared} rows that have both"
            )
        return lines


def council_agreement(located: pd.DataFrame) -> tuple[float, int]:
    """Share of rows whose located council equals the city's recorded ``nc`` (both present)."""
    recorded = pd.to_numeric(located["nc"], errors="coerce")
    ours = pd.to_numeric(located["council_code"], errors="coerce")
    both = recorded.notna() & (recorded > 0) & ours.notna()
    compared = int(both.sum())
    return (float((recorded[both] == ours[both]).mean()) if compared else 0.0), compared


def import_sample_layers(
    db: Database, settings: Settings, sample: SampleCity, folder: Path
) -> list[boundary_service.ImportReport]:
    """A sample city's boundary layers top-down, each committed and activated (what the demo,
    the tests and the benchmarks load)."""
    return [
        boundary_service.import_boundaries(
            db,
            settings,
            folder / layer.file,
            level=layer.level,
            code_field=layer.code_field,
            name_field=layer.name_field,
            parent_field=layer.parent_field,
            allow=layer.allow,
            commit=True,
            activate=True,
            description=f"{sample.marker}: {layer.level}",
        )
        for layer in sample.layers
    ]


def load_city(
    db: Database, settings: Settings, city: str, *, data_dir: Path, out_dir: Path
) -> DemoResult:
    """Import a sample city's boundaries (once), generate its cells if it has a road network,
    and locate its real points."""
    sample = CITIES.get(city)
    if sample is None:
        raise ConfigError(
            "setting_invalid",
            setting="city",
            value=city,
            reason=f"sample cities: {', '.join(CITIES)}",
        )
    missing = [layer.level for layer in sample.layers if layer.level not in settings.levels.names]
    if missing:
        raise ConfigError(
            "setting_invalid",
            setting="GRIDMAP_LEVELS",
            value=",".join(settings.levels.names),
            reason=f"the {city} sample needs the levels {', '.join(missing)} "
            f"(see data/{sample.folder}/gridmap.env)",
        )
    folder = data_dir / sample.folder
    already = any(
        g["active"] and g["description"].startswith(sample.marker)
        for g in boundary_service.generations(db)
    )
    result = DemoResult(city, not already, out_dir / f"{city}_located.csv", Counter())
    if not already:
        import_sample_layers(db, settings, sample, folder)
        if sample.cells_from_roads:
            grid = grid_service.generate_cells(
                db,
                settings,
                parent_level=sample.layers[-1].level,
                spec=GridSpec("roads"),
                network=folder / sample.cells_from_roads,
                commit=True,
                activate=True,
            )
            boundary_service.describe_generation(
                db, grid.report.generation, f"{sample.marker}: cells"
            )
            result.lines.append(
                f"generated {grid.areas['cells']} cells along the roads: median "
                f"{grid.areas['median']:,.0f} m2, {grid.areas['share_within_50pct_of_target']:.0%}"
                " within 50% of 10,000 m2"
            )
    loaded, _ = category_service.load_categories(db, settings, sample.categories)
    result.lines.append(
        f"category set {loaded.name}: {len(loaded.categories)} categories, "
        f"{len(loaded.departments)} departments"
    )
    entries = geocode_service.build_gazetteer(
        db, settings, osm_files=[folder / name for name in sample.gazetteer_osm]
    )
    result.lines.append(f"gazetteer: {sum(entries.values()):,} names ({dict(entries)})")
    result.counts = _locate_points(db, settings, folder / sample.points, sample, result.located_csv)
    if sample.hotline_format:
        imported = hotline_service.import_issues(
            db, settings, folder / sample.points, export_format=sample.hotline_format
        )
        result.lines.append(
            f"issues imported from the hotline export: {imported.imported} new, "
            f"{imported.already_imported} already there, rejected {dict(imported.rejected)}; "
            f"routed {dict(imported.targets)}"
        )
    if sample.coverage_run:
        run = coverage_service.run_demo_nanjing(db, settings, data_dir)
        summary = run.summary
        result.lines.append(
            f"walking coverage run {run.run_id}: {summary['building_share']:.0%} of buildings "
            f"within {summary['target_minutes']} minutes of its {summary['facilities_snapped']} "
            f"service facilities (gridmap coverage show {run.run_id})"
        )
    located = pd.read_csv(result.located_csv, dtype=str, keep_default_na=False)
    if "nc" in located.columns and "council_code" in located.columns:
        result.agreement, result.compared = council_agreement(located)
    return result


def _locate_points(
    db: Database, settings: Settings, source: Path, sample: SampleCity, out: Path
) -> Counter[str]:
    if source.suffix.lower() in (".geojson", ".json"):
        frame = gpd.read_file(source)
        points = pd.DataFrame(frame.drop(columns=frame.geometry.name)).astype(str)
        points[sample.lon_col] = frame.geometry.x.to_numpy()
        points[sample.lat_col] = frame.geometry.y.to_numpy()
        table = source.with_suffix(".csv").name
        out.parent.mkdir(parents=True, exist_ok=True)
        source = out.parent / table
        points.to_csv(source, index=False)
    return locate_service.locate_csv(
        db, settings, source, lon_col=sample.lon_col, lat_col=sample.lat_col, out=out
    )
