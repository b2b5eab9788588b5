"""OGC API - Features, Part 1 (core, GeoJSON, OpenAPI 3.0) for the read-only collections.

QGIS and GDAL read these directly (``OAPIF:http://host:port/`` with the ``X-API-Key`` header). Table and column
names come from the fixed registry below, never from a request; every value is bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.deps import Connection, Reader, State
from api.errors import KEYED, problems
from api.geometry import feature_collection
from api.models import BBOX_PATTERN
from api.responses import GEOJSON, GeoJSONResponse
from api.routes.candidates import scope_for
from api.routes.score import profile_named
from geo.domain import WGS84
from geo.errors import NotFoundError
from geo.scope import parse_bbox

router = APIRouter(tags=["ogc features"], responses=problems(*KEYED))
MAX_LIMIT = 10_000
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@dataclass(frozen=True)
class TableCollection:
    """A PostGIS table served as a collection: its id column, the properties and the geometry column."""

    id: str
    title: str
    description: str
    table: str
    key: str
    properties: tuple[str, ...]
    key_is_int: bool = False


TABLES = {
    c.id: c
    for c in (
        TableCollection(
            "municipalities",
            "Municipalities",
            "CBS municipalities with population",
            "municipality",
            "code",
            ("code", "name", "population", "households", "source", "year"),
        ),
        TableCollection(
            "neighbourhoods",
            "Neighbourhoods (buurten)",
            "CBS buurten with population",
            "neighbourhood",
            "code",
            ("code", "name", "district_code", "municipality_code", "population", "households", "source", "year"),
        ),
        TableCollection(
            "services",
            "Services",
            "Facility points per category (GP, school, station...)",
            "service",
            "id",
            ("category", "name", "source", "year"),
            key_is_int=True,
        ),
        TableCollection(
            "reception_locations",
            "Reception locations",
            "Existing reception sites (many without coordinates)",
            "reception_location",
            "id",
            (
                "name",
                "municipality_name",
                "municipality_code",
                "kind",
                "capacity",
                "period",
                "valid_from",
                "valid_until",
                "open_ended",
                "source",
                "year",
            ),
            key_is_int=True,
        ),
    )
}
CANDIDATES = ("candidates", "Candidate buildings", "BAG buildings scored with the default profile, best first")
COLLECTION_IDS = ("candidates", *TABLES)
CollectionId = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]
FeatureId = Annotated[str, Path(pattern=r"^[0-9A-Za-z._-]{1,20}$")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(body: dict, media_type: str = "application/json") -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type=media_type)


@router.get("/", summary="OGC API landing page")
def landing(request: Request, who: Reader) -> dict[str, Any]:
    base = _base(request)
    return {
        "title": "opvangmatch",
        "description": "Candidates, regions, services and reception locations (OGC API - Features)",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
            {
                "href": f"{base}/openapi.json",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "the API definition",
            },
            {"href": f"{base}/docs", "rel": "service-doc", "type": "text/html", "title": "the API documentation"},
            {
                "href": f"{base}/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "conformance classes",
            },
            {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "the collections"},
        ],
    }


@router.get("/conformance", summary="OGC API conformance classes")
def conformance(who: Reader) -> dict[str, list[str]]:
    return {"conformsTo": CONFORMANCE}


def _collection_info(base: str, cid: str, title: str, description: str) -> dict:
    return {
        "id": cid,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{cid}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{cid}/items", "rel": "items", "type": GEOJSON},
        ],
    }


def _infos(base: str) -> list[dict]:
    return [_collection_info(base, *CANDIDATES)] + [
        _collection_info(base, c.id, c.title, c.description) for c in TABLES.values()
    ]


@router.get("/collections", summary="The feature collections")
def collections(request: Request, who: Reader) -> dict[str, Any]:
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}],
        "collections": _infos(base),
    }


def _known(cid: str) -> None:
    if cid not in COLLECTION_IDS:
        raise NotFoundError(f"no collection {cid!r}; the collections are {', '.join(COLLECTION_IDS)}")


@router.get("/collections/{collection_id}", summary="One feature collection", responses=problems(404))
def collection(collection_id: CollectionId, request: Request, who: Reader) -> dict[str, Any]:
    _known(collection_id)
    return next(c for c in _infos(_base(request)) if c["id"] == collection_id)


def _page_links(request: Request, cid: str, offset: int, limit: int, matched: int) -> list[dict]:
    url = f"{_base(request)}/collections/{cid}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def href(at: int) -> str:
        query = "&".join(f"{k}={v}" for k, v in {**params, "limit": limit, "offset": at}.items())
        return f"{url}?{query}"

    links = [{"href": href(offset), "rel": "self", "type": GEOJSON}]
    if offset + limit < matched:
        links.append({"href": href(offset + limit), "rel": "next", "type": GEOJSON})
    if offset > 0:
        links.append({"href": href(max(offset - limit, 0)), "rel": "prev", "type": GEOJSON})
    return links


def _table_features(conn: sa.Connection, c: TableCollection, where: str, params: dict) -> list[str]:
    props = ", ".join(f"'{p}', \"{p}\"" for p in c.properties)
    rows = conn.execute(
        sa.text(
            f'SELECT "{c.key}" AS fid, json_build_object({props})::text AS props, '
            f'ST_AsGeoJSON(ST_Transform(geom, 4326), 7) AS geometry FROM "{c.table}" {where}'
        ),
        params,
    ).all()
    return [
        '{"type":"Feature","id":'
        + json.dumps(fid)
        + ',"geometry":'
        + (geometry or "null")
        + ',"properties":'
        + props
        + "}"
        for fid, props, geometry in rows
    ]


@router.get(
    "/collections/{collection_id}/items",
    response_class=GeoJSONResponse,
    summary="Features of a collection",
    responses=problems(404),
)
def items(
    collection_id: CollectionId,
    request: Request,
    who: Reader,
    state: State,
    conn: Connection,
    bbox: Annotated[
        str | None, Query(pattern=BBOX_PATTERN, description="minlon,minlat,maxlon,maxlat (CRS84), min <= max")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    _known(collection_id)
    box = None if bbox is None else parse_bbox(bbox, WGS84, name="bbox")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if collection_id == "candidates":
        table = state.snapshot.candidates(profile_named("default"))
        rows = table.select(municipality=scope_for(who, None), bbox=box)
        extra = {
            "numberMatched": len(rows),
            "numberReturned": len(rows[offset : offset + limit]),
            "timeStamp": stamp,
            "links": _page_links(request, collection_id, offset, limit, len(rows)),
        }
        return Response(table.collection(rows, offset, limit, extra), media_type=GEOJSON)
    c = TABLES[collection_id]
    where, params = "", {"limit": limit, "offset": offset}
    if box:
        envelope = "ST_Transform(ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326), 28992)"
        where = f"WHERE geom && {envelope} AND ST_Intersects(geom, {envelope})"
        params.update(zip(("x0", "y0", "x1", "y1"), box, strict=True))
    matched = conn.execute(sa.text(f'SELECT count(*) FROM "{c.table}" {where}'), params).scalar_one()
    features = _table_features(conn, c, f'{where} ORDER BY "{c.key}" LIMIT :limit OFFSET :offset', params)
    collection = feature_collection(
        features,
        numberMatched=matched,
        numberReturned=len(features),
        timeStamp=stamp,
        links=_page_links(request, collection_id, offset, limit, matched),
    )
    return Response(collection, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=GeoJSONResponse,
    summary="One feature",
    responses=problems(404),
)
def item(
    collection_id: CollectionId, feature_id: FeatureId, request: Request, who: Reader, state: State, conn: Connection
):
    _known(collection_id)
    missing = NotFoundError(f"no feature {feature_id!r} in collection {collection_id}")
    if collection_id == "candidates":
        table = state.snapshot.candidates(profile_named("default"))
        try:
            i = table.row_of(feature_id)
        except NotFoundError:
            raise missing from None
        if not who.sees_all and table.municipality[i] != who.municipality_code:
            raise missing
        return Response(table.features[i], media_type=GEOJSON)
    c = TABLES[collection_id]
    if c.key_is_int:
        if not feature_id.isdigit() or int(feature_id) > 2**62:
            raise missing
        key: Any = int(feature_id)
    else:
        key = feature_id
    found = _table_features(conn, c, f'WHERE "{c.key}" = :key', {"key": key})
    if not found:
        raise missing
    return Response(found[0], media_type=GEOJSON)
