"""Use case: geocode an address offline against the gazetteer (units + OSM), never guessing.

Addresses are parsed first: Chinese ones with jionlp's ``parse_location`` (province, city,
district, 街道 and 社区/村, with the deployment's city as context), then the part below the
village (road, house number, building) by the small rules below, which jionlp does not cover;
Latin-script ones with usaddress (US order) or, failing that, "Street 12" (European order).
Names on both sides go through one normaliser. Candidates come from trigram search; the result
says how precisely the best one places the address and whether it may be used unseen.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import usaddress
from scourgify.address_constants import DIRECTIONAL_REPLACEMENTS, STREET_TYPE_ABBREVIATIONS

from gridmap.config import Settings
from gridmap.domain.messages import message
from gridmap.errors import ConfigError, DatabaseError, InputError
from gridmap.geo.geometry import ewkb_hex
from gridmap.ingest.osm_places import read_osm_places
from gridmap.store import gazetteer as gazetteer_store
from gridmap.store import units as unit_store
from gridmap.store.db import Database

LOGGER = logging.getLogger(__name__)

PRECISIONS = ("house_number", "poi", "road")  # then the unit level names, deepest first
DECISIONS = ("accepted", "ambiguous", "low_precision", "not_found")
MAX_ADDRESS_CHARS = 500

_GEOD = pyproj.Geod(ellps="WGS84")
_CJK = re.compile(r"[\u3400-\u9fff]")


def precisions(settings: Settings) -> tuple[str, ...]:
    """Every precision from the finest: house number, POI, road, then the levels upwards."""
    return PRECISIONS + tuple(reversed(settings.levels.names))


def accepted_precisions(settings: Settings) -> tuple[str, ...]:
    known = precisions(settings)
    for name in settings.geocode_accept:
        if name not in known:
            raise ConfigError(
                "precision_unknown",
                setting="GRIDMAP_GEOCODE_ACCEPT",
                value=name,
                known=", ".join(known),
            )
    return settings.geocode_accept


# --- normalising names ------------------------------------------------------------------------

# USPS Publication 28 street types and directions, from usaddress-scourgify's tables: every
# spelling (AVENUE, AV, AVEN ...) maps to one abbreviation, on names and queries alike, so
# "S Westmoreland Avenue" and "SOUTH WESTMORELAND AVE" normalise to the same string.
_LATIN_TOKENS = {
    **{k.lower(): v.lower() for k, v in STREET_TYPE_ABBREVIATIONS.items()},
    **{k.lower(): v.lower() for k, v in DIRECTIONAL_REPLACEMENTS.items()},
}
# a Chinese community's committee (居委会) names the community itself
_CN_SUFFIXES = re.compile(r"(居民委员会|居委会|村民委员会|村委会)$")
_PUNCTUATION = re.compile(r"[^\w]+")
_BETWEEN_CJK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff\d])|(?<=\d) (?=[\u3400-\u9fff])")


def normalise_name(text: str) -> str:
    """The form names are indexed and searched by: NFKC (full-width to ASCII), case-folded,
    punctuation as spaces, US street types and directions abbreviated, no spaces between
    Chinese characters, a community committee's suffix dropped."""
    text = unicodedata.normalize("NFKC", text).casefold()
    tokens = _PUNCTUATION.sub(" ", text).replace("_", " ").split()
    joined = " ".join(_LATIN_TOKENS.get(t, t) for t in tokens)
    joined = _BETWEEN_CJK.sub("", joined)
    return _CN_SUFFIXES.sub("", joined) or joined


def normalise_housenumber(text: str) -> str:
    """18号 -> 18, "12 A" -> 12a: house numbers are compared exactly after this."""
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"[号號]$", "", text)
    return re.sub(r"\s+", "", text)


