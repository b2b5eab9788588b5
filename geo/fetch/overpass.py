"""Service points from OpenStreetMap through the Overpass API (``[out:json]``, ``out center meta``).

One query per area asks for every tag in :data:`geo.io.services.OSM_TAGS` (plus ``amenity=school``,
placed by ``isced:level``) on nodes, ways and relations (``nwr``: GP practices and schools are often
multipolygons); ways and relations come back with their ``center``. Each point keeps its OSM id
(``node/123``, ``relation/9``), version and ``timestamp``, and the matched tag. An ``amenity=doctors``
counts as a GP only where ``healthcare:speciality`` includes ``general``; untagged ones are kept and
reported as "doctors (unspecified)" (:func:`geo.io.services.doctors_kind`).

Behaviour of the real service (Overpass API documentation, wiki.openstreetmap.org/wiki/Overpass_API):
an answer can be HTTP 200 with a ``remark`` such as ``runtime error: Query timed out ...`` or
``... out of memory ...`` and a partial ``elements`` list; such an answer is refused before it is
cached. The server stops a query after its ``[timeout:]`` budget, so the HTTP read timeout is set
above that budget. HTTP 429 means no free slot: ``/api/status`` says when one frees
(``Slot available after: <time>, in N seconds.`` or ``N slots available now.``).
"""

from __future__ import annotations

import re
from datetime import date

import shapely

from geo.domain import wgs84_to_rd
from geo.fetch.area import Area
from geo.fetch.config import FetchConfig
from geo.fetch.http import FetchError, HttpClient
from geo.fetch.store import Download, write_geojson
from geo.io.services import DOCTORS_UNSPECIFIED, OSM_SCHOOL_LEVELS, OSM_TAGS, doctors_kind

SCHOOL_TAG = ("amenity", "school")
SLOT_AFTER = re.compile(r"Slot available after: [^,]+, in (-?\d+) seconds?\.")
SLOTS_NOW = re.compile(r"(\d+) slots? available now\.")
READ_MARGIN = 30  # seconds the HTTP read timeout exceeds the query's own [timeout:] budget


def overpass_query(area: Area, *, timeout: int = 300) -> str:
    """The Overpass QL query for every service tag in the area's bounding box (nodes, ways, relations)."""
    south, west, north, east = area.bbox_wgs84()
    box = f"({south:.6f},{west:.6f},{north:.6f},{east:.6f})"
    lines = [f'  nwr["{key}"="{value}"]{box};' for key, value in [*OSM_TAGS, SCHOOL_TAG]]
    return f"[out:json][timeout:{timeout}];\n(\n" + "\n".join(lines) + "\n);\nout center meta;"


def categories_of(tags: dict) -> list[tuple[str, str]]:
    """(category, matched tag) pairs of one element: the first OSM_TAGS match, or school levels.
    A specialist ``amenity=doctors`` matches nothing; an untagged one is a GP "doctors (unspecified)"."""
    for (key, value), category in OSM_TAGS.items():
        if tags.get(key) == value:
            if (key, value) == ("amenity", "doctors"):
                kind = doctors_kind(tags.get("healthcare:speciality"))
                if kind == "specialist":
                    continue
                if kind == DOCTORS_UNSPECIFIED:
                    return [(category, f"amenity=doctors ({DOCTORS_UNSPECIFIED})")]
                return [(category, "amenity=doctors + healthcare:speciality=general")]
            return [(category, f"{key}={value}")]
    if tags.get(SCHOOL_TAG[0]) == SCHOOL_TAG[1]:
        levels = re.split(r"[;,\s]+", tags.get("isced:level", "").strip())
        found = dict.fromkeys(OSM_SCHOOL_LEVELS[lv] for lv in levels if lv in OSM_SCHOOL_LEVELS)
        return [(category, "amenity=school") for category in found]
    return []


