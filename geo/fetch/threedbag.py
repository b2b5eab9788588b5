"""3D BAG building heights for an area from the 3D BAG API (``api.3dbag.nl``), loaded as ``load heights``.

The API is an OGC API - Features server (github.com/3DBAG/3dbag-api, ``app/views.py`` and
``app/schemas/3dbagapi_spec.yaml``): ``/collections/pand/items`` takes only ``bbox``, ``bbox-crs``, ``crs``,
``limit`` (at most 10,000) and ``offset`` (HTTP 400 for any other parameter, so no ``f=json``); ``bbox`` is in
RD when ``bbox-crs`` is ``https://www.opengis.net/def/crs/EPSG/0/28992``. An answer is a ``FeatureCollection``
with ``numberMatched``, ``numberReturned``, ``links`` (``rel=next`` carries ``offset``/``limit``/``bbox``), a
``metadata`` member with the page's CityJSON ``transform``, and ``features`` that are CityJSONFeatures: per pand
a ``Building`` CityObject with the 3D BAG attributes (``b3_h_maaiveld``, ``b3_h_dak_70p``, ...) and its
``BuildingPart`` children, plus the feature's own integer ``vertices``.

Paging, retries, the cache and the page checks are those of :func:`geo.fetch.pdok.ogc_pages`. The attributes
of every Building are written as one CityJSON file (geometry left out) and read by the ``heights`` loader.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import shapely

from geo.fetch.area import Area
from geo.fetch.config import FetchConfig
from geo.fetch.http import FetchError, HttpClient
from geo.fetch.pdok import ogc_pages
from geo.fetch.store import Download, write_json

RD_2D = "https://www.opengis.net/def/crs/EPSG/0/28992"  # the one bbox-crs the API documents
RD_NAP = "https://www.opengis.net/def/crs/EPSG/0/7415"  # the API's storage CRS (RD + NAP heights)
PAGE_LIMIT = 1000  # the API allows 10,000; a page of 1,000 CityJSONFeatures is already several MB


def fetch_heights(client: HttpClient, config: FetchConfig, area: Area, *, progress=lambda _m: None) -> list[Download]:
    """The 3D BAG attributes of every pand whose vertices' mean point lies in the area (ground and roof
    heights for "storeys from height"), as one ``heights`` download."""
    what = f"3D BAG pand in {area.label}"
    url = f"{config.threedbag_url}/collections/pand/items"
    params = {"bbox": ",".join(f"{v:.2f}" for v in area.bbox), "bbox-crs": RD_2D}
    standard = {"crs": RD_NAP, "limit": PAGE_LIMIT}
    objects: dict[str, dict] = {}
    outside, metadata = 0, None
    for body in ogc_pages(client, url, params, what=what, progress=progress, standard=standard):
        metadata = metadata or body.get("metadata")
        transform = (body.get("metadata") or {}).get("transform")
        for i, feature in enumerate(body["features"], 1):
            building_id, building = _building(feature, what=what, number=i)
            point = _mean_point(feature, transform)
            if point is not None and not area.keep(np.array([point]))[0]:
                outside += 1
                continue
            objects[building_id] = {"type": "Building", "attributes": building.get("attributes") or {}}
    if outside:
        progress(f"  {what}: left out {outside:,} panden outside {area.label}")
    if not objects:
        raise FetchError(f"{what}: the service returned no buildings inside {area.label} ({url})")
    document = {"type": "CityJSON", "version": "2.0", "CityObjects": objects, "vertices": []}
    if isinstance(metadata, dict):
        document["metadata"] = {k: v for k, v in metadata.items() if k != "transform"}
    path = write_json(config.cache_dir / "downloads" / f"3dbag_pand_{area.label}.city.json", document)
    return [Download("heights", path, f"3dbag:pand:{area.label}", {"year": date.today().year})]


def _building(feature, *, what: str, number: int) -> tuple[str, dict]:
    """The feature's Building CityObject (the one without parents), named by the feature ``id``."""
    objects = feature.get("CityObjects") if isinstance(feature, dict) else None
    if feature.get("type") != "CityJSONFeature" or not isinstance(objects, dict):
        raise FetchError(f"{what}: feature {number} is not a CityJSONFeature with CityObjects")
    key = str(feature.get("id") or "")
    building = objects.get(key)
    if not isinstance(building, dict) or building.get("type") != "Building":
        parents = [k for k, o in objects.items() if isinstance(o, dict) and o.get("type") == "Building"]
        if len(parents) != 1:
            raise FetchError(f"{what}: feature {number} ({key or 'no id'}) has no single Building CityObject")
        key, building = parents[0], objects[parents[0]]
    return key, building


def _mean_point(feature: dict, transform) -> shapely.Point | None:
    """The mean of the feature's vertices in RD metres (``transform`` scales the integer vertices), or ``None``
    where the feature carries no vertices or the page no transform (such a pand is kept: the box asked for it)."""
    vertices = feature.get("vertices")
    if not vertices or not isinstance(transform, dict):
        return None
    xy = np.asarray(vertices, dtype=float)[:, :2]
    scale, translate = np.asarray(transform["scale"][:2], float), np.asarray(transform["translate"][:2], float)
    x, y = xy.mean(axis=0) * scale + translate
    return shapely.Point(x, y)