def normalise_city(text: str | None) -> str | None:
    """南京市 / 南京 / " Nanjing " -> one form, for comparing a city with the context."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = re.sub(r"市$", "", text)
    return text or None


# --- parsing addresses ------------------------------------------------------------------------

_JIONLP_LOCK = threading.Lock()


@cache
def _jionlp() -> Any:
    """jionlp, imported and warmed up once, under a lock.

    It prints a banner on stdout when imported (it would corrupt the CLI's --json output), so
    stdout is captured meanwhile; its parser is one shared object that loads its dictionaries
    (~0.8 s) on the first call, unguarded, so that first call is made here, in one thread.
    """
    with _JIONLP_LOCK, contextlib.redirect_stdout(io.StringIO()):
        import jionlp

        jionlp.parse_location("江苏省南京市玄武区", town_village=True, change2new=True)
    return jionlp


def warm_up() -> None:
    """Load the address parsers' dictionaries now (a server calls this at start-up, so the
    first Chinese address does not wait ~1 s)."""
    _jionlp()


# Below jionlp's village level a Chinese address is "<road><number>号<building/place>": the
# road is whatever precedes the number. Hand-written because no maintained library parses this
# part (jionlp and cpca stop at 乡镇/村); the rules are the national address convention.
_CN_ROAD_NUMBER = re.compile(r"^(?P<road>\D+?)(?P<number>\d+(?:[-－之]\d+)*)[号號]")
_CN_ROAD_ONLY = re.compile(r"(大道|大街|路|街|巷|弄|胡同)$")
_CN_STREET_UNIT = re.compile(r"^(?P<unit>\D{2,10}?(?:街道|镇|乡))")
_CN_COMMUNITY = re.compile(r"^(?P<unit>\D{2,12}?社区)(?:居民委员会|居委会)?")
# building, entrance, floor and room numbers after the house number place nothing finer
_CN_INSIDE = re.compile(r"\d+\s*(?:号楼|栋|幢|座|单元|层|楼|室|号)")


# the characters that end an administrative name (江苏省, 南京市, 玄武区, 溧水县 ...)
_CN_ADMIN_SUFFIX = re.compile(r"[省市区县州盟旗]")


def _trust_admin(located: dict[str, Any], text: str) -> bool:
    """Whether jionlp's province/city read from ``text`` is one the text really names.

    jionlp also takes a bare city name at the start (南京玄武...), so a road named after a
    city (中山南路, 北京东路) reads as that city. Trust it when a district was found too or
    the consumed prefix carries an administrative suffix (南京市, 玄武区).
    """
    detail = located.get("detail") or ""
    consumed = text[: len(text) - len(detail)] if text.endswith(detail) else text
    return bool(located.get("county")) or bool(_CN_ADMIN_SUFFIX.search(consumed))


def _parse_chinese(text: str, context: str) -> dict[str, str]:
    jio = _jionlp()
    text = re.sub(r"\s+", "", text)

    def parse(value: str) -> dict[str, Any]:
        located = jio.parse_location(value, town_village=True, change2new=True)
        if _trust_admin(located, value):
            return located
        return {"detail": value}

    context_norm = normalise_city(context)
    located = parse(text)
    if context_norm and not located.get("city") and located.get("county"):
        # a district name several cities have (鼓楼区): read it inside the context city; one
        # the context city does not have (朝阳区 with 南京市) is left in jionlp's detail then
        district = located["county"]
        located = parse(context + text)
        if not located.get("county"):
            return {"district": district, "outside": district}
    parsed: dict[str, str] = {}
    for key, out in (("province", "province"), ("city", "city"), ("county", "district")):
        if located.get(key):
            parsed[out] = located[key]
    named_city = normalise_city(located.get("city"))
    if context_norm and named_city and named_city != context_norm:
        return {**parsed, "outside": located["city"]}
    detail = located.get("detail") or ""
    town, village = located.get("town"), located.get("village")
    if town and detail.startswith(town):
        parsed["street"], detail = town, detail[len(town) :]
    elif match := _CN_STREET_UNIT.match(detail):
        parsed["street"], detail = match["unit"], detail[match.end() :]
    if village and detail.startswith(village):
        parsed["community"], detail = village, detail[len(village) :]
    elif match := _CN_COMMUNITY.match(detail):
        parsed["community"], detail = match["unit"], detail[match.end() :]
    if match := _CN_ROAD_NUMBER.match(detail):
        parsed["road"], parsed["house_number"] = match["road"], match["number"]
        detail = detail[match.end() :]
    elif _CN_ROAD_ONLY.search(detail):
        parsed["road"], detail = detail, ""
    rest = _CN_INSIDE.sub("", detail).strip()
    if rest:
        parsed["poi"] = rest
    return parsed


# usaddress labels that make up the street name, in order
_US_STREET = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
    "StreetNamePostModifier",
)
_STREET_NUMBER = re.compile(
    r"^(?P<road>[^\d,]+?)\s+(?P<number>\d+\s?[a-zA-Z]?)\b\s*(?:,\s*(?P<rest>.*))?$"
)
_POSTCODE = re.compile(r"\b\d{4,6}(?:-\d{4})?\b")


def _parse_latin(text: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    try:
        tags, _ = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        tags = {}
    if tags.get("AddressNumber") and tags.get("StreetName"):
        parsed["house_number"] = tags["AddressNumber"] + tags.get("AddressNumberSuffix", "")
        parsed["road"] = " ".join(tags[k] for k in _US_STREET if tags.get(k))
        for key, out in (("PlaceName", "city"), ("StateName", "state"), ("ZipCode", "postcode")):
            if tags.get(key):
                parsed[out] = tags[key].strip(" ,")
        return parsed
    if match := _STREET_NUMBER.match(text.strip()):  # European order: Mikonkatu 18, Helsinki
        parsed["road"], parsed["house_number"] = match["road"].strip(), match["number"]
        rest = match["rest"] or ""
    else:
        head, _, rest = text.partition(",")
        if head.strip():
            parsed["poi"] = head.strip()
    if postcode := _POSTCODE.search(rest):
        parsed["postcode"] = postcode.group()
        rest = rest.replace(postcode.group(), "")
    city = rest.strip(" ,")
    if city:
        parsed["city"] = city
    return parsed


def parse_address(text: str, *, city: str = "") -> dict[str, str]:
    """What an address says: province, city, district, street (街道), community, road,
    house_number, poi, postcode, state; ``outside`` names another city than ``city``."""
    if _CJK.search(text):
        parsed = _parse_chinese(text, city)
    else:
        parsed = _parse_latin(text)
        named, context = normalise_city(parsed.get("city")), normalise_city(city)
        if named and context and named != context:
            parsed["outside"] = parsed["city"]
    return parsed


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeocodeCandidate:
    """One place the address may mean."""

    name: str
    lon: float
    lat: float
    precision: str
    score: float
    source: str
    unit_level: str | None
    unit_code: str | None
    kind: str = ""
    osm: str | None = None  # e.g. n779093768 (node), w27811140 (way)
    street: str | None = None
    housenumber: str | None = None
    unit_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeocodeResult:
    """The decision on one address, with every candidate a person may choose from."""

    query: str
    parsed: dict[str, str]
    decision: str
    best: GeocodeCandidate | None
    candidates: tuple[GeocodeCandidate, ...]
    reason: str = "geocode_not_found"  # message key explaining the decision
    reason_params: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.decision == "accepted"

    def message(self, lang: str = "en") -> str:
        return message(self.reason, lang, **self.reason_params)

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "parsed": dict(self.parsed),
            "decision": self.decision,
            "accepted": self.accepted,
            "precision": self.best.precision if self.best else None,
            "reason": self.reason,
            "message": {"en": self.message("en"), "zh-CN": self.message("zh-CN")},
            "best": _candidate_json(self.best) if self.best else None,
            "candidates": [_candidate_json(c) for c in self.candidates],
        }


def _candidate_json(candidate: GeocodeCandidate) -> dict[str, Any]:
    out = asdict(candidate)
    out["unit_codes"] = list(candidate.unit_codes)
    out["score"] = round(candidate.score, 4)
    return out


# --- building the gazetteer -------------------------------------------------------------------

# OSM place=* values that name a spot, as precise as a POI
_PLACE_SPOTS = {"square", "locality", "city_block", "plot", "farm", "isolated_dwelling", "islet"}
# area-like place=* values, by depth from the top of the hierarchy (city 0, borough/district 1,
# suburb/quarter 2, neighbourhood 3): the level at that depth of GRIDMAP_LEVELS is their
# precision (deeper depths stop at the deepest level). OSM's own nesting, see the wiki's
# Key:place; an unknown value counts as the coarsest (never finer than it may be).
_PLACE_DEPTH = {
    "city": 0,
    "town": 0,
    "municipality": 0,
    "county": 0,
    "borough": 1,
    "district": 1,
    "suburb": 2,
    "quarter": 2,
    "village": 2,
    "neighbourhood": 3,
    "hamlet": 3,
    "allotments": 3,
}


def place_precision(place: str | None, settings: Settings) -> str:
    """The precision of an OSM place=* entry (poi for spots, else a level name)."""
    if place in _PLACE_SPOTS:
        return "poi"
    names = settings.levels.names
    return names[min(_PLACE_DEPTH.get(place or "", 0), len(names) - 1)]


def _osm_rows(frame: Any, source: str, settings: Settings) -> list[tuple[Any, ...]]:
    """One staged row per name of every thing in ``frame`` (an OsmPlaces frame)."""
    if frame.empty:
        return []
    points = ewkb_hex(np.asarray(frame.geometry.values))
    lines = [
        str(ewkb_hex(np.asarray([line]))[0]) if line is not None else None for line in frame["line"]
    ]
    rows = []
    for i, thing in enumerate(frame.itertuples(index=False)):
        precision = {"house_number": "house_number", "poi": "poi", "road": "road"}.get(
            thing.kind
        ) or place_precision(thing.place, settings)
        street = thing.street
        for name in thing.names:
            norm = normalise_name(name)
            if not norm:
                continue
            rows.append(
                (
                    name,
                    norm,
                    thing.kind,
                    precision,
                    str(points[i]),
                    lines[i],
                    thing.housenumber,
                    normalise_housenumber(thing.housenumber) if thing.housenumber else None,
                    street,
                    normalise_name(street) if street else None,
                    thing.postcode,
                    thing.city,
                    normalise_city(thing.city),
                    source,
                    thing.osm_type,
                    int(thing.osm_id),
                    thing.tag,
                )
            )
    return rows


def build_gazetteer(
    database: Database, settings: Settings, *, osm_files: Sequence[Path]
) -> dict[str, int]:
    """Rebuild the gazetteer from the active generation's units and ``osm_files``.

    Every file is read before the database is touched, and the entries are replaced in one
    transaction: a failure anywhere leaves the previous gazetteer as it was. Returns the new
    entries counted by kind (unit, place, poi, road, house_number; one per name).
    """
    read = [read_osm_places(Path(path)) for path in osm_files]
    osm_rows = [row for places in read for row in _osm_rows(places.frame, places.source, settings)]
    with database.transaction() as conn:
        generation = unit_store.active_generation(conn)
        if generation is None and not read:
            raise InputError("gazetteer_nothing")
        unit_rows = _unit_rows(conn, generation) if generation is not None else []
        counts = gazetteer_store.rebuild(
            conn,
            unit_rows=unit_rows,
            osm_rows=osm_rows,
            generation=generation,
            levels=settings.levels.names,
            sources=[places.source for places in read],
        )
    LOGGER.info("gazetteer: %s", counts)
    return counts


def _unit_rows(conn: Any, generation: int) -> list[tuple[int, str]]:
    """(unit row id, normalised name) of the generation's units that have a name."""
    units = gazetteer_store.generation_units(conn, generation=generation)
    return [(uid, normalise_name(name)) for uid, _, name in units if normalise_name(name)]


