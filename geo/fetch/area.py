"""The area to fetch: a municipality or province from the database, or a bounding box in RD."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy.engine import Engine

from geo.domain import rd_to_wgs84
from geo.errors import InputError
from geo.scope import find_region, parse_bbox


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
    region = find_region(engine, "municipality" if municipality else "province", municipality or province)
    municipality_code = region.code if region.level == "municipality" else None
    return Area(region.code, tuple(float(v) for v in region.outline.bounds), region.outline, municipality_code)
