"""The area to fetch: a municipality or province from the database, or a bounding box in RD."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.domain import NL_BOUNDS_RD, rd_to_wgs84
from geo.errors import InputError, NotFoundError


@dataclass(frozen=True)
class Area:
    """A named area with its RD bounding box and, for a region, its outline (EPSG:28992).

    Attributes
    ----------
    label : short name used in file and source names (``GM0505``, ``PV28``, ``bbox``).
    bbox : (minx, miny, maxx, maxy) in RD metres.
    outline : the region's geometry, or ``None`` for a plain bounding box.
    municipality : the municipality code when the area is one municipality.
    """

    label: str
    bbox: tuple[float, float, float, float]
    outline: shapely.Geometry | None = None
    municipality: str | None = None

    def bbox_wgs84(self) -> tuple[float, float, float, float]:
        """(south, west, north, east) in degrees, as Overpass wants it."""
        west, south, east, north = rd_to_wgs84().transform_bounds(*self.bbox)
        return south, west, north, east

    def keep(self, points_rd) -> np.ndarray:
        """Mask of representative points (RD) that lie in the area (its outline, else its box)."""
        if self.outline is not None:
            return shapely.contains_xy(self.outline, *_xy(points_rd))
        x, y = _xy(points_rd)
        minx, miny, maxx, maxy = self.bbox
        return (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)


def _xy(points):
    return shapely.get_x(points), shapely.get_y(points)


def resolve_area(
    engine: Engine, *, municipality: str | None = None, province: str | None = None, bbox: str | None = None
) -> Area:
    """The one area asked for; a municipality or province must already be loaded in the database."""
    given = [
        name for name, value in (("--municipality", municipality), ("--province", province), ("--bbox", bbox)) if value
    ]
    if len(given) != 1:
        raise InputError(
            "give exactly one area: --municipality GM0505, --province PV28 or --bbox minx,miny,maxx,maxy (RD metres)"
            + (f"; got {' and '.join(given)}" if given else "")
        )
    if bbox:
        box = parse_bbox(bbox)
        return Area("bbox" + "_".join(f"{v:.0f}" for v in box), box)
    table, code = (
        ("municipality", municipality.strip().upper()) if municipality else ("province", province.strip().upper())
    )
    prefix = "GM" if table == "municipality" else "PV"
    if not code.startswith(prefix):
        raise InputError(
            f"--{table} expects a CBS code like {prefix}{'0505' if prefix == 'GM' else '28'}, got {code!r}"
        )
    with engine.connect() as conn:
        row = conn.execute(sa.text(f"SELECT ST_AsBinary(geom) FROM {table} WHERE code = :code"), {"code": code}).first()
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    if row is None:
        kind = "municipalities" if table == "municipality" else "provinces"
        hint = (
            f"the {table} table is empty: load the regions first ('opvangmatch load demo', "
            f"'opvangmatch load {kind} FILE' "
            "or 'opvangmatch fetch boundaries')"
            if count == 0
            else f"it is not among the {count:,} loaded; check the code (see 'opvangmatch db status')"
        )
        raise NotFoundError(f"{table} {code} is not in the database: {hint}")
    outline = shapely.from_wkb(bytes(row[0]))
    return Area(code, tuple(float(v) for v in outline.bounds), outline, code if table == "municipality" else None)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` in RD metres, inside the Netherlands."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError as exc:
        raise InputError(f"--bbox must be four numbers minx,miny,maxx,maxy in RD metres, got {text!r}") from exc
    if len(values) != 4:
        raise InputError(f"--bbox must be four numbers minx,miny,maxx,maxy in RD metres, got {text!r}")
    minx, miny, maxx, maxy = values
    xmin, ymin, xmax, ymax = NL_BOUNDS_RD
    if not (minx < maxx and miny < maxy):
        raise InputError(f"--bbox {text!r}: minx must be below maxx and miny below maxy")
    if minx < xmin or maxx > xmax or miny < ymin or maxy > ymax:
        raise InputError(
            f"--bbox {text!r} lies outside the Netherlands in RD metres (EPSG:28992); "
            "longitude/latitude are not accepted here"
        )
    return values
