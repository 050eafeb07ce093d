"""Derive the Nanjing sample's boundary files: the real city and district outlines, and street
(街道) and community (社区) polygons GENERATED inside the OSM extract around 新街口.

No openly licensed polygons exist below district level for any Chinese city, so the streets and
communities are cut from the real road network of the extract with gridmap's own grid
generator (streets along main roads, communities along smaller roads), sized from how many real
streets/communities each part has, and labelled with real NBS 2023 names and codes (see
street_labels.csv). Cells are generated at demo time by `gridmap grids generate`.

Run from the repository root: ``.venv/bin/python data/nanjing/derive.py``. Outputs are committed.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.geo.grids import GridSpec, make_cells, merge_to_count, number_order
from gridmap.ingest.osm_lines import MAJOR_ROAD_CLASSES, ROAD_CLASSES, read_barrier_lines

HERE = Path(__file__).parent
OSM = HERE / "nanjing_xinjiekou_overpass_2021-06-12.osm"
EXTRACT = shapely.box(118.760, 32.016, 118.800, 32.055)  # the extract's bbox (lon/lat)
METRIC = "EPSG:4549"  # CGCS2000 3-degree Gauss-Kruger CM 120E, Nanjing's survey projection
STREET_KM2 = 2.5  # typical central-Nanjing 街道 (facts: 新街口街道 ~2.5 km2, 五老村 ~1.9 km2)
COMMUNITY_KM2 = 0.35  # typical central-Nanjing 社区
MIN_PART_KM2 = 0.3  # district slivers of the extract smaller than this get no streets


def to_metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(METRIC)


def cut(parent, lines: np.ndarray, classes: tuple[str, ...], count: int, kinds: pd.Series):
    """``count`` pieces of ``parent`` cut along lines of ``classes``, numbered W->E, N->S."""
    chosen = lines[kinds.isin(classes).to_numpy()]
    spec = GridSpec("roads", target_area_m2=parent.area / count, min_fraction=0.5)
    pieces = merge_to_count(make_cells(parent, spec, chosen), count)
    return [pieces[i] for i in number_order(pieces)]


def main() -> None:
    city = gpd.read_file(HERE / "nanjing_city_fastgeocn_tianditu_cgcs2000.geojson")
    districts = gpd.read_file(HERE / "nanjing_districts_fastgeocn_tianditu_cgcs2000.geojson")
    # "156" + adcode: the city is 3201 (its districts' codes start with it), districts 6 digits
    districts = districts.assign(code=districts["gb"].str[3:9])[["code", "name", "geometry"]]
    # The simplified city outline has a 1.4 ha hole where 高淳区 has land (gridmap's import
    # checks refuse it): the city is the union of its districts instead.
    city = gpd.GeoDataFrame(
        {"code": city["gb"].str[3:7], "name": city["name"]},
        geometry=[districts.geometry.make_valid().union_all()],
        crs=districts.crs,
    )
    city.to_file(HERE / "nanjing_city.geojson", driver="GeoJSON")
    districts.to_file(HERE / "nanjing_districts.geojson", driver="GeoJSON")

    streets_nbs = pd.read_csv(HERE / "nbs_streets_nanjing_3201.csv", dtype=str)
    communities_nbs = pd.read_csv(HERE / "nbs_communities_nanjing_3201.csv", dtype=str)
    labels = pd.read_csv(HERE / "street_labels.csv", dtype=str, comment="#")
    street_names = dict(zip(streets_nbs["code"], streets_nbs["name"], strict=True))

    roads = to_metric(read_barrier_lines(OSM, road_classes=ROAD_CLASSES))
    lines, kinds = roads.geometry.to_numpy(), roads["class"]
    extract_m = gpd.GeoSeries([EXTRACT], crs=4326).to_crs(METRIC).iloc[0]

    street_rows, community_rows = [], []
    for district in to_metric(districts).itertuples():
        part = shapely.intersection(district.geometry, extract_m)
        wanted = labels.loc[labels["district_code"] == district.code, "street_code"].tolist()
        if part.area < MIN_PART_KM2 * 1e6 or not wanted:
            continue
        count = int(np.clip(round(part.area / (STREET_KM2 * 1e6)), 1, len(wanted)))
        for street_code, street in zip(
            wanted, cut(part, lines, MAJOR_ROAD_CLASSES, count, kinds), strict=False
        ):
            street_rows.append(
                {
                    "code": street_code,
                    "name": street_names[street_code],
                    "parent_code": district.code,
                    "generated": True,
                    "geometry": street,
                }
            )
            real = communities_nbs[communities_nbs["streetCode"] == street_code]
            n = int(np.clip(round(street.area / (COMMUNITY_KM2 * 1e6)), 1, len(real)))
            for (code, name), community in zip(
                real[["code", "name"]].itertuples(index=False),
                cut(street, lines, ROAD_CLASSES[:7], n, kinds),
                strict=False,
            ):
                community_rows.append(
                    {
                        "code": code,
                        "name": name,
                        "parent_code": street_code,
                        "generated": True,
                        "geometry": community,
                    }
                )
    for rows, name in ((street_rows, "streets"), (community_rows, "communities")):
        frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC).to_crs(4326)
        frame.to_file(HERE / f"nanjing_xinjiekou_{name}_generated.geojson", driver="GeoJSON")
        km2 = frame.to_crs(METRIC).area / 1e6
        print(f"{name}: {len(frame)}, {km2.min():.2f}..{km2.max():.2f} km2")


if __name__ == "__main__":
    main()
