"""Use case: load a bundled sample city and locate its real service requests."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gridmap.config import Settings
from gridmap.errors import ConfigError
from gridmap.services import boundaries as boundary_service
from gridmap.services import locate as locate_service
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

LA_DEMO = "demo los_angeles"
# (level, file, code field, name field, checks allowed): loaded top-down so parents come from
# geometry. LA's Neighborhood Councils really do share territory (up to 4 km2 between two of
# them), and the regions dissolved from them inherit it: a deliberate, recorded exception.
LA_LAYERS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("city", "la_city.geojson", "city_code", "city_name", ()),
    ("region", "la_service_regions.geojson", "region_code", "region_name", ("check_overlap",)),
    ("council", "nc-boundary-2019-modified.geojson", "nc_id", "name", ("check_overlap",)),
)


@dataclass
class DemoResult:
    loaded: bool
    located_csv: Path
    counts: Counter[str]
    agreement: float
    compared: int
    generations: list[int] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = [
            "loaded the Los Angeles boundaries"
            if self.loaded
            else "Los Angeles boundaries already loaded"
        ]
        lines.append(f"located {sum(self.counts.values())} 311 requests -> {self.located_csv}")
        lines += [f"  {k}: {v}" for k, v in self.counts.most_common()]
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


def load_los_angeles(
    db: Database, settings: Settings, *, data_dir: Path, out_dir: Path
) -> DemoResult:
    """Import city, service regions and Neighborhood Councils (once), then locate the 311 file."""
    for level, *_ in LA_LAYERS:
        if level not in settings.levels.names:
            raise ConfigError(
                "setting_invalid",
                setting="GRIDMAP_LEVELS",
                value=",".join(settings.levels.names),
                reason="the Los Angeles demo needs the levels city, region, council "
                "(see data/los_angeles/gridmap.env)",
            )
    folder = data_dir / "los_angeles"
    already = any(
        g["active"] and g["description"].startswith(LA_DEMO)
        for g in boundary_service.generations(db)
    )
    result_generations: list[int] = []
    if not already:
        for level, filename, code_field, name_field, allow in LA_LAYERS:
            report = boundary_service.import_boundaries(
                db,
                settings,
                folder / filename,
                level=level,
                code_field=code_field,
                name_field=name_field,
                allow=allow,
                commit=True,
                activate=True,
                description=f"{LA_DEMO}: {level}",
            )
            assert report.generation is not None
            result_generations.append(report.generation)
    out = out_dir / "la311_2020_located.csv"
    counts = locate_service.locate_csv(
        db,
        settings,
        folder / "la311_2020_sample_10k.csv",
        lon_col="longitude",
        lat_col="latitude",
        out=out,
    )
    located = pd.read_csv(out, dtype=str, keep_default_na=False)
    agreement, compared = council_agreement(located)
    return DemoResult(not already, out, counts, agreement, compared, result_generations)
