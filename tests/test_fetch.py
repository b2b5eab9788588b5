"""``opvangmatch fetch`` without internet: local stand-in servers that answer like the real services.

The stand-ins are built from real captured answers and the servers' own source, listed with their
origin in ``tests/fixtures/captured_service_answers.json`` (CAPTURED below):

- PDOK OGC API - Features as GoKoala serves it (github.com/PDOK/gokoala ``internal/ogc/features/url.go``):
  UUID feature ids, BAG v2 relations as ``pand.href`` links ending in the pand's UUID, cursor paging by
  ``rel=next`` links, ``numberReturned`` and no ``numberMatched``, a ``queryables`` document, and HTTP 400
  problem+json "unknown query parameter(s) found" for any parameter that is not standard or a filter.
- Overpass JSON (``elements`` with ``center`` and meta; error ``remark`` texts; ``/api/status`` pages).
- The Locatieserver (``response.numFound`` / ``response.docs``; only the OpenAPI's parameters, ``rows`` <= 100).

They count every request, and can answer 429/503, stall, cut an answer short or return nothing. The
loads go into a real PostGIS database.
"""

from __future__ import annotations

import csv
import json
import threading
import time
import uuid
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
CAPTURED = json.loads((Path(__file__).parent / "fixtures/captured_service_answers.json").read_text(encoding="utf-8"))
BAG_ITEMS = "https://api.pdok.nl/kadaster/bag/ogc/v2/collections/{collection}/items/{id}"


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


def problem(name: str) -> Reply:
    """GoKoala's answer to an unknown query parameter (CAPTURED['gokoala_unknown_parameter'])."""
    spec = CAPTURED["gokoala_unknown_parameter"]
    body = dict(spec["body"], detail=spec["body"]["detail"].format(name=name))
    return Reply(spec["status"], body, {"Content-Type": "application/problem+json"})


def ogc_pages(server: StandIn, path: str, features: list[dict], size: int, *, filters=("identificatie",)):
    """A GoKoala-like items route serving ``features`` ``size`` at a time (cursor paging by ``next`` links,
    no numberMatched), filterable on ``filters`` only (400 on any other unknown parameter), plus the
    collection's ``queryables`` route listing those filters."""
    known = set(CAPTURED["gokoala_unknown_parameter"]["known_parameters"]) | set(filters)

    def answer(request: Seen) -> Reply:
        unknown = sorted(set(request.query) - known)
        if unknown:
            return problem(unknown[0])
        chosen = [
            f
            for f in features
            if all(str(f["properties"].get(k)) == request.query[k][0] for k in filters if k in request.query)
        ]
        start = int(request.query.get("cursor", ["0"])[0])
        page = chosen[start : start + size]
        self_href = f"{server.url}{path}?cursor={start}&f=json"
        body = {"type": "FeatureCollection", "timeStamp": "2026-01-10T10:00:00Z", "links": [], "features": page}
        body["links"].append({"rel": "self", "type": "application/geo+json", "href": self_href})
        if start + size < len(chosen):
            kept = "".join(f"&{k}={v[0]}" for k, v in request.query.items() if k not in ("cursor", "f"))
            href = f"{server.url}{path}?cursor={start + size}&f=json{kept}"
            body["links"].append({"rel": "next", "title": "Next page", "type": "application/geo+json", "href": href})
        body["numberReturned"] = len(page)
        return Reply(200, body, {"Content-Type": "application/geo+json", "Content-Crs": f"<{RD_URI}>"})

    server.routes[path] = answer
    queryables_route(server, path.rsplit("/items", 1)[0], filters)


def queryables_route(server: StandIn, collection_path: str, filters) -> None:
    """GoKoala's ``/collections/{name}/queryables``: the geometry and the configured filters."""
    queryables_path = f"{collection_path}/queryables"
    shape = CAPTURED["gokoala_queryables"]
    document = json.loads(json.dumps(shape["body"]))
    document["$id"], document["title"] = f"{server.url}{queryables_path}", queryables_path.split("/")[-2]
    document["properties"].update({name: shape["filter_property"] for name in filters})
    server.routes[queryables_path] = lambda request: (
        problem(sorted(set(request.query) - {"f"})[0]) if set(request.query) - {"f"} else Reply(200, document)
    )


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


def feature_id(ident: str) -> str:
    """A stable UUID feature id, as GoKoala gives every BAG v2 feature (not the identificatie)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ident))


def pand(ident: str, geom, bouwjaar: int, status: str = "Pand in gebruik") -> dict:
    return {
        "type": "Feature",
        "properties": {
            "bouwjaar": bouwjaar,
            "identificatie": ident,
            "rdf_seealso": f"http://bag.basisregistraties.overheid.nl/bag/id/pand/{ident}",
            "status": status,
        },
        "geometry": json.loads(shapely.to_geojson(geom)),
        "id": feature_id(ident),
    }


def vbo(ident: str, point, pand_ids, use: str, area_m2: int, *, status: str = "Verblijfsobject in gebruik") -> dict:
    """A BAG v2 verblijfsobject shaped like the captured one: ``pand.href`` links end in the pand's UUID."""
    captured = CAPTURED["bag_v2_verblijfsobject_items"]["feature"]
    pand_ids = [pand_ids] if isinstance(pand_ids, str) else pand_ids
    props = dict(
        captured["properties"],
        identificatie=ident,
        gebruiksdoel=use,
        oppervlakte=area_m2,
        status=status,
        rdf_seealso=f"http://bag.basisregistraties.overheid.nl/bag/id/verblijfsobject/{ident}",
    )
    props["pand.href"] = [BAG_ITEMS.format(collection="pand", id=feature_id(p)) for p in pand_ids]
    return {
        "type": "Feature",
        "properties": props,
        "geometry": json.loads(shapely.to_geojson(point)),
        "id": feature_id(ident),
    }


