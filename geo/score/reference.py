"""The reference path: the same raw measures as :func:`geo.score.measure.measure`, in plain PostGIS SQL.

Slow (one nearest-neighbour lookup per location and category) but obviously right; the tests require
both paths to agree on the demo data (distances to 1 mm, the same areas, the same ranks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.db.copy import copy_frame
from geo.score.data import ABROAD_MUNICIPALITY_CODES, BOUNDARY_TOLERANCE_M, LEVEL_TABLES, ScoringData
from geo.score.measure import RADII, Measures

NEAREST = """
SELECT p.i, n.id, ST_Distance(p.geom, n.geom) AS distance,
       (SELECT count(*) FROM service s WHERE s.category = :category AND ST_DWithin(p.geom, s.geom, 500)) AS n500,
       (SELECT count(*) FROM service s WHERE s.category = :category AND ST_DWithin(p.geom, s.geom, 1000)) AS n1000
FROM ref_point p
CROSS JOIN LATERAL (
    SELECT s.id, s.geom FROM service s WHERE s.category = :category ORDER BY p.geom <-> s.geom LIMIT 1
) n
ORDER BY p.i
"""

AREA = """
SELECT p.i, coalesce(
    (SELECT a.code FROM {table} a WHERE ST_Intersects(a.geom, p.geom) {mine} ORDER BY a.code LIMIT 1),
    (SELECT a.code FROM {table} a WHERE ST_DWithin(a.geom, p.geom, :tolerance) {mine}
     ORDER BY ST_Distance(a.geom, p.geom), a.code LIMIT 1)) AS code
FROM ref_point p ORDER BY p.i
"""
# A point in no municipality, or in territory CBS codes as abroad, is outside at every level.
OUTSIDE = """
SELECT p.i FROM ref_point p
WHERE NOT EXISTS (SELECT 1 FROM municipality m WHERE ST_Intersects(m.geom, p.geom))
   OR EXISTS (SELECT 1 FROM district d WHERE d.municipality_code = ANY(:abroad) AND ST_Intersects(d.geom, p.geom))
   OR EXISTS (SELECT 1 FROM neighbourhood b WHERE b.municipality_code = ANY(:abroad) AND ST_Intersects(b.geom, p.geom))
"""


def reference_measure(engine: Engine, data: ScoringData, xy: np.ndarray, categories: list[str]) -> Measures:
    """Measure the locations ``xy`` (EPSG:28992) with SQL only; indices refer to ``data``'s layers."""
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    n = len(xy)
    points = pd.DataFrame({"i": np.arange(n), "geom": [f"SRID=28992;POINT({float(x)!r} {float(y)!r})" for x, y in xy]})
    with engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TEMP TABLE ref_point (i integer PRIMARY KEY, geom geometry(Point, 28992)) ON COMMIT DROP")
        )
        copy_frame(conn, "ref_point", points)
        conn.execute(sa.text("CREATE INDEX ON ref_point USING gist (geom); ANALYZE ref_point"))
        area_index = {}
        for level, table in LEVEL_TABLES.items():
            mine = "" if table == "municipality" else "AND a.municipality_code <> ALL(:abroad)"
            tolerance = 0.0 if table == "municipality" else BOUNDARY_TOLERANCE_M
            query = sa.text(AREA.format(table=table, mine=mine))
            codes = [
                c for _, c in conn.execute(query, {"tolerance": tolerance, "abroad": list(ABROAD_MUNICIPALITY_CODES)})
            ]
            lookup = {code: i for i, code in enumerate(data.areas[level].codes)}
            area_index[level] = np.array([lookup.get(c, -1) if c is not None else -1 for c in codes], dtype=np.int64)
        outside = [i for (i,) in conn.execute(sa.text(OUTSIDE), {"abroad": list(ABROAD_MUNICIPALITY_CODES)})]
        for values in area_index.values():
            values[outside] = -1
        distance, nearest, within = {}, {}, {}
        for category in categories:
            rows = conn.execute(sa.text(NEAREST), {"category": category}).all()
            distance[category] = np.full(n, np.inf)
            nearest[category] = np.full(n, -1)
            counts = {r: np.zeros(n, dtype=np.int64) for r in RADII}
            layer = data.services.get(category)
            position = {sid: k for k, sid in enumerate(layer.ids)} if layer is not None else {}
            for i, sid, dist, n500, n1000 in rows:
                distance[category][i] = dist
                nearest[category][i] = position.get(sid, -1)
                counts[500][i], counts[1000][i] = n500, n1000
            for radius in RADII:
                within[(category, radius)] = counts[radius]
    return Measures(xy, area_index, distance, nearest, within)