def refresh_gazetteer_units(conn: Any, settings: Settings, generation: int) -> None:
    """Called inside a generation switch (same transaction): the gazetteer's units follow
    the generation now in force; nothing to do before a gazetteer is built."""
    gazetteer_store.refresh_units(
        conn,
        unit_rows=_unit_rows(conn, generation),
        generation=generation,
        levels=settings.levels.names,
    )


# --- geocoding --------------------------------------------------------------------------------


def _candidate(row: dict[str, Any]) -> GeocodeCandidate:
    return GeocodeCandidate(
        name=row["name"],
        lon=float(row["lon"]),
        lat=float(row["lat"]),
        precision=row["precision"],
        score=float(row["score"]),
        source=row["source"],
        unit_level=row["unit_level"],
        unit_code=row["unit_code"],
        kind=row["kind"],
        osm=f"{row['osm_type']}{row['osm_id']}" if row["osm_id"] is not None else None,
        street=row["street"],
        housenumber=row["housenumber"],
        unit_codes=tuple(row["unit_codes"] or ()),
    )


def _distance_m(a: GeocodeCandidate, b: GeocodeCandidate) -> float:
    return float(_GEOD.inv(a.lon, a.lat, b.lon, b.lat)[2])


def _search(
    conn: Any, parsed: dict[str, str], settings: Settings, rank: dict[str, int]
) -> list[GeocodeCandidate]:
    """Every candidate the parsed address yields, each thing once at its best score."""
    city = normalise_city(settings.city)
    limit = settings.geocode_candidates
    unit_names = [
        normalise_name(parsed[key]) for key in ("district", "street", "community") if key in parsed
    ]
    units = gazetteer_store.known_unit_names(conn, unit_names)
    rows: list[dict[str, Any]] = []
    road = normalise_name(parsed.get("road", ""))
    if road and parsed.get("house_number"):
        # matched by its address: placed to the house number, whatever else the thing is
        houses = gazetteer_store.search_house_numbers(
            conn,
            housenumber=normalise_housenumber(parsed["house_number"]),
            street=road,
            units=units,
            city=city,
            postcode=parsed.get("postcode"),
            limit=limit,
        )
        rows += [{**row, "precision": "house_number"} for row in houses]
    if poi := normalise_name(parsed.get("poi", "")):
        rows += gazetteer_store.search_names(
            conn,
            name=poi,
            kinds=("poi", "place", "unit", "road"),
            units=units,
            city=city,
            limit=limit,
        )
    if road:
        rows += gazetteer_store.search_roads(conn, name=road, units=units, city=city, limit=limit)
    if unit_names:  # the finest unit named: the fallback when nothing finer matches
        rows += gazetteer_store.search_names(
            conn,
            name=unit_names[-1],
            kinds=("unit", "place"),
            units=units,
            city=city,
            limit=limit,
        )
    # one candidate per thing (an OSM object, a unit), at its best score and finest precision
    best_of: dict[tuple[str | None, ...], GeocodeCandidate] = {}
    for row in rows:
        candidate = _candidate(row)
        key = (candidate.osm,) if candidate.osm else (candidate.unit_level, candidate.unit_code)
        kept = best_of.get(key)
        if kept is None or (candidate.score, -rank[candidate.precision]) > (
            kept.score,
            -rank[kept.precision],
        ):
            best_of[key] = candidate
    return list(best_of.values())