AMSTERDAM = shapely.box(121_000, 487_000, 121_010, 487_010)  # inside the Netherlands, outside Doesburg


def bag_routes(server: StandIn, area: Area, n: int = 5) -> list[dict]:
    """n standing panden in the area, one demolished, one in Amsterdam; three units, one withdrawn."""
    boxes = squares(area, n + 1)
    panden = [pand(f"022110000090000{i}", g, 1900 + i) for i, g in enumerate(boxes[:n])]
    panden.append(pand("0221100000909999", boxes[n], 1890, "Pand gesloopt"))
    panden.append(pand("0363100000999999", AMSTERDAM, 2000))
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/pand/items", panden, 2)
    vbos = [
        vbo("0221010000900001", shapely.centroid(boxes[0]), "0221100000900000", "woonfunctie", 85),
        vbo("0221010000900002", shapely.centroid(boxes[1]), "0221100000900001", "kantoorfunctie,woonfunctie", 240),
        vbo(
            "0221010000900009",
            shapely.centroid(boxes[n]),
            "0221100000909999",
            "woonfunctie",
            60,
            status="Verblijfsobject ingetrokken",
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
    assert server.count("/pand/items") == 4  # 7 panden, 2 per page
    first = next(s for s in server.seen if s.path.endswith("/pand/items"))
    assert first.query["crs"] == [RD_URI] and first.query["bbox-crs"] == [RD_URI] and first.query["f"] == ["json"]
    bbox = [float(v) for v in first.query["bbox"][0].split(",")]
    assert bbox == pytest.approx(list(doesburg.bbox), abs=0.01)
    assert any("left out 1 features outside GM0221" in m for m in messages)
    assert any("page 4, 7 features" in m for m in messages)

    reports = load_downloads(fetch_engine, downloads)
    assert [r.rows for r in reports] == [5, 2]
    assert [r.skipped for r in reports] == [1, 1]
    assert "left out 1 that no longer or never stood: Pand gesloopt 1" in reports[0].notes
    assert "left out 1 that no longer or never stood: Verblijfsobject ingetrokken 1" in reports[1].notes
    assert scalar(fetch_engine, "SELECT count(*) FROM building WHERE source = 'pdok-bag:pand:GM0221'") == 5
    assert scalar(fetch_engine, "SELECT min(build_year) FROM building WHERE source = 'pdok-bag:pand:GM0221'") == 1900
    assert scalar(fetch_engine, "SELECT count(*) FROM building WHERE id = '0363100000999999'") == 0
    with fetch_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, building_ids, use, floor_area, status FROM residence ORDER BY id")
        ).all()
    assert rows == [
        ("0221010000900001", ["0221100000900000"], "woonfunctie", 85.0, "Verblijfsobject in gebruik"),
        ("0221010000900002", ["0221100000900001"], "kantoorfunctie,woonfunctie", 240.0, "Verblijfsobject in gebruik"),
    ]


def test_a_second_run_reads_the_cache_and_makes_no_request(server, tmp_path, fetch_engine, doesburg):
    bag_routes(server, doesburg)
    config = config_for(server, tmp_path)
    with client_for(tmp_path) as client:
        first = fetch_bag(client, config, doesburg)
    before = len(server.seen)
    assert before == 5 and client.network_requests == 5
    with client_for(tmp_path) as again:
        second = fetch_bag(again, config, doesburg)
    assert len(server.seen) == before  # zero requests
    assert again.network_requests == 0 and again.cache_hits == 5
    assert [d.path.read_bytes() for d in first] == [d.path.read_bytes() for d in second]
    with client_for(tmp_path, refresh=True) as fresh:
        fetch_bag(fresh, config, doesburg)
    assert len(server.seen) == before + 5 and fresh.cache_hits == 0


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
    for collection in ("wijken", "buurten"):  # this stand-in offers the gemeentecode filter
        queryables_route(server, f"/cbs/wijken-en-buurten-2024/ogc/v1/collections/{collection}", ["gemeentecode"])
    messages = []
    started = time.monotonic()
    with client_for(tmp_path, progress=messages.append) as client:
        downloads = fetch_cbs(client, config_for(server, tmp_path), doesburg, year=2024)
    assert time.monotonic() - started >= 1.0  # waited as Retry-After asked
    assert server.count("/wijken/items") == 3 and server.count("/buurten/items") == 1
    items = [s for s in server.seen if s.path.endswith("/items")]
    assert [s.query.get("gemeentecode") for s in items] == [["GM0221"]] * 4
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
    assert 'nwr["amenity"="doctors"]' in query and 'nwr["shop"="supermarket"]' in query
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
        assert f'nwr["{key}"="{value}"]' in query  # nodes, ways and relations (multipolygons)
    assert query.rstrip().endswith("out center meta;")


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


def locatieserver(server: StandIn, bag):
    """Answers like the Locatieserver v3_1 free endpoint (CAPTURED['locatieserver']): HTTP 400 for a
    parameter outside its OpenAPI spec or ``rows`` above 100; ``fq`` filters (``field:value``, joined by
    ``AND``) applied to the BAG address documents in ``bag`` (a list, or a dict of lists); ``start`` paging."""
    spec = CAPTURED["locatieserver"]
    docs_all = [d for docs in bag.values() for d in docs] if isinstance(bag, dict) else list(bag)

    def answer(request: Seen) -> Reply:
        unknown = sorted(set(request.query) - set(spec["free_parameters"]))
        if unknown:
            return Reply(400, {"message": f"unknown query parameter(s): {', '.join(unknown)}"})
        rows = int(request.query.get("rows", ["10"])[0])
        if rows > spec["max_rows"]:
            return Reply(400, {"message": f"rows must be at most {spec['max_rows']}"})
        start = int(request.query.get("start", ["0"])[0])
        terms = [t.split(":", 1) for f in request.query.get("fq", []) for t in f.split(" AND ")]
        found = [d for d in docs_all if all(str(d.get(k, "")) == v for k, v in terms)]
        page = found[start : start + rows]
        body = {"response": {"numFound": len(found), "start": start, "maxScore": 9.1, "numFoundExact": True}}
        body["response"]["docs"] = page
        return Reply(200, body)

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


def test_residence_loader_refuses_uuid_pand_links_and_building_loader_reads_bouwjaar(tmp_path):
    """A BAG v2 file straight from the OGC API (captured shape: pand.href ends in a UUID) is refused with
    a clear message instead of 'value too long for type character varying(20)' at the database."""
    from geo.fetch.store import write_geojson

    point = shapely.Point(200_000, 445_000)
    path = write_geojson(
        tmp_path / "vbo.geojson", [vbo("0221010000900001", point, "0221100000900000", "woonfunctie", 70)], epsg=28992
    )
    with pytest.raises(DataError) as info:
        prepare("residences", path)
    message = str(info.value)
    assert "vbo.geojson, feature 1 (0221010000900001), field 'pand.href'" in message
    assert "a PDOK OGC API feature id (UUID), not a BAG identificatie" in message
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


# --- issue 18: the real services' behaviour (each test names its source; see CAPTURED) --------------------


def test_a_fetch_of_several_files_loads_all_or_nothing(tmp_path, fetch_engine, doesburg):
    """Panden load fine, the verblijfsobjecten are refused by the database: the panden must not stay.
    (Files as a fetch writes them, with already-mapped pand_identificatie, so only atomicity is tested.)"""
    from geo.fetch.store import Download, write_geojson
    from geo.io import unload

    boxes = squares(doesburg, 3)
    clash = write_geojson(tmp_path / "other_units.geojson", [vbo_linked("0221010000900077", boxes[1])], epsg=28992)
    load(fetch_engine, "residences", clash, source="residences:other")
    try:
        panden = [pand(f"022110000095000{i}", g, 1950) for i, g in enumerate(boxes)]
        units = [vbo_linked("0221010000900077", boxes[1])]
        downloads = [
            Download("buildings", write_geojson(tmp_path / "p.geojson", panden, epsg=28992), "pdok-bag:pand:atomic"),
            Download("residences", write_geojson(tmp_path / "v.geojson", units, epsg=28992), "pdok-bag:vbo:atomic"),
        ]
        before = fingerprint(fetch_engine)
        with pytest.raises(DataError, match="already in residence from another source"):
            load_downloads(fetch_engine, downloads)
        assert fingerprint(fetch_engine) == before  # the panden file was written in the same transaction
        assert scalar(fetch_engine, "SELECT count(*) FROM building WHERE source = 'pdok-bag:pand:atomic'") == 0
    finally:
        unload(fetch_engine, "residences:other")


def vbo_linked(ident: str, point) -> dict:
    """A verblijfsobject as a BAG GeoPackage has it (pand_identificatie), for a clash with a fetch."""
    props = {"identificatie": ident, "pand_identificatie": "0221100000900001", "gebruiksdoel": "woonfunctie"}
    props |= {"oppervlakte": 50, "status": "Verblijfsobject in gebruik"}
    return {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(shapely.centroid(point)))}