def elements_to_features(body: dict, *, what: str) -> tuple[list[dict], dict[str, int]]:
    """GeoJSON point features (WGS84) from Overpass JSON ``elements``; counts of what was skipped."""
    skipped = {"no coordinates": 0, "school without isced:level": 0, "specialist doctors": 0, "no known tag": 0}
    features = []
    osm_base = (body.get("osm3s") or {}).get("timestamp_osm_base")
    for i, element in enumerate(body["elements"], 1):
        if not isinstance(element, dict) or "type" not in element or "id" not in element:
            raise FetchError(f"{what}: element {i} is not an OSM element with 'type' and 'id'")
        point = element if "lat" in element else element.get("center")
        if not point or "lat" not in point or "lon" not in point:
            skipped["no coordinates"] += 1
            continue
        tags = element.get("tags") or {}
        matches = categories_of(tags)
        if not matches:
            if tags.get("amenity") == "school":
                skipped["school without isced:level"] += 1
            elif tags.get("amenity") == "doctors":
                skipped["specialist doctors"] += 1
            else:
                skipped["no known tag"] += 1
            continue
        osm_id = f"{element['type']}/{element['id']}"
        for category, tag in matches:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [float(point["lon"]), float(point["lat"])]},
                    "properties": {
                        "osm_id": osm_id if len(matches) == 1 else f"{osm_id}/{category}",
                        "category": category,
                        "name": tags.get("name"),
                        "osm_tag": tag,
                        "osm_version": element.get("version"),
                        "osm_timestamp": element.get("timestamp"),
                        "osm_base": osm_base,
                        "tags": tags,
                    },
                }
            )
    return features, {k: v for k, v in skipped.items() if v}


def answer_check(what: str, url: str):
    """Refuse an answer that is not Overpass JSON or carries an error ``remark`` (before caching)."""

    def check(body) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
            raise FetchError(f"{what} ({url}): not an Overpass JSON answer (no 'elements' list)")
        remark = str(body.get("remark") or "")
        if "error" in remark.lower():
            raise FetchError(
                f"{what} ({url}): the server stopped the query: {remark.strip()} "
                "(a partial answer; nothing was cached; try a smaller area or later)"
            )

    return check


def status_url(interpreter_url: str) -> str:
    """``.../api/interpreter`` -> ``.../api/status``."""
    base = interpreter_url.rstrip("/")
    return (base.rsplit("/", 1)[0] if base.endswith("/interpreter") else base) + "/status"


def slot_wait(status_text: str) -> float | None:
    """Seconds until a query slot is free, from an ``/api/status`` page; ``None`` if it says nothing."""
    if SLOTS_NOW.search(status_text):
        return 0.0
    waits = [max(int(m), 0) for m in SLOT_AFTER.findall(status_text)]
    return float(min(waits)) if waits else None


def rate_limit_wait(client: HttpClient, config: FetchConfig, *, progress) -> float:
    """How long to wait after an HTTP 429: as ``/api/status`` asks, else ``config.overpass_wait``."""
    url = status_url(config.overpass_url)
    try:
        seconds = slot_wait(client.get_text(url, what="Overpass status", timeout=30))
    except FetchError as exc:
        seconds, why = None, f"the status page could not be read ({exc})"
    else:
        why = "the status page names no free slot"
    if seconds is None:
        seconds = config.overpass_wait
        progress(f"  Overpass is busy (HTTP 429) and {why}: waiting {seconds:g} s before asking again")
    else:
        seconds = max(seconds, config.overpass_min_wait)
        progress(f"  Overpass is busy (HTTP 429); {url} says a slot frees in time: waiting {seconds:g} s")
    if seconds > config.overpass_max_wait:
        raise FetchError(
            f"Overpass asks to wait {seconds:g} s for a free slot (more than {config.overpass_max_wait:g} s); "
            "try again later"
        )
    return seconds


