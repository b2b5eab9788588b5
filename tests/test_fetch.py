"""``opvangmatch fetch`` without internet: local stand-in servers that answer in each service's format.

The stand-ins speak PDOK's OGC API - Features (GeoJSON pages with ``links`` rel=next, ``numberReturned``,
``numberMatched``), Overpass JSON (``elements`` with ``center`` and meta) and the Locatieserver
(``response.numFound`` / ``response.docs``), count every request, and can answer 429/503, stall, cut
an answer short or return nothing. The loads go into a real PostGIS database.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import shapely
import sqlalchemy as sa

from geo.db import prepare_database
from geo.errors import DataError, InputError, NotFoundError
from geo.fetch.area import Area, parse_bbox, resolve_area
from geo.fetch.config import FetchConfig
from geo.fetch.geocode import fetch_geocode, parse_house_number, read_addresses
from geo.fetch.http import FetchError, HttpClient, request_key, retry_after
from geo.fetch.overpass import fetch_osm, overpass_query
from geo.fetch.pdok import RD_URI, fetch_bag, fetch_boundaries, fetch_cbs
from geo.fetch.store import load_downloads
from geo.io import load, prepare
from tests.conftest import DATA, fingerprint
from tests.helpers import cli_env, opvangmatch

REGISTER = DATA / "services/apotheken_vestigingen_igj_20260102.csv"


# --- the stand-in server -------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: object = None  # JSON-able, or bytes as they are
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    cut: int | None = None  # send only this many bytes of the body, but announce all of them

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    form: dict


class StandIn:
    """A local HTTP server; ``routes[path]`` is a function of the request returning a :class:`Reply`,
    or a list of replies given in turn (the last one repeats)."""

    def __init__(self):
        self.routes: dict = {}
        self.seen: list[Seen] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, method: str):
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode()) if length else {}
                request = Seen(method, split.path, parse_qs(split.query), form)
                stand_in.seen.append(request)
                route = stand_in.routes.get(split.path)
                if route is None:
                    reply = Reply(404, {"detail": f"no route {split.path}"})
                elif isinstance(route, list):
                    reply = route.pop(0) if len(route) > 1 else route[0]
                else:
                    reply = route(request)
                time.sleep(reply.delay)
                data = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data[: reply.cut] if reply.cut is not None else data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path_part: str = "") -> int:
        return sum(path_part in s.path for s in self.seen)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def server():
    stand_in = StandIn()
    yield stand_in
    stand_in.close()


def client_for(cache: Path, **kw) -> HttpClient:
    options = {"timeout": 2.0, "retries": 2, "min_interval": 0.0, "backoff": 0.01}
    return HttpClient(cache, **(options | kw))


def config_for(server: StandIn, cache: Path) -> FetchConfig:
    return FetchConfig(pdok_url=server.url, overpass_url=f"{server.url}/api/interpreter", cache_dir=cache)


def ogc_pages(server: StandIn, path: str, features: list[dict], size: int, *, matched: bool = True):
    """An OGC API items route serving ``features`` ``size`` at a time with ``next`` links (cursor paging)."""

    def answer(request: Seen) -> Reply:
        start = int(request.query.get("cursor", ["0"])[0])
        page = features[start : start + size]
        body = {"type": "FeatureCollection", "numberReturned": len(page), "features": page, "links": []}
        if matched:
            body["numberMatched"] = len(features)
        body["links"].append({"rel": "self", "href": f"{server.url}{path}?cursor={start}"})
        if start + size < len(features):
            href = f"{server.url}{path}?f=json&limit={size}&cursor={start + size}&crs={RD_URI}"
            body["links"].append({"rel": "next", "type": "application/geo+json", "href": href})
        return Reply(200, body, {"Content-Type": "application/geo+json", "Content-Crs": f"<{RD_URI}>"})

    server.routes[path] = answer


# --- a database with the municipalities, and test geometry inside Doesburg -----------------------------


@pytest.fixture(scope="module")
def fetch_engine(databases):
    engine = prepare_database(databases.create("fetch"))
    load(engine, "municipalities", DATA / "cbs/gemeenten_2024_kwb.geojson")
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def doesburg(fetch_engine) -> Area:
    return resolve_area(fetch_engine, municipality="GM0221")


def squares(area: Area, n: int, *, size: float = 8.0) -> list[shapely.Polygon]:
    x, y = shapely.get_coordinates(shapely.point_on_surface(area.outline))[0]
    out = [shapely.box(x + 12 * i, y, x + 12 * i + size, y + size) for i in range(n)]
    assert shapely.contains(area.outline, out).all()
    return out


def pand(ident: str, geom, bouwjaar: int) -> dict:
    return {
        "type": "Feature",
        "id": f"uuid-{ident}",
        "geometry": json.loads(shapely.to_geojson(geom)),
        "properties": {"identificatie": ident, "bouwjaar": bouwjaar, "status": "Pand in gebruik"},
    }


def vbo(ident: str, point, pand_id: str, use: str, area_m2: int, *, link: bool = False) -> dict:
    props = {
        "identificatie": ident,
        "gebruiksdoel": use,
        "oppervlakte": area_m2,
        "status": "Verblijfsobject in gebruik",
    }
    if link:
        props["pand.href"] = [f"https://api.pdok.nl/kadaster/bag/ogc/v2/collections/pand/items/{pand_id}"]
    else:
        props["pand_identificatie"] = pand_id
    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(point)), "properties": props}


AMSTERDAM = shapely.box(121_000, 487_000, 121_010, 487_010)  # inside the Netherlands, outside Doesburg


def bag_routes(server: StandIn, area: Area, n: int = 5) -> list[dict]:
    boxes = squares(area, n)
    panden = [pand(f"022110000090000{i}", g, 1900 + i) for i, g in enumerate(boxes)]
    panden.append(pand("036310000099999", AMSTERDAM, 2000))
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/pand/items", panden, 2)
    vbos = [
        vbo(
            "0221010000900001", shapely.centroid(boxes[0]), panden[0]["properties"]["identificatie"], "woonfunctie", 85
        ),
        vbo(
            "0221010000900002",
            shapely.centroid(boxes[1]),
            panden[1]["properties"]["identificatie"],
            "kantoorfunctie,woonfunctie",
            240,
            link=True,
        ),
    ]
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/verblijfsobject/items", vbos, 10)
    return panden


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


# --- PDOK OGC API - Features ----------------------------------------------------------------------------


def test_bag_pages_through_next_links_and_loads_buildings_and_residences(server, tmp_path, fetch_engine, doesburg):
    bag_routes(server, doesburg)
    config, messages = config_for(server, tmp_path), []
    with client_for(tmp_path) as client:
        downloads = fetch_bag(client, config, doesburg, progress=messages.append)
    assert server.count("/pand/items") == 3  # 6 panden, 2 per page
    first = next(s for s in server.seen if s.path.endswith("/pand/items"))
    assert first.query["crs"] == [RD_URI] and first.query["bbox-crs"] == [RD_URI] and first.query["f"] == ["json"]
    bbox = [float(v) for v in first.query["bbox"][0].split(",")]
    assert bbox == pytest.approx(list(doesburg.bbox), abs=0.01)
    assert any("left out 1 features outside GM0221" in m for m in messages)
    assert any("page 3, 6 of 6 features" in m for m in messages)

    reports = load_downloads(fetch_engine, downloads)
    assert [r.rows for r in reports] == [5, 2]
    assert scalar(fetch_engine, "SELECT count(*) FROM building WHERE source = 'pdok-bag:pand:GM0221'") == 5
    assert scalar(fetch_engine, "SELECT min(build_year) FROM building WHERE source = 'pdok-bag:pand:GM0221'") == 1900
    assert scalar(fetch_engine, "SELECT count(*) FROM building WHERE id = '036310000099999'") == 0
    with fetch_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, building_ids, use, floor_area FROM residence ORDER BY id")).all()
    assert rows == [
        ("0221010000900001", ["0221100000900000"], "woonfunctie", 85.0),
        ("0221010000900002", ["0221100000900001"], "kantoorfunctie,woonfunctie", 240.0),
    ]


def test_a_second_run_reads_the_cache_and_makes_no_request(server, tmp_path, fetch_engine, doesburg):
    bag_routes(server, doesburg)
    config = config_for(server, tmp_path)
    with client_for(tmp_path) as client:
        first = fetch_bag(client, config, doesburg)
    before = len(server.seen)
    assert before == 4 and client.network_requests == 4
    with client_for(tmp_path) as again:
        second = fetch_bag(again, config, doesburg)
    assert len(server.seen) == before  # zero requests
    assert again.network_requests == 0 and again.cache_hits == 4
    assert [d.path.read_bytes() for d in first] == [d.path.read_bytes() for d in second]
    with client_for(tmp_path, refresh=True) as fresh:
        fetch_bag(fresh, config, doesburg)
    assert len(server.seen) == before + 4 and fresh.cache_hits == 0


def test_the_cache_is_keyed_by_the_whole_request():
    base = request_key("GET", "http://x/items", {"bbox": "1,2,3,4", "f": "json"})
    assert base == request_key("GET", "http://x/items", {"f": "json", "bbox": "1,2,3,4"})
    assert base != request_key("GET", "http://x/items", {"bbox": "1,2,3,5", "f": "json"})
    assert base != request_key("POST", "http://x/items", {"bbox": "1,2,3,4", "f": "json"})
    assert request_key("POST", "http://x/i", data={"data": "a"}) != request_key(
        "POST", "http://x/i", data={"data": "b"}
    )


def test_cbs_retries_429_and_503_honouring_retry_after(server, tmp_path, fetch_engine, doesburg):
    wijk = shapely.buffer(shapely.point_on_surface(doesburg.outline), 50)
    wijken = {
        "type": "FeatureCollection",
        "numberReturned": 1,
        "links": [],
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(wijk)),
                "properties": {
                    "wijkcode": "WK022101",
                    "wijknaam": "Wijk 01",
                    "gemeentecode": "GM0221",
                    "aantal_inwoners": 1200,
                    "aantal_huishoudens": 560,
                },
            }
        ],
    }
    buurten = json.loads(json.dumps(wijken))
    buurten["features"][0]["properties"] = {
        "buurtcode": "BU02210101",
        "buurtnaam": "Buurt 01",
        "wijkcode": "WK022101",
        "gemeentecode": "GM0221",
        "aantal_inwoners": -99999999,
        "aantal_huishoudens": 300,
    }
    server.routes["/cbs/wijken-en-buurten-2024/ogc/v1/collections/wijken/items"] = [
        Reply(429, {"detail": "too many requests"}, {"Retry-After": "1"}),
        Reply(503, b"busy", {"Retry-After": "0"}),
        Reply(200, wijken),
    ]
    server.routes["/cbs/wijken-en-buurten-2024/ogc/v1/collections/buurten/items"] = [Reply(200, buurten)]
    messages = []
    started = time.monotonic()
    with client_for(tmp_path, progress=messages.append) as client:
        downloads = fetch_cbs(client, config_for(server, tmp_path), doesburg, year=2024)
    assert time.monotonic() - started >= 1.0  # waited as Retry-After asked
    assert server.count("/wijken/items") == 3 and server.count("/buurten/items") == 1
    assert [s.query.get("gemeentecode") for s in server.seen] == [["GM0221"]] * 4
    assert "HTTP 429" in messages[0] and "retry 1/2 in 1 s" in messages[0] and "HTTP 503" in messages[1]
    load_downloads(fetch_engine, downloads)
    with fetch_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT code, population, households, year FROM district")).all() == [
            ("WK022101", 1200, 560, 2024)
        ]
        assert conn.execute(sa.text("SELECT code, population, households FROM neighbourhood")).all() == [
            ("BU02210101", None, 300)
        ]


def test_retry_after_as_seconds_or_date():
    assert retry_after("3", default=9) == 3
    assert retry_after(None, default=9) == 9
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", default=9) == 0  # in the past: go now
    assert retry_after("soon", default=9) == 9


def test_a_timeout_names_the_url_and_page(server, tmp_path, doesburg):
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [Reply(200, {"features": []}, delay=1.0)]
    with client_for(tmp_path, timeout=0.2, retries=1) as client, pytest.raises(FetchError) as info:
        fetch_bag(client, config_for(server, tmp_path), doesburg)
    message = str(info.value)
    assert "BAG pand in GM0221, page 1" in message and "/kadaster/bag/ogc/v2/collections/pand/items" in message
    assert "timeout" in message and "after 2 attempts" in message
    assert server.count("/pand/items") == 2


def test_a_truncated_page_stops_everything_and_is_not_cached(server, tmp_path, fetch_engine, doesburg):
    panden = bag_routes(server, doesburg)
    good = server.routes["/kadaster/bag/ogc/v2/collections/pand/items"]

    def cut_page_two(request):
        reply = good(request)
        if request.query.get("cursor") == ["2"]:
            reply.cut = None
            reply.body = reply.payload()[:150]
        return reply

    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = cut_page_two
    before = fingerprint(fetch_engine)
    with client_for(tmp_path) as client, pytest.raises(FetchError) as info:
        fetch_bag(client, config_for(server, tmp_path), doesburg)
    assert "page 2" in str(info.value) and "not complete JSON" in str(info.value) and "cursor=2" in str(info.value)
    assert fingerprint(fetch_engine) == before
    # the broken page was not cached: once the server is well, the run completes
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = good
    with client_for(tmp_path) as client:
        downloads = fetch_bag(client, config_for(server, tmp_path), doesburg)
    assert client.cache_hits == 1  # page 1 only
    assert len(json.loads(downloads[0].path.read_text())["features"]) == len(panden) - 1


def test_a_connection_cut_mid_answer_is_retried_then_reported(server, tmp_path, doesburg):
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [Reply(200, {"features": [1] * 500}, cut=100)]
    with client_for(tmp_path, retries=1) as client, pytest.raises(FetchError) as info:
        fetch_bag(client, config_for(server, tmp_path), doesburg)
    assert "connection broke off" in str(info.value) and "page 1" in str(info.value)
    assert server.count("/pand/items") == 2


def test_numbers_that_disagree_mean_a_truncated_answer(server, tmp_path, doesburg):
    feature = pand("0221100000900009", squares(doesburg, 1)[0], 1990)
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [
        Reply(200, {"type": "FeatureCollection", "numberReturned": 2, "features": [feature], "links": []})
    ]
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="numberReturned is 2 but the page holds 1"):
        fetch_bag(client, config_for(server, tmp_path), doesburg)
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [
        Reply(200, {"type": "FeatureCollection", "numberMatched": 7, "features": [feature], "links": []})
    ]
    with client_for(tmp_path, refresh=True) as client, pytest.raises(FetchError, match="numberMatched is 7"):
        fetch_bag(client, config_for(server, tmp_path), doesburg)


def test_an_empty_result_is_an_error_not_an_empty_load(server, tmp_path, doesburg):
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/pand/items", [], 10)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="BAG pand in GM0221: the service returned no"):
        fetch_bag(client, config_for(server, tmp_path), doesburg)


def test_a_failure_in_the_second_collection_leaves_the_demo_database_unchanged(
    server, tmp_path, demo_engine, unchanged
):
    area = resolve_area(demo_engine, municipality="GM0221")
    bag_routes(server, area)
    server.routes["/kadaster/bag/ogc/v2/collections/verblijfsobject/items"] = [Reply(500, b"internal error")]
    with client_for(tmp_path) as client, pytest.raises(FetchError) as info:
        downloads = fetch_bag(client, config_for(server, tmp_path), area)
        load_downloads(demo_engine, downloads)
    assert "BAG verblijfsobject in GM0221, page 1" in str(info.value) and "HTTP 500" in str(info.value)
    assert server.count("/verblijfsobject/items") == 1  # a 500 is not retried


def test_a_load_is_all_or_nothing_when_one_file_is_bad(server, tmp_path, demo_engine, unchanged):
    area = resolve_area(demo_engine, municipality="GM0221")
    bag_routes(server, area)
    point = shapely.centroid(shapely.union_all(squares(area, 2)))
    twice = [vbo("0221010000900003", point, "0221100000900000", "woonfunctie", 50) for _ in range(2)]
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/verblijfsobject/items", twice, 10)
    with client_for(tmp_path) as client:
        downloads = fetch_bag(client, config_for(server, tmp_path), area)
    with pytest.raises(DataError) as info:
        load_downloads(demo_engine, downloads)  # the panden file was fine, but nothing is written
    assert "bag_verblijfsobject_GM0221.geojson, feature 2" in str(info.value) and "duplicate id" in str(info.value)


def test_boundaries_load_provinces_and_municipalities_by_identificatie(server, tmp_path, empty_settings):
    engine = prepare_database(empty_settings)
    square = shapely.box(190_000, 440_000, 200_000, 450_000)
    shape = json.loads(shapely.to_geojson(square))
    provinces = [
        {
            "type": "Feature",
            "geometry": shape,
            "properties": {"identificatie": "PV25", "code": "25", "naam": "Gelderland"},
        }
    ]
    municipalities = [
        {
            "type": "Feature",
            "geometry": shape,
            "properties": {
                "identificatie": "GM0221",
                "code": "0221",
                "naam": "Doesburg",
                "ligt_in_provincie_code": "25",
            },
        }
    ]
    ogc_pages(server, "/kadaster/bestuurlijkegebieden/ogc/v1/collections/provinciegebied/items", provinces, 100)
    ogc_pages(server, "/kadaster/bestuurlijkegebieden/ogc/v1/collections/gemeentegebied/items", municipalities, 100)
    with client_for(tmp_path) as client:
        load_downloads(engine, fetch_boundaries(client, config_for(server, tmp_path)))
    area = resolve_area(engine, municipality="gm0221")
    assert area.label == "GM0221" and area.bbox == (190_000, 440_000, 200_000, 450_000)
    assert scalar(engine, "SELECT name FROM province WHERE code = 'PV25'") == "Gelderland"
    engine.dispose()


# --- the area -------------------------------------------------------------------------------------------


def test_the_area_must_be_loaded_and_given_once(fetch_engine, empty_settings):
    with pytest.raises(NotFoundError, match="municipality GM9999 is not in the database: it is not among the 342"):
        resolve_area(fetch_engine, municipality="GM9999")
    with pytest.raises(InputError, match="give exactly one area"):
        resolve_area(fetch_engine, municipality="GM0221", bbox="1,2,3,4")
    with pytest.raises(InputError, match="give exactly one area"):
        resolve_area(fetch_engine)
    engine = prepare_database(empty_settings)
    with pytest.raises(NotFoundError, match="the province table is empty: load the regions first"):
        resolve_area(engine, province="PV28")
    engine.dispose()
    with pytest.raises(InputError, match="outside the Netherlands in RD metres"):
        parse_bbox("4.1,51.9,4.2,52.0")
    assert parse_bbox("100000,400000,101000,401000") == (100000, 400000, 101000, 401000)


# --- Overpass -------------------------------------------------------------------------------------------


def overpass_answer(area: Area, elements: list[dict]) -> dict:
    return {
        "version": 0.6,
        "generator": "Overpass API 0.7.62",
        "osm3s": {"timestamp_osm_base": "2026-01-10T10:00:00Z", "copyright": "ODbL"},
        "elements": elements,
    }


def lonlat_in(area: Area, dx: float = 0.0) -> tuple[float, float]:
    from pyproj import Transformer

    x, y = shapely.get_coordinates(shapely.point_on_surface(area.outline))[0]
    lon, lat = Transformer.from_crs(28992, 4326, always_xy=True).transform(x + dx, y)
    return lon, lat


def test_overpass_points_keep_id_timestamp_and_category(server, tmp_path, fetch_engine, doesburg):
    (lon, lat), (lon2, lat2) = lonlat_in(doesburg), lonlat_in(doesburg, 40)
    meta = {"version": 3, "timestamp": "2024-05-01T12:00:00Z", "changeset": 1, "user": "x", "uid": 1}
    elements = [
        {"type": "node", "id": 11, "lat": lat, "lon": lon, "tags": {"amenity": "doctors", "name": "Huisarts"}, **meta},
        {"type": "node", "id": 12, "lat": lat, "lon": lon, "tags": {"healthcare": "general_practitioner"}, **meta},
        {
            "type": "way",
            "id": 13,
            "center": {"lat": lat2, "lon": lon2},
            "nodes": [1, 2, 3, 1],
            "tags": {"shop": "supermarket", "name": "Super"},
            **meta,
        },
        {"type": "node", "id": 14, "lat": lat, "lon": lon, "tags": {"railway": "station", "station": "subway"}},
        {"type": "node", "id": 15, "lat": lat, "lon": lon, "tags": {"amenity": "school", "isced:level": "1;2"}},
        {"type": "node", "id": 16, "lat": lat, "lon": lon, "tags": {"amenity": "school"}},
        {"type": "node", "id": 17, "lat": 52.37, "lon": 4.89, "tags": {"amenity": "pharmacy"}},
    ]
    server.routes["/api/interpreter"] = [Reply(200, overpass_answer(doesburg, elements))]
    messages = []
    with client_for(tmp_path) as client:
        downloads = fetch_osm(client, config_for(server, tmp_path), doesburg, progress=messages.append)
    (request,) = server.seen
    query = request.form["data"][0]
    assert request.method == "POST" and query.startswith("[out:json]") and query.rstrip().endswith("out center meta;")
    assert 'node["amenity"="doctors"]' in query and 'way["shop"="supermarket"]' in query
    assert any("1 school without isced:level" in m for m in messages)
    assert any("left out 1 points outside GM0221" in m for m in messages)
    load_downloads(fetch_engine, downloads)
    with fetch_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT external_id, category, name, attributes->>'osm_timestamp' FROM service "
                "WHERE source = 'osm:services:GM0221' ORDER BY external_id"
            )
        ).all()
    assert rows == [
        ("node/11", "gp", "Huisarts", "2024-05-01T12:00:00+00:00"),
        ("node/12", "gp", None, "2024-05-01T12:00:00+00:00"),
        ("node/14", "tram_metro_stop", None, None),
        ("node/15/primary_school", "primary_school", None, None),
        ("node/15/secondary_school", "secondary_school", None, None),
        ("way/13", "supermarket", "Super", "2024-05-01T12:00:00+00:00"),
    ]


def test_overpass_error_remark_and_empty_answer(server, tmp_path, doesburg):
    answer = overpass_answer(doesburg, [])
    answer["remark"] = 'runtime error: Query timed out in "query" at line 3 after 301 seconds.'
    server.routes["/api/interpreter"] = [Reply(200, answer)]
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="the server stopped the query: runtime error"):
        fetch_osm(client, config_for(server, tmp_path), doesburg)
    server.routes["/api/interpreter"] = [Reply(200, overpass_answer(doesburg, []))]
    with client_for(tmp_path, refresh=True) as client, pytest.raises(FetchError, match="no service points"):
        fetch_osm(client, config_for(server, tmp_path), doesburg)


def test_the_overpass_query_asks_for_every_table_row(doesburg):
    from geo.io.services import OSM_TAGS

    query = overpass_query(doesburg)
    south, west, north, east = doesburg.bbox_wgs84()
    assert 51.9 < south < north < 52.1 and 6.0 < west < east < 6.3
    for key, value in [*OSM_TAGS, ("amenity", "school")]:
        assert f'node["{key}"="{value}"]' in query and f'way["{key}"="{value}"]' in query


# --- Locatieserver geocoding ----------------------------------------------------------------------------


def test_house_numbers_from_the_pharmacy_register():
    assert parse_house_number("Drie Kolommenplein 1 A") == (1, "A", "")
    assert parse_house_number("Poldermeesterplein 16 -18") == (16, "", "")
    assert parse_house_number("Ophelialaan 114 ") == (114, "", "")
    assert parse_house_number("Business Park Stein 414  -415-417") == (414, "", "")
    assert parse_house_number("Cloosterstraat 41  -41A") == (41, "", "")
    assert parse_house_number("De Lairessestraat 40 HS") == (40, "", "HS")
    assert parse_house_number("Plein 1969 13 a") == (13, "A", "")
    assert parse_house_number("Laan van de Helende Meesters 8 K24") == (8, "", "K24")
    for unclear in (
        "Meenthoek 3 Unit 1",
        "Hoogvlietsekerkweg 126 A en 124 B",
        "Dorpstraat 21 B-C",
        "Wg-Plein 100 unit 360/363",
    ):
        assert parse_house_number(unclear) is None


def test_the_whole_register_parses_except_the_unclear_forms():
    addresses = read_addresses(REGISTER)
    assert len(addresses) == 1988
    problems = [a for a in addresses if a.problem]
    assert len(problems) == 20  # measured: the odd forms (Unit, Ingang, Kamer, "en", "/") and 5 bad postcodes
    assert sum("postcode" in a.problem for a in problems) == 5


def locatieserver(server: StandIn, bag: dict[str, list[dict]]):
    """Answers like the Locatieserver free endpoint: the docs of postcode+huisnummer from ``bag``."""

    def answer(request: Seen) -> Reply:
        filters = request.query.get("fq", [])
        assert "type:adres" in filters
        key = next(f for f in filters if f.startswith("postcode:"))
        docs = bag.get(key, [])
        return Reply(200, {"response": {"numFound": len(docs), "start": 0, "maxScore": 9.1, "docs": docs}})

    server.routes["/bzk/locatieserver/search/v3_1/free"] = answer


def adres(postcode: str, number: int, letter: str = "", toevoeging: str = "", x: float = 120_000, y: float = 480_000):
    doc = {
        "type": "adres",
        "weergavenaam": f"Straat {number}{letter}, {postcode} Plaats",
        "id": f"adr-{postcode}{number}{letter}",
        "postcode": postcode,
        "huisnummer": number,
        "centroide_ll": "POINT(4.8 52.3)",
        "centroide_rd": f"POINT({x} {y})",
        "nummeraanduiding_id": f"0000200000{number:06d}",
        "gemeentecode": "0358",
    }
    if letter:
        doc["huisletter"] = letter
    if toevoeging:
        doc["huisnummertoevoeging"] = toevoeging
    return doc


def test_geocoding_places_exact_matches_only_and_reports_the_rest(server, tmp_path, fetch_engine):
    rows = list(csv.reader(REGISTER.open(encoding="utf-8"), delimiter=";"))
    sample = tmp_path / "apotheken_sample.csv"
    with open(sample, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows(rows[:4])  # header + Aalsmeer x3
        handle.write("1;Apotheek zonder nummer;Meenthoek 3 Unit 1;1234 AB;ERGENS\n")
    # 1431 LA 1 A exists; 1432 JZ 16 only as 16-1 (no exact 16); 1431 HM 114 does not exist at all
    locatieserver(
        server,
        {
            "postcode:1431LA AND huisnummer:1": [adres("1431LA", 1), adres("1431LA", 1, "A", x=111_000, y=475_000)],
            "postcode:1432JZ AND huisnummer:16": [adres("1432JZ", 16, toevoeging="1")],
        },
    )
    messages = []
    with client_for(tmp_path) as client:
        downloads, report, counts = fetch_geocode(
            client, config_for(server, tmp_path), sample, category="pharmacy", progress=messages.append
        )
    assert counts == {"placed": 1, "no exact match": 2, "not parsed": 1}
    assert server.count("/locatieserver/") == 3  # the unparsed line is not asked
    with open(report, encoding="utf-8") as handle:
        unplaced = list(csv.DictReader(handle, delimiter=";"))
    reasons = {r["line"]: r["reason"] for r in unplaced}
    assert reasons["3"] == "no exact match for 1432JZ 16; BAG has 16-1"
    assert reasons["4"] == "no BAG address 1431HM 114"
    assert reasons["5"] == "house number not understood"
    load_downloads(fetch_engine, downloads)
    with fetch_engine.connect() as conn:
        placed = conn.execute(
            sa.text(
                "SELECT category, name, external_id, ST_X(geom), ST_Y(geom) FROM service WHERE source LIKE 'geocode:%'"
            )
        ).all()
    assert placed == [("pharmacy", "Apotheek Groen Aalsmeer", "34024167@1431LA1A", 111_000.0, 475_000.0)]


def test_a_broken_locatieserver_answer_is_named(server, tmp_path):
    sample = tmp_path / "one.csv"
    sample.write_text("postcode;huisnummer;naam\n1431 LA;1;A\n", encoding="utf-8")
    server.routes["/bzk/locatieserver/search/v3_1/free"] = [Reply(200, {"docs": []})]
    with client_for(tmp_path) as client, pytest.raises(FetchError, match=r"line 2 .*not a Locatieserver answer"):
        fetch_geocode(client, config_for(server, tmp_path), sample, category="pharmacy")
    locatieserver(server, {})
    with client_for(tmp_path, refresh=True) as client, pytest.raises(FetchError, match="no address could be placed"):
        fetch_geocode(client, config_for(server, tmp_path), sample, category="pharmacy")


# --- the loaders accept PDOK's OGC API field names --------------------------------------------------------


def test_residence_loader_reads_pand_links_and_building_loader_reads_bouwjaar(tmp_path):
    from geo.fetch.store import write_geojson

    point = shapely.Point(200_000, 445_000)
    path = write_geojson(
        tmp_path / "vbo.geojson",
        [vbo("0221010000900001", point, "0221100000900000", "woonfunctie", 70, link=True)],
        epsg=28992,
    )
    frame = prepare("residences", path).frame
    assert frame["building_ids"].tolist() == [["0221100000900000"]] and frame["floor_area"].tolist() == [70.0]
    path = write_geojson(
        tmp_path / "pand.geojson", [pand("0221100000900000", shapely.buffer(point, 5), 1931)], epsg=28992
    )
    assert prepare("buildings", path).frame["build_year"].tolist() == [1931]


# --- the command line -------------------------------------------------------------------------------------


def fetch_env(settings, server: StandIn, cache: Path) -> dict:
    return cli_env(
        settings, cache, OPVANGMATCH_PDOK_URL=server.url, OPVANGMATCH_OVERPASS_URL=f"{server.url}/api/interpreter"
    )


def test_cli_fetch_reports_errors_without_traceback(server, tmp_path, demo_settings, unchanged):
    env = fetch_env(demo_settings, server, tmp_path)
    missing = opvangmatch(["fetch", "bag", "--municipality", "GM9999", "--cache-dir", str(tmp_path)], env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "opvangmatch: error: municipality GM9999 is not in the database" in missing.stderr
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [Reply(404, {"detail": "collection not found"})]
    failed = opvangmatch(["fetch", "bag", "--municipality", "GM0221", "--cache-dir", str(tmp_path)], env)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "BAG pand in GM0221, page 1: GET http://127.0.0.1" in failed.stderr and "HTTP 404" in failed.stderr
    unknown = opvangmatch(["fetch", "weather", "--municipality", "GM0221"], env)
    assert unknown.returncode == 2 and "unknown source 'weather'" in unknown.stderr


def test_cli_fetch_osm_loads_and_a_rerun_uses_the_cache(server, tmp_path, databases, fetch_engine, doesburg):
    settings = databases.settings_for(fetch_engine.url.database)
    lon, lat = lonlat_in(doesburg)
    element = {"type": "node", "id": 99, "lat": lat, "lon": lon, "tags": {"amenity": "library", "name": "Bieb"}}
    server.routes["/api/interpreter"] = [Reply(200, overpass_answer(doesburg, [element]))]
    env = fetch_env(settings, server, tmp_path)
    args = ["fetch", "osm", "--municipality", "GM0221", "--cache-dir", str(tmp_path / "cache")]
    first = opvangmatch(args, env)
    assert first.returncode == 0, first.stderr
    assert "osm:services:GM0221: 1 rows into service" in first.stdout
    assert "1 network requests, 0 answers from the cache" in first.stderr
    second = opvangmatch(args, env)
    assert second.returncode == 0, second.stderr
    assert "0 network requests, 1 answers from the cache" in second.stderr
    assert "(replaced 1)" in second.stdout
    assert server.count() == 1


def test_overpass_network_is_cached_and_loaded_as_a_walking_network(server, tmp_path, fetch_engine, doesburg):
    """A constructed street answer: two footways meeting at a node, a motorway (left out) and a private
    service road (left out)."""
    from geo.fetch.overpass import fetch_network

    (lon, lat) = lonlat_in(doesburg)
    nodes = [{"type": "node", "id": i, "lat": lat + i * 0.0005, "lon": lon} for i in range(1, 5)]
    nodes += [{"type": "node", "id": 9, "lat": lat, "lon": lon + 0.001}]
    ways = [
        {"type": "way", "id": 101, "nodes": [1, 2], "tags": {"highway": "footway"}},
        {"type": "way", "id": 102, "nodes": [2, 3, 9], "tags": {"highway": "residential", "name": "Straat <&>"}},
        {"type": "way", "id": 103, "nodes": [3, 4], "tags": {"highway": "motorway"}},
        {"type": "way", "id": 104, "nodes": [4, 1], "tags": {"highway": "service", "access": "private"}},
    ]
    server.routes["/api/interpreter"] = [Reply(200, overpass_answer(doesburg, nodes + ways))]
    with client_for(tmp_path) as client:
        downloads = fetch_network(client, config_for(server, tmp_path), doesburg)
    (request,) = server.seen
    assert 'way["highway"]' in request.form["data"][0] and "(._;>;)" in request.form["data"][0]
    with client_for(tmp_path) as client:  # the second run reads the cache
        again = fetch_network(client, config_for(server, tmp_path), doesburg)
        assert client.network_requests == 0 and again[0].path == downloads[0].path
    (report,) = load_downloads(fetch_engine, downloads)
    assert report.table == "network_edge" and report.rows == 2
    with fetch_engine.connect() as conn:
        kinds = conn.execute(sa.text("SELECT kind, osm_way_id FROM network_edge ORDER BY osm_way_id")).all()
    assert kinds == [("footway", 101), ("residential", 102)]
