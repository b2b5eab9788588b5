"""The reference path: the same network distances computed by PostGIS and pgRouting in SQL.

Independent of the engine: the connected parts come from ``pgr_connectedComponents``, points are
snapped with ``ORDER BY geom <-> point`` and ``ST_LineLocatePoint``, and distances come from
``pgr_withPointsCost`` between the snapped points (undirected). Slow (every location-service pair); for
tests and spot checks, not for bulk.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.network.graph import MIN_PART_NODES
from geo.network.measure import Along

EDGES_SQL = "SELECT id, from_node AS source, to_node AS target, cost, reverse_cost FROM network_edge"

PREPARE = """
CREATE TEMP TABLE ref_snappable ON COMMIT DROP AS
WITH cc AS (SELECT component, node FROM pgr_connectedComponents(:edges)),
sizes AS (SELECT component, count(*) AS n FROM cc GROUP BY component),
large AS (SELECT component FROM sizes WHERE n >= least(:min_nodes, (SELECT max(n) FROM sizes)))
SELECT e.id, e.geom FROM network_edge e
WHERE e.kind <> 'ferry' AND e.length_m > 0
  AND e.from_node IN (SELECT node FROM cc WHERE component IN (SELECT component FROM large));
CREATE INDEX ON ref_snappable USING gist (geom);
CREATE TEMP TABLE ref_point (pid bigint PRIMARY KEY, geom geometry(Point, 28992)) ON COMMIT DROP;
"""

SNAP = """
CREATE TEMP TABLE ref_snap ON COMMIT DROP AS
SELECT p.pid, e.id AS edge_id, ST_LineLocatePoint(e.geom, p.geom) AS fraction, ST_Distance(e.geom, p.geom) AS snap,
       e.from_node, e.to_node
FROM ref_point p
CROSS JOIN LATERAL (SELECT s.id, s.geom, n.from_node, n.to_node FROM ref_snappable s JOIN network_edge n ON n.id = s.id
                    ORDER BY s.geom <-> p.geom, s.id LIMIT 1) e
"""

# pgRouting takes a point at either end of its edge as that vertex (and lists no pair from a vertex to itself).
VERTEX = "CASE WHEN fraction = 0 THEN from_node WHEN fraction = 1 THEN to_node ELSE -pid END"

COSTS = """
SELECT start_pid, end_pid, agg_cost
FROM pgr_withPointsCost(:edges, 'SELECT pid, edge_id, fraction FROM ref_snap WHERE fraction > 0 AND fraction < 1',
                        CAST(:starts AS bigint[]), CAST(:ends AS bigint[]), directed => false)
"""


def reference_along(
    engine: Engine, xy: np.ndarray, services: dict[str, np.ndarray], radii: tuple[int, ...]
) -> dict[str, Along]:
    """Per category: network distance to the nearest service, its index, and counts within ``radii``,
    for every location of ``xy`` (N x 2, RD), computed by pgRouting."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    points = [xy, *(np.asarray(v, dtype=float).reshape(-1, 2) for v in services.values())]
    offsets = np.cumsum([0, *(len(p) for p in points)])
    every = np.vstack(points)
    with engine.begin() as conn:
        for statement in PREPARE.strip().split(";\n"):
            conn.execute(sa.text(statement), {"edges": EDGES_SQL, "min_nodes": MIN_PART_NODES})
        conn.execute(
            sa.text("INSERT INTO ref_point VALUES (:pid, ST_SetSRID(ST_MakePoint(:x, :y), 28992))"),
            [{"pid": i + 1, "x": float(x), "y": float(y)} for i, (x, y) in enumerate(every)],
        )
        conn.execute(sa.text(SNAP))
        snapped = conn.execute(sa.text(f"SELECT pid, {VERTEX}, snap FROM ref_snap ORDER BY pid")).all()
        vertex = np.array([v for _, v, _ in snapped], dtype=np.int64)
        snap = np.array([d for _, _, d in snapped], dtype=float)
        out = {}
        for k, category in enumerate(services, start=1):
            loc_v, svc_v = vertex[: len(xy)], vertex[offsets[k] : offsets[k + 1]]
            cost = np.where(loc_v[:, None] == svc_v[None, :], 0.0, np.inf)
            if len(svc_v) and len(loc_v):
                rows = conn.execute(
                    sa.text(COSTS),
                    {"edges": EDGES_SQL, "starts": sorted(set(loc_v.tolist())), "ends": sorted(set(svc_v.tolist()))},
                ).all()
                pair = {(int(a), int(b)): c for a, b, c in rows}
                for i, a in enumerate(loc_v):
                    for j, b in enumerate(svc_v):
                        if (int(a), int(b)) in pair:
                            cost[i, j] = pair[(int(a), int(b))]
            total = snap[: len(xy), None] + cost + snap[offsets[k] : offsets[k + 1]][None, :]
            if total.shape[1]:
                distance = total.min(axis=1)
                nearest = np.where(np.isfinite(distance), total.argmin(axis=1), -1)
            else:
                distance, nearest = np.full(len(xy), np.inf), np.full(len(xy), -1)
            out[category] = Along(distance, nearest, {r: (total <= r).sum(axis=1) for r in radii})
    return out
