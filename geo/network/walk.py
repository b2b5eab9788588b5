"""Routes and walking areas on the network, for maps: the walked line to a service, and isochrones.

A walking area is the part of the network reached within a walking time (at
:data:`~geo.network.rules.WALKING_SPEED_KMH`, the location's snap distance included), drawn as the reached
edges (partly reached ones cut where the time runs out) buffered by :data:`AREA_BUFFER_M`: not a circle.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from geo.network.graph import TINY, Network, Snap
from geo.network.rules import WALKING_SPEED_KMH

AREA_BUFFER_M = 40.0  # reached streets drawn this wide on either side


def minutes_to_metres(minutes: float) -> float:
    return minutes * 60.0 * WALKING_SPEED_KMH / 3.6


def _from(net: Network, snap: Snap, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Distance from a snapped point (index 0 of ``snap``; its snap included) to every node, and predecessors
    (the point is the extra node ``n``)."""
    n = net.n_nodes
    base = net.graph.tocoo()
    e = snap.edge[0]
    cost = net.edge_cost[e]
    off = [snap.distance[0] + snap.t[0] * cost, snap.distance[0] + (1 - snap.t[0]) * cost]
    rows = np.concatenate([base.row, [n, n]])
    cols = np.concatenate([base.col, [net.edge_u[e], net.edge_v[e]]])
    data = np.concatenate([base.data, np.maximum(off, TINY)])
    graph = sp.csr_matrix((data, (rows, cols)), shape=(n + 1, n + 1))
    dist, pred = dijkstra(graph, directed=False, indices=n, limit=limit, return_predecessors=True)
    return dist, pred


def _edge_between(net: Network, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cheapest edge joining each node pair (a, b)."""

    def build():
        lo, hi = np.minimum(net.edge_u, net.edge_v), np.maximum(net.edge_u, net.edge_v)
        key = lo * net.n_nodes + hi
        order = np.lexsort((net.edge_cost, key))
        return key[order], order

    keys, order = net._cached("pair_index", build)
    want = np.minimum(a, b) * net.n_nodes + np.maximum(a, b)
    return order[np.searchsorted(keys, want)]


def _piece(net: Network, e: int, t0: float, t1: float) -> np.ndarray:
    """Coordinates of edge ``e`` from fraction ``t0`` to ``t1`` (either way)."""
    line = substring(net.edge_geoms[e], min(t0, t1), max(t0, t1), normalized=True)
    coords = shapely.get_coordinates(line)
    return coords[::-1] if t0 > t1 else coords


def route(net: Network, start_xy, end_xy) -> shapely.LineString | None:
    """The walked line from ``start_xy`` to ``end_xy`` (RD), snaps included; None if unreachable."""
    start, end = net.snap(np.array([start_xy])), net.snap(np.array([end_xy]))
    if start.edge[0] < 0 or end.edge[0] < 0:
        return None
    n = net.n_nodes
    dist, pred = _from(net, start)
    e2, t2 = end.edge[0], end.t[0]
    c2 = net.edge_cost[e2]
    options = [
        (dist[net.edge_u[e2]] + t2 * c2, net.edge_u[e2], 0.0),
        (dist[net.edge_v[e2]] + (1 - t2) * c2, net.edge_v[e2], 1.0),
    ]
    if e2 == start.edge[0]:
        options.append((abs(t2 - start.t[0]) * c2, -1, None))
    total, node, node_t = min(options, key=lambda o: o[0])
    if not np.isfinite(total):
        return None
    parts = [np.array([start_xy, start.point[0]])]
    if node < 0:  # along the shared edge
        parts.append(_piece(net, e2, start.t[0], t2))
    else:
        path = [node]
        while pred[path[-1]] != n:
            path.append(pred[path[-1]])
        path = path[::-1]
        e1 = start.edge[0]
        parts.append(_piece(net, e1, start.t[0], 0.0 if path[0] == net.edge_u[e1] else 1.0))
        if len(path) > 1:
            a, b = np.array(path[:-1]), np.array(path[1:])
            for k, e in enumerate(_edge_between(net, a, b)):
                forward = net.edge_u[e] == a[k]
                parts.append(_piece(net, e, 0.0 if forward else 1.0, 1.0 if forward else 0.0))
        parts.append(_piece(net, e2, node_t, t2))
    parts.append(np.array([end.point[0], end_xy]))
    return shapely.LineString(np.vstack(parts))


def walking_area(net: Network, xy, metres: float) -> shapely.Geometry | None:
    """The area reached on foot within ``metres`` along the network from ``xy`` (RD); None off the network."""
    start = net.snap(np.array([xy]))
    if start.edge[0] < 0 or start.distance[0] >= metres:
        return None
    dist, _ = _from(net, start, limit=metres)
    d_u, d_v = dist[net.edge_u], dist[net.edge_v]
    reached = np.flatnonzero((np.isfinite(d_u) | np.isfinite(d_v)) & (net.edge_cost > 0))
    lines = []
    for e in reached:
        c = net.edge_cost[e]
        from_u = min(max((metres - d_u[e]) / c, 0.0), 1.0) if np.isfinite(d_u[e]) else 0.0
        from_v = min(max((metres - d_v[e]) / c, 0.0), 1.0) if np.isfinite(d_v[e]) else 0.0
        if from_u + from_v >= 1.0:
            lines.append(net.edge_geoms[e])
        else:
            if from_u > 0:
                lines.append(substring(net.edge_geoms[e], 0.0, from_u, normalized=True))
            if from_v > 0:
                lines.append(substring(net.edge_geoms[e], 1.0 - from_v, 1.0, normalized=True))
    e, t, budget = start.edge[0], start.t[0], (metres - start.distance[0]) / max(net.edge_cost[start.edge[0]], TINY)
    lines.append(substring(net.edge_geoms[e], max(t - budget, 0.0), min(t + budget, 1.0), normalized=True))
    lines.append(shapely.LineString([xy, start.point[0]]))
    return shapely.union_all(shapely.buffer(np.array(lines, dtype=object), AREA_BUFFER_M, quad_segs=2)).simplify(5.0)