def test_unit_links_to_panden_outside_the_area_or_unknown_are_counted(server, tmp_path, doesburg):
    """BAG v2 (captured verblijfsobject): pand.href ends in the pand's UUID; the map is built from every pand
    of the box, before clipping to the municipality; a link to no fetched pand is counted, not guessed."""
    panden = bag_routes(server, doesburg)
    boxes = squares(doesburg, 2)
    units = [
        vbo(
            "0221010000900005", shapely.centroid(boxes[0]), ["0221100000900000", "0363100000999999"], "woonfunctie", 90
        ),
        vbo("0221010000900006", shapely.centroid(boxes[1]), "0221100000999998", "woonfunctie", 30),  # not fetched
    ]
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/verblijfsobject/items", units, 10)
    messages = []
    with client_for(tmp_path) as client:
        downloads = fetch_bag(client, config_for(server, tmp_path), doesburg, progress=messages.append)
    assert panden[-1]["id"] == feature_id("0363100000999999")  # the Amsterdam pand: clipped, still mapped
    frame = prepare("residences", downloads[1].path).frame.set_index("id")
    assert frame.loc["0221010000900005", "building_ids"] == ["0221100000900000", "0363100000999999"]
    assert frame.loc["0221010000900006", "building_ids"] == []
    assert any("1 pand link(s) name no pand of this fetch" in m for m in messages)
    assert "1 without a pand link" in " ".join(prepare("residences", downloads[1].path).notes)


