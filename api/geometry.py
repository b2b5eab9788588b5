"""Locations sent to the API: GeoJSON geometries in EPSG:4326 (RFC 7946, longitude then latitude) or, when asked
for explicitly, EPSG:28992; checked and turned into shapely geometries in EPSG:28992."""

from __future__ import annotations

import json

import numpy as np
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


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` (EPSG:4326) as four finite numbers in order, or ``None``."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise InputError(f"bbox needs four numbers minlon,minlat,maxlon,maxlat; got {len(parts)} value(s)")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError as exc:
        raise InputError("bbox values must be numbers: minlon,minlat,maxlon,maxlat") from exc
    if not np.isfinite([x0, y0, x1, y1]).all():
        raise InputError("bbox values must be finite numbers")
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputError("bbox must be minlon,minlat,maxlon,maxlat in degrees with min <= max (EPSG:4326)")
    return x0, y0, x1, y1
