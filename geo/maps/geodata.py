"""What the maps read from PostGIS, and geometry made light for a browser.

Areas are simplified in RD metres (EPSG:28992), then transformed to WGS84 and rounded to 5 decimals (about 1 m).
"""

from __future__ import annotations

import hashlib
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.domain import DEFAULT_TASK_PERIOD, rd_to_wgs84

DECIMALS = 5
GAP_WIDTH_M = 60.0  # source gaps narrower than this between neighbouring areas are closed on the maps
CACHE_VERSION = "coverage-clean-1"  # part of the cache key: change it when the cleaning rule changes
AREA_TABLES = {"province": "province", "municipality": "municipality", "wijk": "district", "buurt": "neighbourhood"}
log = logging.getLogger(__name__)


def clean_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Areas that tile the land made an exact coverage and simplified once per shared edge (RD metres).

    The source outlines (CBS, generalised) overlap and leave gaps here and there (the 3,475 wijken overlap by
    58 km2 in all), so they are first cleaned (``shapely.coverage_clean``: overlaps given to one neighbour, gaps
    narrower than :data:`GAP_WIDTH_M` closed, shared edges made identical); then each shared edge is simplified once
    for both neighbours (``shapely.coverage_simplify``), so no gaps or slivers appear between neighbours."""
    geoms = np.asarray(shapely.coverage_clean(np.asarray(geoms, dtype=object), gap_width=GAP_WIDTH_M), dtype=object)
    return np.asarray(shapely.coverage_simplify(geoms, tolerance) if tolerance else geoms, dtype=object)


def coverage_digest(geoms: np.ndarray, tolerance: float) -> str:
    """The cache key of :func:`clean_coverage`: a hash of the input geometries, the settings and the GEOS version."""
    digest = hashlib.sha256(f"{CACHE_VERSION}|{GAP_WIDTH_M}|{tolerance}|{shapely.geos_version_string}".encode())
    for wkb in shapely.to_wkb(np.asarray(geoms, dtype=object), hex=False):
        digest.update(len(wkb).to_bytes(8, "little") + wkb)
    return digest.hexdigest()


def coverage_geometries(geoms: np.ndarray, tolerance: float, engine: Engine | None = None) -> np.ndarray:
    """:func:`clean_coverage`, kept in PostGIS (table ``map_area_cache``) by :func:`coverage_digest` when an engine
    is given: cleaning the 3,475 wijken takes about 10 s of CPU, so it is done once per set of areas, not per map.
    A reload of the areas changes the digest, so a stale entry is never read."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    if engine is None:
        return clean_coverage(geoms, tolerance)
    key = coverage_digest(geoms, tolerance)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT wkb FROM map_area_cache WHERE digest = :d ORDER BY position"), {"d": key}
        ).all()
    if len(rows) == len(geoms):
        return np.asarray(shapely.from_wkb([bytes(r.wkb) for r in rows]), dtype=object)
    out = clean_coverage(geoms, tolerance)
    values = [{"d": key, "p": i, "w": w} for i, w in enumerate(shapely.to_wkb(out, hex=False))]
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM map_area_cache WHERE digest = :d"), {"d": key})
            conn.execute(sa.text("INSERT INTO map_area_cache (digest, position, wkb) VALUES (:d, :p, :w)"), values)
    except sa.exc.DBAPIError as error:  # e.g. a read-only role or a concurrent writer: the map is right without it
        log.warning("map area cache not written: %s", error.orig)
    return out


def to_wgs84(
    geoms: np.ndarray,
    tolerance: float = 0.0,
    decimals: int = DECIMALS,
    *,
    coverage: bool = False,
    cache: Engine | None = None,
) -> np.ndarray:
    """Simplify (RD metres), transform to lon/lat and round; vectorised over an array.

    ``coverage=True`` for areas that tile the land (provinces, municipalities, wijken, buurten): cleaned and simplified
    as a coverage (:func:`coverage_geometries`, kept in the database ``cache`` when one is given). Without
    ``coverage`` each geometry is simplified on its own (its own topology kept)."""
    geoms = np.asarray(geoms, dtype=object)
    if coverage:
        geoms = coverage_geometries(geoms, tolerance, cache)
    elif tolerance:
        geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)

    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = rd_to_wgs84().transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), decimals)

    return shapely.transform(geoms, project)