def test_the_real_doesburg_extract_leaves_out_demolished_and_never_built_panden():
    """Real LV-BAG extract of Doesburg (data/bag, see data/SOURCES.md): 7,797 current panden of which
    389 'Pand gesloopt', 12 'Niet gerealiseerd pand', 1 'Pand ten onrechte opgevoerd'."""
    prepared = prepare("buildings", DATA / "bag/0221PND15092020.zip")
    assert len(prepared.frame) == 7797 - 402
    assert not prepared.frame["status"].isin(["Pand gesloopt", "Niet gerealiseerd pand"]).any()
    assert (
        "left out 402 that no longer or never stood: Pand gesloopt 389, Niet gerealiseerd pand 12, "
        "Pand ten onrechte opgevoerd 1" in prepared.notes
    )


def cbs_feature(kind: str, code: str, municipality: str, geom, population, households) -> dict:
    """A CBS wijken-en-buurten feature with the PDOK field names (aantalInwoners, aantalHuishoudens)."""
    props = {f"{kind}code": code, f"{kind}naam": f"{kind} {code}", "gemeentecode": municipality}
    if kind == "buurt":
        props["wijkcode"] = "WK" + code[2:8]
    props |= {"aantalInwoners": population, "aantalHuishoudens": households}
    return {"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom)), "id": code}


def test_cbs_no_data_family_is_missing_and_other_negatives_are_refused(tmp_path):
    """CAPTURED['cbs_no_data']: -99999999 (real buurten 2023 file) and the 5-digit codes of the recent
    services (-99997, -99995) are no data; -5 or -100000 are errors."""
    from geo.fetch.store import write_geojson

    square = shapely.box(205_000, 446_000, 205_100, 446_100)
    features = [
        cbs_feature("buurt", f"BU022101{i:02d}", "GM0221", square, pop, hh)
        for i, (pop, hh) in enumerate([(-99997, 40), (120, -99995), (-99999999, -99999998), (80, 30)])
    ]
    path = write_geojson(tmp_path / "buurten_2024.geojson", features, epsg=28992)
    frame = prepare("neighbourhoods", path).frame
    assert frame["population"].astype(object).where(frame["population"].notna(), None).tolist() == [None, 120, None, 80]
    assert frame["households"].astype(object).where(frame["households"].notna(), None).tolist() == [40, None, None, 30]
    for bad in (-5, -100000, -99989):
        features[3]["properties"]["aantalInwoners"] = bad
        path = write_geojson(tmp_path / "buurten_2024.geojson", features, epsg=28992)
        with pytest.raises(DataError, match=f"feature 4 .*field 'aantalInwoners': negative count {bad}"):
            prepare("neighbourhoods", path)
    proximity = tmp_path / "nabijheid_2024.csv"
    proximity.write_text("gemeentecode;afstand_huisarts;afstand_apotheek\nGM0221;-99997;1,2\n", encoding="utf-8")
    assert prepare("proximity", proximity).frame["category"].tolist() == ["pharmacy"]
    proximity.write_text("gemeentecode;afstand_huisarts\nGM0221;-3\n", encoding="utf-8")
    with pytest.raises(DataError, match="negative distance"):
        prepare("proximity", proximity)


def test_cbs_without_a_gemeentecode_filter_asks_the_bbox_and_keeps_the_municipality(
    server, tmp_path, fetch_engine, doesburg
):
    """GoKoala (url.go validateNoUnknownParams): gemeentecode= is an unknown parameter (HTTP 400) unless
    the collection's queryables list it. Here they list only the geometry, as for the BAG collections."""
    inside = shapely.buffer(shapely.point_on_surface(doesburg.outline), 50)
    neighbour = shapely.box(doesburg.bbox[0], doesburg.bbox[1], doesburg.bbox[0] + 100, doesburg.bbox[1] + 100)
    base = "/cbs/wijken-en-buurten-2023/ogc/v1/collections"
    wijken = [
        cbs_feature("wijk", "WK022102", "GM0221", inside, 1200, 560),
        cbs_feature("wijk", "WK029901", "GM0299", neighbour, 900, 400),
    ]
    buurten = [
        cbs_feature("buurt", "BU02210201", "GM0221", inside, -99997, 300),
        cbs_feature("buurt", "BU02990101", "GM0299", neighbour, 900, 400),
    ]
    ogc_pages(server, f"{base}/wijken/items", wijken, 10, filters=())
    ogc_pages(server, f"{base}/buurten/items", buurten, 10, filters=())
    del server.routes[f"{base}/buurten/queryables"]  # a server without queryables (404): no filter either
    messages = []
    with client_for(tmp_path) as client:
        downloads = fetch_cbs(client, config_for(server, tmp_path), doesburg, year=2023, progress=messages.append)
    items = [s for s in server.seen if s.path.endswith("/items")]
    assert len(items) == 2 and all("gemeentecode" not in s.query and "bbox" in s.query for s in items)
    assert server.count("/queryables") == 2
    assert any("no gemeentecode filter on this collection" in m for m in messages)
    assert any("left out 1 features of other municipalities" in m for m in messages)
    load_downloads(fetch_engine, downloads)
    with fetch_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT code, population FROM neighbourhood WHERE year = 2023")).all()
    assert rows == [("BU02210201", None)]


def test_answers_that_fail_validation_are_never_cached(server, tmp_path, doesburg):
    """Overpass error remark (CAPTURED['overpass_error_remarks']) and an OGC page whose numberReturned
    disagrees: refused, not written to the cache, so the next run asks again and succeeds."""
    lon, lat = lonlat_in(doesburg)
    good = overpass_answer(
        doesburg, [{"type": "node", "id": 1, "lat": lat, "lon": lon, "tags": {"amenity": "library"}}]
    )
    bad = dict(good, remark=CAPTURED["overpass_error_remarks"]["memory"])
    server.routes["/api/interpreter"] = [Reply(200, bad), Reply(200, good)]
    config = config_for(server, tmp_path)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="out of memory"):
        fetch_osm(client, config, doesburg)
    assert not list((tmp_path / "http").glob("*.json"))
    with client_for(tmp_path) as client:  # no --refresh needed
        fetch_osm(client, config, doesburg)
    assert client.network_requests == 1 and client.cache_hits == 0

    feature = pand("0221100000900009", squares(doesburg, 1)[0], 1990)
    truncated = {"type": "FeatureCollection", "numberReturned": 2, "features": [feature], "links": []}
    whole = dict(truncated, numberReturned=1)
    server.routes["/kadaster/bag/ogc/v2/collections/pand/items"] = [Reply(200, truncated), Reply(200, whole)]
    ogc_pages(server, "/kadaster/bag/ogc/v2/collections/verblijfsobject/items", [], 10)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="numberReturned is 2"):
        fetch_bag(client, config, doesburg)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match=r"BAG verblijfsobject .* no features"):
        fetch_bag(client, config, doesburg)  # got past the pand page: it was asked again, not read from cache
    assert server.count("/pand/items") == 2


