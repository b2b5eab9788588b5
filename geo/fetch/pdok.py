"""PDOK's OGC API - Features: BAG panden and verblijfsobjecten, CBS wijken en buurten, bestuurlijke gebieden.

Requests follow the OGC API - Features standard as PDOK serves it: ``/collections/{name}/items`` with
``f=json``, ``limit``, ``bbox`` plus ``bbox-crs`` and ``crs`` (EPSG:28992, so no reprojection),
and paging by the ``links`` entry with ``rel=next`` until there is none. ``numberReturned`` (when
present) must equal the features on the page, else the page is taken as truncated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


def ogc_features(
    client: HttpClient,
    items_url: str,
    params: dict,
    *,
    what: str,
    progress: Callable[[str], None] = lambda _msg: None,
) -> list[dict]:
    """All features of one OGC API - Features query, following ``next`` links page by page."""
    features: list[dict] = []
    url, query = items_url, {"f": "json", "crs": RD_URI, "limit": PAGE_LIMIT, **params}
    seen: set[str] = set()
    for page in range(1, MAX_PAGES + 1):
        body = client.get_json(url, query, what=f"{what}, page {page}")
        if not isinstance(body, dict) or not isinstance(body.get("features"), list):
            raise FetchError(f"{what}, page {page} ({url}): not an OGC API Features answer (no 'features' list)")
        returned = body.get("numberReturned")
        if returned is not None and returned != len(body["features"]):
            raise FetchError(
                f"{what}, page {page} ({url}): numberReturned is {returned} but the page holds "
                f"{len(body['features'])} features (truncated answer)"
            )
        features.extend(body["features"])
        matched = body.get("numberMatched")
        progress(f"  {what}: page {page}, {len(features):,}" + (f" of {matched:,}" if matched else "") + " features")
        next_url = next(
            (
                link.get("href")
                for link in body.get("links", [])
                if isinstance(link, dict) and link.get("rel") == "next"
            ),
            None,
        )
        if not next_url or not body["features"]:
            if matched is not None and matched != len(features):
                raise FetchError(
                    f"{what}: numberMatched is {matched:,} but the pages held {len(features):,} features "
                    f"(paging stopped early at page {page})"
                )
            return features
        if next_url in seen:
            raise FetchError(f"{what}, page {page}: the 'next' link repeats an earlier page ({next_url})")
        seen.add(next_url)
        url, query = next_url, None  # the next link carries every parameter
    raise FetchError(f"{what}: more than {MAX_PAGES:,} pages; choose a smaller area")


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
    if area is not None:
        features, dropped = clip_to_area(features, area)
        if dropped:
            progress(f"  {what}: left out {dropped:,} features outside {area.label}")
        if not features:
            raise FetchError(f"{what}: no features inside {area.label}")
    return features


def _bbox_params(area: Area) -> dict:
    return {"bbox": ",".join(f"{v:.2f}" for v in area.bbox), "bbox-crs": RD_URI}


def fetch_bag(client: HttpClient, config: FetchConfig, area: Area, *, progress=lambda _m: None) -> list[Download]:
    """BAG panden (footprint, bouwjaar, status) and verblijfsobjecten (gebruiksdoel, oppervlakte)."""
    base = f"{config.pdok_url}/{BAG_PATH}"
    year = date.today().year
    out = []
    for collection, kind in (("pand", "buildings"), ("verblijfsobject", "residences")):
        what = f"BAG {collection} in {area.label}"
        features = _collection(client, base, collection, _bbox_params(area), what=what, progress=progress, area=area)
        path = write_geojson(
            config.cache_dir / "downloads" / f"bag_{collection}_{area.label}.geojson", features, epsg=28992
        )
        out.append(Download(kind, path, f"pdok-bag:{collection}:{area.label}", {"year": year}))
    return out


def fetch_cbs(
    client: HttpClient, config: FetchConfig, area: Area, *, year: int, progress=lambda _m: None
) -> list[Download]:
    """CBS wijken and buurten of ``year`` (population, households) for the area."""
    base = f"{config.pdok_url}/{CBS_PATH.format(year=year)}"
    params = {"gemeentecode": area.municipality} if area.municipality else _bbox_params(area)
    clip = None if area.municipality else area
    out = []
    for collection, kind in (("wijken", "districts"), ("buurten", "neighbourhoods")):
        what = f"CBS {collection} {year} in {area.label}"
        features = _collection(client, base, collection, params, what=what, progress=progress, area=clip)
        path = write_geojson(
            config.cache_dir / "downloads" / f"cbs_{collection}_{year}_{area.label}.geojson", features, epsg=28992
        )
        out.append(Download(kind, path, f"pdok-cbs:{collection}:{year}:{area.label}", {"year": year}))
    return out


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