BUILDING_USE = r"""
WITH link AS (
    SELECT r.id AS unit, b.building_id, r.status, r.use,
           CASE WHEN r.floor_area > 0 THEN r.floor_area / cardinality(r.building_ids) END AS area
    FROM residence r CROSS JOIN LATERAL unnest(r.building_ids) AS b(building_id)
    WHERE b.building_id = ANY(:ids)
), pand AS (
    SELECT building_id, count(DISTINCT unit) AS units,
           count(DISTINCT unit) FILTER (WHERE trim(status) = :out_of_use) AS units_out_of_use,
           sum(area) AS usable_floor_area, bool_or(area IS NOT NULL) AS has_area
    FROM link GROUP BY building_id
), uses AS (
    SELECT l.building_id, u.use,
           (CASE WHEN p.has_area THEN coalesce(l.area, 0) ELSE 1 END)
               / count(*) OVER (PARTITION BY l.building_id, l.unit) AS weight
    FROM link l JOIN pand p USING (building_id)
    CROSS JOIN LATERAL (
        SELECT regexp_replace(lower(trim(replace(part, '_', ' '))), '\s+', ' ', 'g') AS use
        FROM unnest(string_to_array(l.use, ',')) AS part WHERE trim(part) <> '') u
), per_use AS (
    SELECT building_id, use, sum(weight) AS weight FROM uses GROUP BY building_id, use
)
SELECT p.building_id, p.units, p.units_out_of_use, p.usable_floor_area, pu.use,
       pu.weight / nullif(sum(pu.weight) OVER (PARTITION BY p.building_id), 0) AS share
FROM pand p LEFT JOIN per_use pu USING (building_id)
ORDER BY p.building_id, pu.use
"""


def reference_building_use(engine: Engine, building_ids: list[str]) -> pd.DataFrame:
    """The rule of :func:`geo.score.use.building_use` in SQL: per pand (index) units, units out of use, usable floor
    area and the share of floor area per use (columns ``use_<gebruiksdoel>``); panden without units are absent."""
    from geo.score.use import UNIT_OUT_OF_USE, USE_COLUMNS, USES, use_column

    with engine.connect() as conn:
        rows = pd.DataFrame(
            conn.execute(sa.text(BUILDING_USE), {"ids": list(building_ids), "out_of_use": UNIT_OUT_OF_USE}).all(),
            columns=["building_id", "units", "units_out_of_use", "usable_floor_area", "use", "share"],
        )
    if rows.empty:
        return pd.DataFrame(columns=["units", "units_out_of_use", "usable_floor_area", *USE_COLUMNS])
    out = rows.groupby("building_id")[["units", "units_out_of_use", "usable_floor_area"]].first()
    known = rows.dropna(subset=["use"])
    shares = known.pivot_table(index="building_id", columns="use", values="share", aggfunc="sum", fill_value=0.0)
    has_shares = out.index.isin(shares.index)
    for use in USES:
        out[use_column(use)] = (
            shares[use].reindex(out.index).to_numpy(dtype=float) if use in shares else np.where(has_shares, 0.0, np.nan)
        )
    return out