def test_overpass_reads_longer_than_its_query_budget_and_waits_as_the_status_page_asks(server, tmp_path, doesburg):
    """Overpass: the server may work for the whole [timeout:] budget; a 429 means no free slot and
    /api/status (CAPTURED['overpass_status']) says when one frees."""
    lon, lat = lonlat_in(doesburg)
    answer = overpass_answer(
        doesburg, [{"type": "node", "id": 1, "lat": lat, "lon": lon, "tags": {"amenity": "library"}}]
    )
    busy = CAPTURED["overpass_status"]["busy"].format(seconds=1)
    server.routes["/api/status"] = lambda request: Reply(200, busy.encode(), {"Content-Type": "text/plain"})
    server.routes["/api/interpreter"] = [Reply(429, b"rate_limited"), Reply(200, answer, delay=0.5)]
    config = FetchConfig(
        pdok_url=server.url,
        overpass_url=f"{server.url}/api/interpreter",
        cache_dir=tmp_path,
        overpass_timeout=1,
        overpass_wait=0.2,
        overpass_min_wait=0.0,
    )
    messages = []
    started = time.monotonic()
    with client_for(tmp_path, timeout=0.2, progress=messages.append) as client:  # 0.2 s < the 0.5 s answer
        fetch_osm(client, config, doesburg, progress=messages.append)
    assert time.monotonic() - started >= 1.0  # waited the second the status page named
    assert "[timeout:1]" in next(s for s in server.seen if s.path == "/api/interpreter").form["data"][0]
    assert any("Overpass is busy (HTTP 429)" in m and "waiting 1 s" in m for m in messages)
    assert server.count("/api/status") == 1

    del server.routes["/api/status"]  # no status page: wait the configured floor
    server.routes["/api/interpreter"] = [Reply(429, b"rate_limited"), Reply(200, answer)]
    messages.clear()
    with client_for(tmp_path, refresh=True, progress=messages.append) as client:
        fetch_osm(client, config, doesburg, progress=messages.append)
    assert any("the status page could not be read" in m and "waiting 0.2 s" in m for m in messages)


