"""Where a command or request points: a region by its code (municipality or province), a map's scope, a box.

The one place that looks a region code up in the database and says clearly what is wrong (an unknown code, an
empty table, a municipality in another province), and the one parser of a ``minx,miny,maxx,maxy`` box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.domain import NL_BOUNDS_RD, RD, WGS84
from geo.errors import InputError, NotFoundError

LEVELS = {"municipality": ("municipalities", "GM0505"), "province": ("provinces", "PV28")}


@dataclass(frozen=True)
class Region:
    """A municipality or province in the database, with its own boundary (EPSG:28992)."""

    level: str
    code: str
    name: str
    outline: shapely.Geometry


def find_region(engine: Engine, level: str, code: str) -> Region:
    """The region of ``level`` with ``code``; a NotFoundError says whether the table is empty or the code unknown."""
    plural, example = LEVELS[level]
    code = code.strip().upper()
    if not code.startswith(example[:2]):
        raise InputError(f"--{level} expects a CBS code like {example}, got {code!r}")
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(f"SELECT name, ST_AsBinary(geom) FROM {level} WHERE code = :code"), {"code": code}
        ).first()
        count = 0 if row is not None else conn.execute(sa.text(f"SELECT count(*) FROM {level}")).scalar_one()
    if row is None:
        hint = (
            f"the {level} table is empty: load the regions first ('opvangmatch load demo', "
            f"'opvangmatch load {plural} FILE' or 'opvangmatch fetch boundaries')"
            if count == 0
            else f"it is not among the {count:,} loaded; check the code (see 'opvangmatch db status')"
        )
        raise NotFoundError(f"{level} {code} is not in the database: {hint}")
    return Region(level, code, row[0], shapely.from_wkb(bytes(row[1])))


def municipalities_outline(engine: Engine, province: str) -> shapely.Geometry:
    """The union of the municipalities that belong to ``province`` (``municipality_province``): the area in which
    a candidate counts as the province's, as the task counts places per province."""
    find_region(engine, "province", province)
    with engine.connect() as conn:
        wkb = conn.execute(
            sa.text(
                "SELECT ST_AsBinary(ST_Union(m.geom)) FROM municipality m JOIN municipality_province mp "
                "ON mp.municipality_code = m.code WHERE mp.province_code = :c"
            ),
            {"c": province.strip().upper()},
        ).scalar()
    if wkb is None:
        raise NotFoundError(f"province {province} has no municipalities loaded (municipality-provinces)")
    return shapely.from_wkb(bytes(wkb))


def map_scope(engine: Engine, province: str, municipality: str | None) -> dict:
    """The province (and municipality) of a region map; the municipality must lie in the province."""
    prov = find_region(engine, "province", province)
    scope = {"province": prov.code, "province_name": prov.name, "municipality": None, "municipality_name": None}
    if municipality:
        mun = find_region(engine, "municipality", municipality)
        with engine.connect() as conn:
            in_province = conn.execute(
                sa.text("SELECT province_code FROM municipality_province WHERE municipality_code = :c"),
                {"c": mun.code},
            ).scalar()
        if in_province != prov.code:
            raise InputError(f"municipality {mun.code} ({mun.name}) lies in {in_province}, not {prov.code}")
        scope.update(municipality=mun.code, municipality_name=mun.name)
    return scope


def parse_bbox(text: str, crs: str = RD, *, name: str = "--bbox") -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` as four finite numbers in order: RD metres inside the Netherlands (``crs`` RD), or
    longitude/latitude degrees (``crs`` WGS84). ``name`` is how the caller's user knows the value."""
    axes = "minx,miny,maxx,maxy in RD metres" if crs == RD else "minlon,minlat,maxlon,maxlat"
    parts = text.split(",")
    if len(parts) != 4:
        raise InputError(f"{name} needs four numbers {axes}; got {len(parts)} value(s) in {text!r}")
    try:
        values = tuple(float(part) for part in parts)
    except ValueError as exc:
        raise InputError(f"{name} values must be numbers: {axes}, got {text!r}") from exc
    if not np.isfinite(values).all():
        raise InputError(f"{name} values must be finite numbers")
    minx, miny, maxx, maxy = values
    if crs == WGS84:
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InputError(f"{name} must be {axes} in degrees with min <= max ({WGS84})")
        return values
    if not (minx < maxx and miny < maxy):
        raise InputError(f"{name} {text!r}: minx must be below maxx and miny below maxy")
    xmin, ymin, xmax, ymax = NL_BOUNDS_RD
    if minx < xmin or maxx > xmax or miny < ymin or maxy > ymax:
        raise InputError(
            f"{name} {text!r} lies outside the Netherlands in RD metres ({RD}); "
            "longitude/latitude are not accepted here"
        )
    return values