def lat_lon(x: np.ndarray, y: np.ndarray, decimals: int = DECIMALS) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = rd_to_wgs84().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.round(lat, decimals), np.round(lon, decimals)


def read_areas(engine: Engine, level: str, *, province: str | None = None, municipality: str | list[str] | None = None):
    """Areas of one level (``province``, ``municipality``, ``wijk``, ``buurt``) in a scope (a province, one
    municipality or a list of them), in EPSG:28992."""
    table = AREA_TABLES[level]
    columns = {
        "province": "a.code, a.name, NULL::int AS population, a.code AS province_code",
        "municipality": "a.code, a.name, a.population, mp.province_code",
        "wijk": "a.code, a.name, a.population, a.municipality_code, mp.province_code",
        "buurt": "a.code, a.name, a.population, a.municipality_code, a.district_code, mp.province_code",
    }[level]
    mun_col = {"province": None, "municipality": "a.code"}.get(level, "a.municipality_code")
    joins = f" LEFT JOIN municipality_province mp ON mp.municipality_code = {mun_col}" if mun_col else ""
    where, params = [], {}
    if province:
        where.append("a.code = :province" if level == "province" else "mp.province_code = :province")
        params["province"] = province
    if municipality and mun_col:
        where.append(f"{mun_col} = ANY(:municipality)")
        params["municipality"] = [municipality] if isinstance(municipality, str) else list(municipality)
    sql = f"SELECT {columns}, a.geom FROM {table} a{joins}" + (" WHERE " + " AND ".join(where) if where else "")
    return gpd.read_postgis(sa.text(sql + " ORDER BY a.code"), engine, geom_col="geom", params=params)


def read_area_codes(engine: Engine, level: str, codes: list[str]):
    """Areas of one level by code (for outlines), in EPSG:28992."""
    table = AREA_TABLES[level]
    sql = f"SELECT code, name, population, geom FROM {table} WHERE code = ANY(:codes) ORDER BY code"
    return gpd.read_postgis(sa.text(sql), engine, geom_col="geom", params={"codes": list(codes)})


def read_services(engine: Engine, geometry: shapely.Geometry, margin_m: float = 2000.0) -> gpd.GeoDataFrame:
    """Service points within ``margin_m`` of a scope geometry (EPSG:28992)."""
    sql = (
        "SELECT s.id, s.category, s.name, s.source, s.year, s.geom FROM service s "
        "WHERE ST_DWithin(s.geom, ST_GeomFromWKB(:scope, 28992), :margin) ORDER BY s.category, s.id"
    )
    params = {"scope": shapely.to_wkb(geometry), "margin": margin_m}
    return gpd.read_postgis(sa.text(sql), engine, geom_col="geom", params=params)


def read_reception(engine: Engine, period: str = DEFAULT_TASK_PERIOD) -> pd.DataFrame:
    """Every reception location with its municipality code (by code, else exact name), lon/lat if known, and its
    status on the task's reference date (:mod:`geo.reception`: counted, undated, expired...)."""
    from geo.reception import counting_sites
    from geo.task import reference_date

    sites = counting_sites(engine, reference_date(period))
    urls = pd.read_sql(sa.text("SELECT id, source_url FROM reception_location"), engine).set_index("id")["source_url"]
    return sites.assign(source_url=sites["id"].map(urls))


def read_building_facts(engine: Engine, ids) -> pd.DataFrame:
    """Address and build year of buildings by id (index), for candidate popups; absent rows are unknown."""
    sql = "SELECT id, address, build_year FROM building WHERE id = ANY(:ids)"
    frame = pd.read_sql(sa.text(sql), engine, params={"ids": [str(i) for i in ids]})
    return frame.set_index("id")


def read_label_points(engine: Engine, level: str) -> pd.DataFrame:
    """Code, name and a lon/lat point inside each area of a level (for search indexes without geometry)."""
    table = AREA_TABLES[level]
    sql = (
        "SELECT code, name, ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT code, name, "
        f"ST_Transform(ST_PointOnSurface(geom), 4326) AS p FROM {table}) a ORDER BY code"
    )
    return pd.read_sql(sa.text(sql), engine)