def test_overpass_asks_for_relations_and_counts_only_general_doctors_as_gp(server, tmp_path, fetch_engine, doesburg):
    """OSM: a practice mapped as a multipolygon is a relation (needs nwr + out center); amenity=doctors
    with healthcare:speciality other than general is a specialist, untagged is 'doctors (unspecified)'."""
    (lon, lat), (lon2, lat2) = lonlat_in(doesburg), lonlat_in(doesburg, 60)
    elements = [
        {
            "type": "relation",
            "id": 501,
            "center": {"lat": lat2, "lon": lon2},
            "members": [],
            "tags": {"type": "multipolygon", "amenity": "doctors", "healthcare:speciality": "general;paediatrics"},
        },
        {"type": "node", "id": 502, "lat": lat, "lon": lon, "tags": {"amenity": "doctors"}},
        {
            "type": "node",
            "id": 503,
            "lat": lat,
            "lon": lon,
            "tags": {"amenity": "doctors", "healthcare:speciality": "dermatology"},
        },
    ]
    server.routes["/api/interpreter"] = [Reply(200, overpass_answer(doesburg, elements))]
    messages = []
    with client_for(tmp_path) as client:
        downloads = fetch_osm(client, config_for(server, tmp_path), doesburg, progress=messages.append)
    assert 'nwr["amenity"="doctors"]' in server.seen[0].form["data"][0]
    assert any("1 specialist doctors" in m for m in messages)
    assert any("1 GP point(s) are doctors (unspecified)" in m for m in messages)
    load_downloads(fetch_engine, downloads)
    with fetch_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT external_id, category, attributes->>'osm_tag' FROM service "
                "WHERE source = 'osm:services:GM0221' ORDER BY external_id"
            )
        ).all()
    assert rows == [
        ("node/502", "gp", "amenity=doctors (doctors (unspecified))"),
        ("relation/501", "gp", "amenity=doctors + healthcare:speciality=general"),
    ]


def test_geocoding_narrows_by_letter_and_addition_and_pages_at_most_100_rows(server, tmp_path):
    """Locatieserver (CAPTURED['locatieserver']): rows <= 100, only the OpenAPI's parameters. A complex
    with 131 addresses on one house number: the old rows=50 query never saw 1-125 nor the plain 1."""
    complex_ = [adres("1011AB", 1, toevoeging=str(i), x=121_000 + i) for i in range(1, 131)]
    complex_.append(adres("1011AB", 1, x=122_000))
    complex_.append(adres("1011AB", 1, "B", x=123_000))
    locatieserver(server, complex_)
    sample = tmp_path / "complex.csv"
    sample.write_text(
        "postcode;huisnummer;huisletter;huisnummertoevoeging;naam\n"
        "1011 AB;1;;125;Unit 125\n1011 AB;1;;;Hoofdingang\n1011 AB;1;b;;Letter B\n1011 AB;1;;999;Bestaat niet\n",
        encoding="utf-8",
    )
    with client_for(tmp_path) as client:
        downloads, report, counts = fetch_geocode(client, config_for(server, tmp_path), sample, category="pharmacy")
    assert counts == {"placed": 3, "no exact match": 1}
    asked = [s.query for s in server.seen]
    assert all(int(q["rows"][0]) <= 100 for q in asked)
    assert asked[0]["fq"][-1] == "huisnummertoevoeging:125" and any(q["fq"][-1] == "huisletter:B" for q in asked)
    plain = [q["start"] for q in asked if q["fq"] == ["type:adres", "postcode:1011AB AND huisnummer:1"]]
    assert plain[:2] == [["0"], ["100"]]  # the plain number: two pages of at most 100
    placed = {
        f["properties"]["name"]: f["geometry"]["coordinates"]
        for f in json.loads(downloads[0].path.read_text())["features"]
    }
    assert placed == {"Unit 125": [121_125, 480_000], "Hoofdingang": [122_000, 480_000], "Letter B": [123_000, 480_000]}
    with open(report, encoding="utf-8") as handle:
        (unplaced,) = list(csv.DictReader(handle, delimiter=";"))
    assert unplaced["reason"].startswith("no exact match for 1011AB 1-999; BAG has 1, 1-1, 1-10")


def latest_capacity_methods(engine) -> dict[str, str]:
    """Capacity method per constructed pand (ids 02211000009...) in the latest score run."""
    with engine.connect() as conn:
        run = conn.execute(sa.text("SELECT max(id) FROM score_run")).scalar_one()
        return dict(
            conn.execute(
                sa.text(
                    "SELECT candidate_id, capacity_method FROM candidate_score WHERE run_id = :r "
                    "AND candidate_id LIKE '02211000009%'"
                ),
                {"r": run},
            ).all()
        )


def test_cli_fetch_bag_gm0221_end_to_end_into_score(server, tmp_path, databases, fetch_engine, doesburg):
    """`opvangmatch fetch bag --municipality GM0221` against the BAG v2 stand-in, then `opvangmatch score`:
    the pand with a unit gets its floor area from the unit (bag_floor_area); unit use/area/status are stored."""
    settings = databases.settings_for(fetch_engine.url.database)
    load(fetch_engine, "municipality-provinces", DATA / "cbs/gemeentelijke-indeling.csv")  # score needs it
    load(fetch_engine, "provinces", DATA / "cbs/provincie_2023.geojson")
    bag_routes(server, doesburg)
    env = fetch_env(settings, server, tmp_path)
    fetched = opvangmatch(["fetch", "bag", "--municipality", "GM0221", "--cache-dir", str(tmp_path / "cache")], env)
    assert fetched.returncode == 0, fetched.stderr
    assert "pdok-bag:pand:GM0221: 5 rows into building" in fetched.stdout and "1 skipped" in fetched.stdout
    assert "left out 1 that no longer or never stood: Pand gesloopt 1" in fetched.stdout
    assert "pdok-bag:verblijfsobject:GM0221: 2 rows into residence" in fetched.stdout
    scored = opvangmatch(["score", "--profile", "families", "--municipality", "GM0221", "--top", "0"], env)
    assert scored.returncode == 0, scored.stderr
    methods = latest_capacity_methods(fetch_engine)
    with fetch_engine.connect() as conn:
        units = conn.execute(sa.text("SELECT use, floor_area, status FROM residence ORDER BY id")).all()
    assert methods["0221100000900000"] == methods["0221100000900001"] == "bag_floor_area"
    assert methods["0221100000900002"] == "footprint_1_storey_assumed"
    assert "0221100000909999" not in methods  # demolished: not loaded, no candidate
    assert units == [
        ("woonfunctie", 85.0, "Verblijfsobject in gebruik"),
        ("kantoorfunctie,woonfunctie", 240.0, "Verblijfsobject in gebruik"),
    ]


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