def fetch_osm(client: HttpClient, config: FetchConfig, area: Area, *, progress=lambda _m: None) -> list[Download]:
    """Every service category from OSM in the area, as one ``points`` file."""
    what = f"Overpass services in {area.label}"
    budget = config.overpass_timeout
    progress(
        f"  {what}: one query for {len(OSM_TAGS) + 1} tags on nodes, ways and relations "
        f"(the server may take up to {budget} s)"
    )
    body = client.post_json(
        config.overpass_url,
        {"data": overpass_query(area, timeout=budget)},
        what=what,
        check=answer_check(what, config.overpass_url),
        timeout=budget + READ_MARGIN,
        wait_on_429=lambda: rate_limit_wait(client, config, progress=progress),
    )
    if body.get("remark"):
        progress(f"  {what}: the server remarks: {str(body['remark']).strip()}")
    features, skipped = elements_to_features(body, what=what)
    if skipped:
        progress("  skipped " + ", ".join(f"{n:,} {why}" for why, n in skipped.items()))
    if features:
        lon = [f["geometry"]["coordinates"][0] for f in features]
        lat = [f["geometry"]["coordinates"][1] for f in features]
        x, y = wgs84_to_rd().transform(lon, lat)
        keep = area.keep(shapely.points(x, y))
        dropped = int((~keep).sum())
        features = [f for f, k in zip(features, keep, strict=True) if k]
        if dropped:
            progress(f"  left out {dropped:,} points outside {area.label}")
    if not features:
        raise FetchError(f"{what}: Overpass returned no service points ({len(body['elements'])} elements)")
    unspecified = sum(DOCTORS_UNSPECIFIED in f["properties"]["osm_tag"] for f in features)
    if unspecified:
        progress(
            f"  {unspecified:,} GP point(s) are {DOCTORS_UNSPECIFIED}: amenity=doctors without "
            "healthcare:speciality (kept as GP; their osm_tag says so)"
        )
    progress(f"  {what}: {len(features):,} points")
    path = write_geojson(config.cache_dir / "downloads" / f"osm_services_{area.label}.geojson", features, epsg=4326)
    return [Download("points", path, f"osm:services:{area.label}", {"year": date.today().year})]


def network_query(area: Area, *, timeout: int = 300) -> str:
    """The Overpass QL query for every highway and ferry way in the area's bounding box, with their nodes
    (the walking rules are applied when the file is loaded, :func:`geo.network.rules.walkable`)."""
    south, west, north, east = area.bbox_wgs84()
    box = f"({south:.6f},{west:.6f},{north:.6f},{east:.6f})"
    return (
        f'[out:json][timeout:{timeout}];\n(\n  way["highway"]{box};\n  way["route"="ferry"]{box};\n);\n'
        "(._;>;);\nout body qt;"
    )


def fetch_network(client: HttpClient, config: FetchConfig, area: Area, *, progress=lambda _m: None) -> list[Download]:
    """The street network from OSM in the area's bounding box, as one ``network`` file (OSM PBF)."""
    from geo.network.osm import write_osm

    what = f"Overpass street network in {area.label}"
    progress(f"  {what}: one query for highway and ferry ways (this can take minutes)")
    body = client.post_json(config.overpass_url, {"data": network_query(area)}, what=what)
    if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
        raise FetchError(f"{what} ({config.overpass_url}): not an Overpass JSON answer (no 'elements' list)")
    remark = str(body.get("remark") or "")
    if "error" in remark.lower() or "timed out" in remark.lower():
        raise FetchError(f"{what} ({config.overpass_url}): the server stopped the query: {remark.strip()}")
    ways = sum(1 for e in body["elements"] if isinstance(e, dict) and e.get("type") == "way")
    if not ways:
        raise FetchError(f"{what}: Overpass returned no ways ({len(body['elements'])} elements)")
    try:
        path = write_osm(body["elements"], config.cache_dir / "downloads" / f"osm_network_{area.label}.osm.pbf")
    except (KeyError, TypeError, ValueError) as exc:
        raise FetchError(f"{what}: an element lacks its id, coordinates or node list ({exc})") from exc
    progress(f"  {what}: {ways:,} ways")
    return [Download("network", path, f"osm:network:{area.label}", {"year": date.today().year})]