def geocode_address(database: Database, settings: Settings, text: str) -> GeocodeResult:
    """Geocode one address; ambiguous or coarse results are returned with their candidates,
    never resolved by guessing (``decision`` says which)."""
    query = (text or "").strip()
    if not query:
        raise InputError("geocode_empty")
    if len(query) > MAX_ADDRESS_CHARS:
        raise InputError("geocode_too_long", length=len(query), limit=MAX_ADDRESS_CHARS)
    accepted = accepted_precisions(settings)
    rank = {name: i for i, name in enumerate(precisions(settings))}
    parsed = parse_address(query, city=settings.city)
    if "outside" in parsed:
        return GeocodeResult(
            query,
            parsed,
            "not_found",
            None,
            (),
            "geocode_outside_city",
            {"city": parsed["outside"], "context": settings.city},
        )
    if not any(k in parsed for k in ("road", "poi", "district", "street", "community")):
        parsed["poi"] = query  # nothing recognised: search the whole text as a name
    with database.connection() as conn:
        found = _search(conn, parsed, settings, rank)
        if not found and gazetteer_store.entry_count(conn) == 0:
            raise DatabaseError("gazetteer_empty")
    found.sort(key=lambda c: (-round(c.score, 6), rank.get(c.precision, len(rank)), c.name))
    candidates = tuple(found[: settings.geocode_candidates])
    if not candidates:
        return GeocodeResult(query, parsed, "not_found", None, (), "geocode_not_found")
    best = candidates[0]
    if best.score < settings.geocode_min_score:
        return GeocodeResult(
            query,
            parsed,
            "ambiguous",
            best,
            candidates,
            "geocode_weak",
            {"score": best.score, "minimum": settings.geocode_min_score},
        )
    # a rival is another place as specific as the best (or more) scoring about as well; a
    # coarser candidate (the road it is on, its district) describes it less precisely
    rivals = [
        c
        for c in candidates[1:]
        if best.score - c.score <= settings.geocode_margin
        and rank.get(c.precision, len(rank)) <= rank.get(best.precision, len(rank))
        and _distance_m(best, c) > settings.geocode_ambiguous_m
    ]
    if rivals:
        return GeocodeResult(
            query,
            parsed,
            "ambiguous",
            best,
            candidates,
            "geocode_ambiguous",
            {
                "count": len(rivals) + 1,
                "margin": settings.geocode_margin,
                "metres": settings.geocode_ambiguous_m,
            },
        )
    if best.precision not in accepted:
        return GeocodeResult(
            query,
            parsed,
            "low_precision",
            best,
            candidates,
            "geocode_low_precision",
            {"precision": best.precision, "accepted": ", ".join(accepted)},
        )
    return GeocodeResult(
        query,
        parsed,
        "accepted",
        best,
        candidates,
        "geocode_accepted",
        {"name": best.name, "precision": best.precision, "score": best.score},
    )