# --- 3D BAG API: building heights (issue 14) ------------------------------------------------------------------------

THREEDBAG = json.loads((Path(__file__).parent / "fixtures/constructed_3dbag_api_answers.json").read_text("utf-8"))
THREEDBAG_ITEMS = "/collections/pand/items"


def threedbag_feature(ident: str, box: shapely.Polygon, ground: float, roof: float | None) -> dict:
    """A CityJSONFeature shaped like the CONSTRUCTED answer: a Building with the 3D BAG attributes and one
    BuildingPart, its integer vertices scaled by the page's transform."""
    spec = json.loads(json.dumps(THREEDBAG["feature"]))
    key = f"NL.IMBAG.Pand.{ident}"
    building = spec["CityObjects"].pop(spec["id"])
    part = spec["CityObjects"].pop(f"{spec['id']}-0")
    building["attributes"].update(identificatie=key, b3_h_maaiveld=ground, b3_h_dak_70p=roof)
    building["children"], part["parents"] = [f"{key}-0"], [key]
    transform = THREEDBAG["page"]["metadata"]["transform"]
    (sx, sy, _), (tx, ty, _) = transform["scale"], transform["translate"]
    ring = shapely.get_coordinates(box.exterior)[:-1]
    vertices = [[round((x - tx) / sx), round((y - ty) / sy), round(ground * 1000)] for x, y in ring]
    objects = {key: building, f"{key}-0": part}
    return {"type": "CityJSONFeature", "id": key, "CityObjects": objects, "vertices": vertices}


def threedbag_route(server: StandIn, features: list[dict], boxes: list[shapely.Polygon]) -> None:
    """The 3D BAG API's items route as its source answers (CONSTRUCTED fixture): only bbox, offset, limit, crs
    and bbox-crs (400 otherwise), offset paging from 1, and its next-link rule ``offset + limit < numberMatched``."""
    allowed = {"bbox", "offset", "limit", "crs", "bbox-crs"}

    def answer(request: Seen) -> Reply:
        unknown = sorted(set(request.query) - allowed)
        if unknown:
            spec = THREEDBAG["unknown_parameter"]
            return Reply(spec["status"], json.loads(json.dumps(spec["body"]).replace("{name}", unknown[0])))
        chosen = features
        if "bbox" in request.query:
            asked = shapely.box(*[float(v) for v in request.query["bbox"][0].split(",")])
            chosen = [f for f, b in zip(features, boxes, strict=True) if shapely.intersects(asked, b)]
        offset = int(request.query.get("offset", ["1"])[0])
        limit = int(request.query.get("limit", ["10"])[0])
        body = json.loads(json.dumps(THREEDBAG["page"]))
        body["features"] = chosen[offset - 1 : offset - 1 + limit]
        body["numberMatched"], body["numberReturned"] = len(chosen), len(body["features"])
        if offset + limit < len(chosen):
            bbox = request.query["bbox"][0]
            href = f"{server.url}{THREEDBAG_ITEMS}?bbox={bbox}&offset={offset + limit}&limit={limit}"
            body["links"].append({"href": href, "rel": "next", "type": "application/city+json"})
        return Reply(200, body, {"Content-Crs": f"<{request.query.get('crs', ['default'])[0]}>"})

    server.routes[THREEDBAG_ITEMS] = answer


def threedbag_routes(server: StandIn, area: Area, heights: list[tuple[float, float | None]]) -> list[str]:
    """One feature per (ground, roof) on the squares of :func:`bag_routes`' panden, plus one in Amsterdam."""
    boxes = squares(area, len(heights))
    idents = [f"022110000090000{i}" for i in range(len(heights))]
    features = [threedbag_feature(i, b, g, r) for i, b, (g, r) in zip(idents, boxes, heights, strict=True)]
    features.append(threedbag_feature("0363100000999999", AMSTERDAM, 0.5, 9.5))
    threedbag_route(server, features, [*boxes, AMSTERDAM])
    return idents


