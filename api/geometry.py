"""Geometry in and out of the API. In: locations as GeoJSON in EPSG:4326 (RFC 7946, longitude then latitude) or,
when asked for explicitly, EPSG:28992, checked and turned into shapely geometries in EPSG:28992. Out: geometries as
GeoJSON in EPSG:4326, and the one FeatureCollection builder of every GeoJSON list the API returns."""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import orjson
import shapely

from geo.domain import NL_BOUNDS_RD, NL_BOUNDS_WGS84, RD, WGS84, rd_to_wgs84, wgs84_to_rd
from geo.errors import InputError


def _inside(xy: np.ndarray, bounds) -> bool:
    x0, y0, x1, y1 = bounds
    return bool(((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)).all())


def location_to_rd(geometry: dict, crs: str = WGS84, *, max_vertices: int = 10_000) -> shapely.Geometry:
    """A checked location geometry in EPSG:28992.

    Raises :class:`InputError` naming the problem: too many vertices, coordinates that are not finite, latitude and
    longitude swapped, RD metres sent as degrees (or the reverse), outside the Netherlands, an invalid geometry
    (with shapely's reason, e.g. a self-intersection).
    """
    if crs not in (WGS84, RD):
        raise InputError(f"crs must be {WGS84} (the default, longitude/latitude) or {RD}, got {crs!r}")
    try:
        text = json.dumps(geometry, allow_nan=False)
    except ValueError as exc:
        raise InputError("the location has coordinates that are not finite numbers (NaN or Infinity)") from exc
    try:
        shape = shapely.from_geojson(text)
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise InputError(f"the location is not a valid GeoJSON geometry: {str(exc).splitlines()[0][:200]}") from exc
    n = int(shapely.get_num_coordinates(shape))
    if n > max_vertices:
        raise InputError(f"the location has {n:,} vertices; at most {max_vertices:,} are accepted (simplify it)")
    xy = shapely.get_coordinates(shape)
    if not np.isfinite(xy).all():
        raise InputError("the location has coordinates that are not finite numbers (NaN or Infinity)")
    if crs == WGS84:
        if not _inside(xy, (-180, -90, 180, 90)):
            hint = " They look like RD New metres: send them with crs EPSG:28992." if _inside(xy, NL_BOUNDS_RD) else ""
            raise InputError(f"coordinates are not longitude/latitude degrees (EPSG:4326).{hint}")
        if not _inside(xy, NL_BOUNDS_WGS84):
            hint = (
                " Latitude and longitude look swapped: GeoJSON (RFC 7946) gives longitude first."
                if _inside(xy[:, ::-1], NL_BOUNDS_WGS84)
                else ""
            )
            raise InputError(
                f"the location lies outside the Netherlands (longitude 3.2-7.3, latitude 50.7-53.7).{hint}"
            )
    elif not _inside(xy, NL_BOUNDS_RD):
        hint = " They look like degrees: leave crs at EPSG:4326." if _inside(xy, (-180, -90, 180, 90)) else ""
        raise InputError(f"the location lies outside the Netherlands in RD New (EPSG:28992) metres.{hint}")
    if not shapely.is_valid(shape):
        raise InputError(f"the location geometry is invalid: {shapely.is_valid_reason(shape)}")
    if crs == WGS84:
        shape = shapely.transform(shape, lambda c: np.column_stack(wgs84_to_rd().transform(c[:, 0], c[:, 1])))
    return shape


def rd_to_geojson(shape: shapely.Geometry | None, digits: int = 7) -> dict | None:
    """A stored EPSG:28992 geometry as a GeoJSON dict in EPSG:4326."""
    if shape is None:
        return None
    wgs = shapely.transform(shape, lambda c: np.column_stack(rd_to_wgs84().transform(c[:, 0], c[:, 1])))
    return json.loads(shapely.to_geojson(shapely.transform(wgs, lambda c: np.round(c, digits))))


def feature_collection(features: Iterable[bytes | str], **members) -> bytes:
    """A GeoJSON FeatureCollection (UTF-8 JSON) of features already serialised, with further ``members`` (paging,
    links, time stamp) before the features."""
    head = orjson.dumps({"type": "FeatureCollection", **members})[:-1]
    body = b",".join(f if isinstance(f, bytes) else f.encode() for f in features)
    return head + b',"features":[' + body + b"]}"
