"""Derive the service regions and the city outline from the Neighborhood Council polygons.

Run from the repository root: ``.venv/bin/python data/los_angeles/derive.py``. The outputs are
committed; this script records exactly how they were made.
"""

from pathlib import Path

import geopandas as gpd
import pandas as pd

HERE = Path(__file__).parent


def main() -> None:
    councils = gpd.read_file(HERE / "nc-boundary-2019-modified.geojson")
    # "REGION 8 - NORTH EAST LA" -> code R08, name "North East LA"
    parts = councils["service_re"].str.extract(r"REGION\s+(\d+)\s*-\s*(.+)")
    councils["region_code"] = "R" + parts[0].str.zfill(2)
    councils["region_name"] = parts[1].str.title().str.replace(" La", " LA")
    # make_valid first: four NC polygons are invalid and would poison the union
    councils["geometry"] = councils.geometry.make_valid()
    regions = councils.dissolve(by=["region_code", "region_name"], as_index=False)[
        ["region_code", "region_name", "geometry"]
    ]
    population = pd.read_csv(HERE / "nc_population_tracts_nc_final.csv")
    councils["nc_id"] = councils["nc_id"].astype(int)
    councils = councils.merge(
        population[["NC_ID", "total_population"]], left_on="nc_id", right_on="NC_ID", how="left"
    )
    regions = regions.merge(
        councils.groupby("region_code")["total_population"].sum().reset_index(), on="region_code"
    )
    regions.to_file(HERE / "la_service_regions.geojson", driver="GeoJSON")
    city = gpd.GeoDataFrame(
        {
            "city_code": ["LA"],
            "city_name": ["City of Los Angeles"],
            "total_population": [int(councils["total_population"].sum())],
        },
        geometry=[regions.union_all()],
        crs=councils.crs,
    )
    city.to_file(HERE / "la_city.geojson", driver="GeoJSON")
    print(f"{len(regions)} regions, city population {city.total_population[0]:,}")


if __name__ == "__main__":
    main()