def test_heights_page_through_the_3dbag_api_and_load_as_load_heights(server, tmp_path, fetch_engine, doesburg):
    from geo.fetch.threedbag import PAGE_LIMIT, RD_2D, fetch_heights

    idents = threedbag_routes(server, doesburg, [(1.0, 7.5), (2.0, 14.0), (0.5, None), (3.0, 4.0)])
    config, messages = FetchConfig(threedbag_url=server.url, cache_dir=tmp_path), []
    with client_for(tmp_path) as client:
        downloads = fetch_heights(client, config, doesburg, progress=messages.append)
    first = next(s for s in server.seen if s.path == THREEDBAG_ITEMS)
    assert first.query["bbox-crs"] == [RD_2D] and "f" not in first.query and first.query["limit"] == [str(PAGE_LIMIT)]
    assert [float(v) for v in first.query["bbox"][0].split(",")] == pytest.approx(list(doesburg.bbox), abs=0.01)
    assert [d.kind for d in downloads] == ["heights"] and downloads[0].source == "3dbag:pand:GM0221"
    # the same loader as `opvangmatch load heights FILE`
    assert prepare("heights", downloads[0].path).frame["id"].tolist() == idents
    reports = load_downloads(fetch_engine, downloads)
    assert reports[0].rows == 4
    assert any("without both heights" in note for note in reports[0].notes)
    with fetch_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, height_m FROM building_height WHERE source = '3dbag:pand:GM0221' ORDER BY id")
        ).all()
    assert [(i, None if h is None else round(h, 3)) for i, h in rows] == [
        (idents[0], 6.5),
        (idents[1], 12.0),
        (idents[2], None),
        (idents[3], 1.0),
    ]


def test_heights_follow_next_links_and_a_second_run_reads_the_cache(server, tmp_path, doesburg, monkeypatch):
    import geo.fetch.threedbag as threedbag

    monkeypatch.setattr(threedbag, "PAGE_LIMIT", 2)  # 6 panden in the box, 2 a page
    threedbag_routes(server, doesburg, [(1.0, 7.0 + i) for i in range(6)])
    config, messages = FetchConfig(threedbag_url=server.url, cache_dir=tmp_path), []
    with client_for(tmp_path) as client:
        downloads = threedbag.fetch_heights(client, config, doesburg, progress=messages.append)
    assert server.count(THREEDBAG_ITEMS) == 3
    assert any("page 3, 6 of 6 features" in m for m in messages)
    assert len(prepare("heights", downloads[0].path).frame) == 6
    with client_for(tmp_path) as client:
        threedbag.fetch_heights(client, config, doesburg)
        assert client.network_requests == 0 and client.cache_hits == 3


def test_heights_the_api_next_link_rule_losing_a_last_feature_is_named(server, tmp_path, doesburg, monkeypatch):
    """The API's source links a next page only while offset + limit < numberMatched: with one feature left over
    there is no next link, and the fetch stops with a clear error instead of loading part of the area."""
    import geo.fetch.threedbag as threedbag

    monkeypatch.setattr(threedbag, "PAGE_LIMIT", 2)
    threedbag_routes(server, doesburg, [(1.0, 7.0)] * 3)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="numberMatched is 3 but the pages held 2"):
        threedbag.fetch_heights(client, FetchConfig(threedbag_url=server.url, cache_dir=tmp_path), doesburg)


def test_heights_refuse_an_answer_without_cityjson_features(server, tmp_path, doesburg):
    from geo.fetch.threedbag import fetch_heights

    page = dict(THREEDBAG["page"], numberMatched=1, numberReturned=1, features=[{"type": "Feature", "id": "x"}])
    server.routes[THREEDBAG_ITEMS] = [Reply(200, page)]
    config = FetchConfig(threedbag_url=server.url, cache_dir=tmp_path)
    with client_for(tmp_path) as client, pytest.raises(FetchError, match="not a CityJSONFeature"):
        fetch_heights(client, config, doesburg)


def test_cli_fetch_heights_gives_storeys_from_height_in_score(server, tmp_path, databases, fetch_engine, doesburg):
    """`opvangmatch fetch bag` then `fetch heights` (3D BAG API stand-in, CONSTRUCTED answer) then `score`: the
    panden with a height get capacity method "storeys from height"."""
    settings = databases.settings_for(fetch_engine.url.database)
    load(fetch_engine, "municipality-provinces", DATA / "cbs/gemeentelijke-indeling.csv")
    load(fetch_engine, "provinces", DATA / "cbs/provincie_2023.geojson")
    bag_routes(server, doesburg)
    threedbag_routes(server, doesburg, [(1.0, 12.0), (1.0, 10.0), (1.0, 13.0), (1.0, None), (1.0, 20.0)])
    env = fetch_env(settings, server, tmp_path) | {"OPVANGMATCH_3DBAG_URL": server.url}
    cache = ["--cache-dir", str(tmp_path / "cache")]
    for source in ("bag", "heights"):
        fetched = opvangmatch(["fetch", source, "--municipality", "GM0221", *cache], env)
        assert fetched.returncode == 0, fetched.stderr
    assert "3dbag:pand:GM0221: 5 rows into building_height" in fetched.stdout
    scored = opvangmatch(["score", "--profile", "families", "--municipality", "GM0221", "--top", "0"], env)
    assert scored.returncode == 0, scored.stderr
    methods = latest_capacity_methods(fetch_engine)
    assert methods["0221100000900002"] == methods["0221100000900004"] == "footprint_x_storeys_from_height"
    assert methods["0221100000900003"] == "footprint_1_storey_assumed"  # 3D BAG has no roof height for it
