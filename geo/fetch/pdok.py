"""PDOK's OGC API - Features: BAG panden and verblijfsobjecten, CBS wijken en buurten, bestuurlijke gebieden.

Requests follow the OGC API - Features standard as PDOK serves it: ``/collections/{name}/items`` with
``f=json``, ``limit``, ``bbox`` plus ``bbox-crs`` and ``crs`` (EPSG:28992, so no reprojection),
and paging by the ``links`` entry with ``rel=next`` until there is none. ``numberReturned`` (when
present) must equal the features on the page, else the page is taken as truncated (and not cached).

PDOK's server (GoKoala, github.com/PDOK/gokoala ``internal/ogc/features/url.go``) answers HTTP 400
"unknown query parameter(s) found" to any parameter that is neither standard nor a configured
property filter, so a filter is only sent when the collection's ``queryables`` lists it; otherwise
the area's bounding box is asked and the answer filtered here. GoKoala sends no ``numberMatched``.

BAG v2 relations are links to feature ids, not BAG identificaties: a verblijfsobject's
``pand.href`` ends in the pand's UUID feature ``id``. :func:`fetch_bag` maps each link to the
16-digit ``identificatie`` through the pand features of the same fetch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import shapely

from geo.fetch.area import Area
from geo.fetch.config import FetchConfig
from geo.fetch.http import FetchError, HttpClient
from geo.fetch.store import Download, write_geojson

RD_URI = "http://www.opengis.net/def/crs/EPSG/0/28992"
BAG_PATH = "kadaster/bag/ogc/v2"
CBS_PATH = "cbs/wijken-en-buurten-{year}/ogc/v1"
BOUNDARIES_PATH = "kadaster/bestuurlijkegebieden/ogc/v1"
PAGE_LIMIT = 1000
MAX_PAGES = 10_000
BAG_ID = re.compile(r"^\d{16}$")


def ogc_features(
    client: HttpClient,
    items_url: str,
    params: dict,
    *,
    what: str,
    progress: Callable[[str], None] = lambda _msg: None,
    standard: dict | None = None,
) -> list[dict]:
    """All features of one OGC API - Features query, following ``next`` links page by page."""
    return [
        feature
        for body in ogc_pages(client, items_url, params, what=what, progress=progress, standard=standard)
        for feature in body["features"]
    ]


def ogc_pages(
    client: HttpClient,
    items_url: str,
    params: dict,
    *,
    what: str,
    progress: Callable[[str], None] = lambda _msg: None,
    standard: dict | None = None,
) -> Iterator[dict]:
    """Every page (the parsed answer) of one OGC API - Features query, following ``next`` links.

    ``standard`` replaces PDOK's standard parameters (``f=json``, ``crs`` RD, ``limit``) for a server that
    takes other ones (the 3D BAG API refuses ``f``). A page whose ``numberReturned`` disagrees with its
    features, or pages that add up to other than ``numberMatched``, stop the fetch (see :func:`_page_check`)."""
    count = 0
    base = {"f": "json", "crs": RD_URI, "limit": PAGE_LIMIT} if standard is None else standard
    url, query = items_url, {**base, **params}
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        body = client.get_json(url, query, what=f"{what}, page {page}", check=_page_check(f"{what}, page {page}", url))
        count += len(body["features"])
        matched = body.get("numberMatched")
        progress(f"  {what}: page {page}, {count:,}" + (f" of {matched:,}" if matched else "") + " features")
        next_url = next(
            (
                link.get("href")
                for link in body.get("links", [])
                if isinstance(link, dict) and link.get("rel") == "next"
            ),
            None,
        )
        if not next_url or not body["features"]:
            if matched is not None and matched != count:
                raise FetchError(
                    f"{what}: numberMatched is {matched:,} but the pages held {count:,} features "
                    f"(paging stopped early at page {page})"
                )
            yield body
            return
        if next_url in seen:
            raise FetchError(f"{what}, page {page}: the 'next' link repeats an earlier page ({next_url})")
        seen.add(next_url)
        yield body
        url, query = next_url, None  # the next link carries every parameter
    raise FetchError(f"{what}: more than {MAX_PAGES:,} pages; choose a smaller area")


def _page_check(what: str, url: str):
    def check(body) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("features"), list):
            raise FetchError(f"{what} ({url}): not an OGC API Features answer (no 'features' list)")
        returned = body.get("numberReturned")
        if returned is not None and returned != len(body["features"]):
            raise FetchError(
                f"{what} ({url}): numberReturned is {returned} but the page holds "
                f"{len(body['features'])} features (truncated answer)"
            )

    return check


def queryables(client: HttpClient, base: str, collection: str, *, what: str) -> set[str]:
    """The property names a collection can be filtered on (``/collections/{name}/queryables``)."""
    url = f"{base}/collections/{collection}/queryables"

    def check(body) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise FetchError(f"{what} ({url}): not a queryables document (no 'properties' object)")

    try:
        body = client.get_json(url, {"f": "json"}, what=what, check=check)
    except FetchError as exc:
        if exc.upstream_status in (400, 404):  # a server without queryables offers no filter we can trust
            return set()
        raise
    return set(body["properties"])


def clip_to_area(features: list[dict], area: Area) -> tuple[list[dict], int]:
    """Keep the features whose representative point lies in the area; returns (kept, dropped)."""
    if not features:
        return features, 0
    geoms = shapely.from_geojson(
        [json.dumps(f.get("geometry")) if f.get("geometry") else '{"type":"Point","coordinates":[]}' for f in features],
        on_invalid="ignore",
    )
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    points = shapely.point_on_surface(np.where(present, geoms, shapely.Point(0, 0)))
    keep = ~present | area.keep(points)  # features without geometry go on to the loader, which names them
    return [f for f, k in zip(features, keep, strict=True) if k], int((~keep).sum())


def _collection(
    client: HttpClient, base: str, collection: str, params: dict, *, what: str, progress, area: Area | None
) -> list[dict]:
    features = ogc_features(client, f"{base}/collections/{collection}/items", params, what=what, progress=progress)
    if not features:
        raise FetchError(f"{what}: the service returned no features ({base}/collections/{collection}/items)")
    return _clipped(features, area, what=what, progress=progress) if area is not None else features


def _bbox_params(area: Area) -> dict:
    return {"bbox": ",".join(f"{v:.2f}" for v in area.bbox), "bbox-crs": RD_URI}


def fetch_bag(client: HttpClient, config: FetchConfig, area: Area, *, progress=lambda _m: None) -> list[Download]:
    """BAG panden (footprint, bouwjaar, status) and verblijfsobjecten (gebruiksdoel, oppervlakte, status),
    each verblijfsobject linked to its panden by identificatie (``pand_identificatie``)."""
    base = f"{config.pdok_url}/{BAG_PATH}"
    year = date.today().year
    params = _bbox_params(area)
    what = f"BAG pand in {area.label}"
    panden = ogc_features(client, f"{base}/collections/pand/items", params, what=what, progress=progress)
    if not panden:
        raise FetchError(f"{what}: the service returned no features ({base}/collections/pand/items)")
    ident_of = pand_identificaties(panden, what=what)  # every pand of the box, before clipping
    panden = _clipped(panden, area, what=what, progress=progress)
    what = f"BAG verblijfsobject in {area.label}"
    units = _collection(client, base, "verblijfsobject", params, what=what, progress=progress, area=area)
    units, unlinked = link_units_to_panden(units, ident_of)
    if unlinked:
        progress(f"  {what}: {unlinked:,} pand link(s) name no pand of this fetch; those units keep no building")
    out = []
    for collection, kind, features in (("pand", "buildings", panden), ("verblijfsobject", "residences", units)):
        path = write_geojson(
            config.cache_dir / "downloads" / f"bag_{collection}_{area.label}.geojson", features, epsg=28992
        )
        out.append(Download(kind, path, f"pdok-bag:{collection}:{area.label}", {"year": year}))
    return out


def pand_identificaties(panden: list[dict], *, what: str) -> dict[str, str]:
    """Feature ``id`` (a UUID in BAG v2) -> 16-digit ``identificatie``, for every pand feature."""
    out: dict[str, str] = {}
    for i, feature in enumerate(panden, 1):
        ident = str((feature.get("properties") or {}).get("identificatie") or "").strip()
        if not BAG_ID.match(ident):
            raise FetchError(f"{what}: feature {i} has no 16-digit identificatie (got {ident!r})")
        if feature.get("id") is not None:
            out[str(feature["id"])] = ident
        out[ident] = ident  # a link that already ends in the identificatie maps to itself
    return out


def link_units_to_panden(units: list[dict], ident_of: dict[str, str]) -> tuple[list[dict], int]:
    """Replace each unit's ``pand.href`` links by ``pand_identificatie`` (a list of identificaties);
    returns the units and the number of links that named no pand of ``ident_of``."""
    unlinked = 0
    out = []
    for unit in units:
        props = dict(unit.get("properties") or {})
        links = props.pop("pand.href", None)
        if links is None:
            out.append(unit)
            continue
        links = links if isinstance(links, list) else [links]
        idents = []
        for link in links:
            key = str(link).rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
            if key in ident_of:
                idents.append(ident_of[key])
            else:
                unlinked += 1
        props["pand_identificatie"] = idents
        props["pand_links"] = links  # kept for reference; the loader reads pand_identificatie
        out.append({**unit, "properties": props})
    return out, unlinked


def _clipped(features: list[dict], area: Area, *, what: str, progress) -> list[dict]:
    features, dropped = clip_to_area(features, area)
    if dropped:
        progress(f"  {what}: left out {dropped:,} features outside {area.label}")
    if not features:
        raise FetchError(f"{what}: no features inside {area.label}")
    return features


def fetch_cbs(
    client: HttpClient, config: FetchConfig, area: Area, *, year: int, progress=lambda _m: None
) -> list[Download]:
    """CBS wijken and buurten of ``year`` (population, households) for the area.

    A municipality is asked by ``gemeentecode`` only where the collection's queryables offer that
    filter; otherwise by the area's bounding box, keeping the features of that municipality (or, for
    a province or box, those whose point lies in the area)."""
    base = f"{config.pdok_url}/{CBS_PATH.format(year=year)}"
    out = []
    for collection, kind in (("wijken", "districts"), ("buurten", "neighbourhoods")):
        what = f"CBS {collection} {year} in {area.label}"
        filters = queryables(client, base, collection, what=f"{what}, queryables") if area.municipality else set()
        if area.municipality and "gemeentecode" in filters:
            features = _collection(
                client, base, collection, {"gemeentecode": area.municipality}, what=what, progress=progress, area=None
            )
        else:
            if area.municipality:
                progress(f"  {what}: no gemeentecode filter on this collection; asking the bounding box")
            features = _collection(
                client, base, collection, _bbox_params(area), what=what, progress=progress, area=None
            )
            features = _keep_area(features, area, what=what, progress=progress)
        path = write_geojson(
            config.cache_dir / "downloads" / f"cbs_{collection}_{year}_{area.label}.geojson", features, epsg=28992
        )
        out.append(Download(kind, path, f"pdok-cbs:{collection}:{year}:{area.label}", {"year": year}))
    return out


def _keep_area(features: list[dict], area: Area, *, what: str, progress) -> list[dict]:
    """The features of the area's municipality (by their ``gemeentecode``), else those inside the area."""
    codes = [str((f.get("properties") or {}).get("gemeentecode") or "") for f in features]
    if area.municipality and all(codes):
        kept = [f for f, code in zip(features, codes, strict=True) if code == area.municipality]
        if len(kept) < len(features):
            progress(f"  {what}: left out {len(features) - len(kept):,} features of other municipalities")
        if not kept:
            raise FetchError(f"{what}: no features with gemeentecode {area.municipality}")
        return kept
    return _clipped(features, area, what=what, progress=progress)


def fetch_boundaries(client: HttpClient, config: FetchConfig, *, progress=lambda _m: None) -> list[Download]:
    """Kadaster bestuurlijke gebieden: all current provinces and municipalities (no population)."""
    base = f"{config.pdok_url}/{BOUNDARIES_PATH}"
    year = date.today().year
    out = []
    for collection, kind in (("provinciegebied", "provinces"), ("gemeentegebied", "municipalities")):
        what = f"bestuurlijke gebieden {collection}"
        features = _collection(client, base, collection, {}, what=what, progress=progress, area=None)
        path = write_geojson(
            config.cache_dir / "downloads" / f"bestuurlijkegebieden_{collection}.geojson", features, epsg=28992
        )
        out.append(Download(kind, path, f"pdok-bestuurlijkegebieden:{collection}", {"year": year}))
    return out
