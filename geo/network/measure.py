"""Distances along the network for many locations at once: nearest service and counts within radii.

Locations and services are snapped to the nearest walkable edge (:meth:`Network.snap`); a distance is
``snap(location) + along the network + snap(service)``, where "along" starts and ends at the snapped
points (a fraction of their edges). The nearest service per location comes from one multi-source Dijkstra
per category over the whole network (scipy), from the services as extra nodes; counts within the radii
come from Dijkstra bounded by the largest radius over tiles of locations (each tile's neighbourhood only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.network.graph import TINY, Network, Snap

TILE_M = 2_000.0  # locations are counted in tiles of this size (one bounded Dijkstra per tile)


@dataclass
class Along:
    """Network-only results for N locations: distance (inf: unreachable), nearest (index, -1), counts."""

    distance: np.ndarray
    nearest: np.ndarray
    within: dict[int, np.ndarray]


def _offsets(net: Network, snap: Snap) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per snapped point: its edge's two nodes and the cost from the point (its snap included) to each."""
    cost = net.edge_cost[snap.edge]
    return (
        net.edge_u[snap.edge],
        net.edge_v[snap.edge],
        snap.t * cost + snap.distance,
        (1.0 - snap.t) * cost + snap.distance,
    )


def nearest_along(net: Network, loc: Snap, svc: Snap) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest service along the network and its index in ``svc`` (every location and
    service must be snapped). One multi-source Dijkstra from the services, then a lookup per location."""
    n, m = net.n_nodes, len(svc)
    if m == 0 or len(loc) == 0:
        return np.full(len(loc), np.inf), np.full(len(loc), -1)
    su, sv, off_u, off_v = _offsets(net, svc)
    base = net.graph.tocoo()
    rows = np.concatenate([base.row, n + np.arange(m), n + np.arange(m)])
    cols = np.concatenate([base.col, su, sv])
    weights = np.concatenate([base.data, np.maximum(off_u, TINY), np.maximum(off_v, TINY)])
    graph = sp.csr_matrix((weights, (rows, cols)), shape=(n + m, n + m))
    dist, _, origin = dijkstra(graph, directed=False, indices=n + np.arange(m), min_only=True, return_predecessors=True)
    a, b, off_a, off_b = _offsets(net, loc)
    via_a, via_b = off_a + dist[a], off_b + dist[b]
    distance = np.minimum(via_a, via_b)
    nearest = np.where(via_a <= via_b, origin[a], origin[b]) - n
    nearest = np.where(np.isfinite(distance), nearest, -1)
    # A service on the location's own edge: straight along it.
    pairs_l, pairs_s = _same_edge(loc.edge, svc.edge)
    if len(pairs_l):
        cost = net.edge_cost[loc.edge[pairs_l]]
        direct = loc.distance[pairs_l] + np.abs(loc.t[pairs_l] - svc.t[pairs_s]) * cost + svc.distance[pairs_s]
        order = np.lexsort((pairs_s, direct, pairs_l))
        first = order[np.unique(pairs_l[order], return_index=True)[1]]
        better = direct[first] < distance[pairs_l[first]]
        distance[pairs_l[first][better]] = direct[first][better]
        nearest[pairs_l[first][better]] = pairs_s[first][better]
    return distance, nearest


def _same_edge(loc_edge: np.ndarray, svc_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (location, service) index pairs on the same edge."""
    order = np.argsort(svc_edge, kind="stable")
    sorted_edges = svc_edge[order]
    lo = np.searchsorted(sorted_edges, loc_edge, side="left")
    hi = np.searchsorted(sorted_edges, loc_edge, side="right")
    sizes = hi - lo
    if not sizes.any():
        return np.array([], np.int64), np.array([], np.int64)
    pairs_l = np.repeat(np.arange(len(loc_edge)), sizes)
    pos = np.repeat(lo, sizes) + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    return pairs_l, order[pos]


def counts_along(
    net: Network, loc: Snap, services: dict[str, Snap], radii: tuple[int, ...], tile: float = TILE_M
) -> dict[str, dict[int, np.ndarray]]:
    """Per category and radius: how many services lie within the radius along the network of each location.

    Locations are taken in square tiles; for each tile, one Dijkstra bounded by the largest radius runs
    from the nodes of the services within reach (every category at once) over the nodes within reach."""
    largest = float(max(radii))
    out = {c: {r: np.zeros(len(loc), dtype=np.int64) for r in radii} for c in services}
    if len(loc) == 0:
        return out
    cats = [c for c in services if len(services[c])]
    trees = {c: cKDTree(services[c].point) for c in cats}
    offsets = {c: _offsets(net, services[c]) for c in cats}
    loc_a, loc_b, loc_off_a, loc_off_b = _offsets(net, loc)
    keys = np.floor(loc.point / tile).astype(np.int64)
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    breaks = np.flatnonzero(np.any(np.diff(keys[order], axis=0) != 0, axis=1)) + 1
    graph = net.graph
    for members in np.split(order, breaks):
        points = loc.point[members]
        lo, hi = points.min(axis=0), points.max(axis=0)
        centre, reach = (lo + hi) / 2, float(np.hypot(*(hi - lo))) / 2 + largest
        near = {c: np.asarray(trees[c].query_ball_point(centre, reach), dtype=np.int64) for c in cats}
        near = {c: np.sort(v) for c, v in near.items() if len(v)}
        if not near:
            continue
        nodes = np.sort(np.asarray(net.node_tree.query_ball_point(centre, reach), dtype=np.int64))
        # The neighbourhood's graph plus one extra node per service within reach (every category), joined to
        # its edge's nodes at the cost from the service: one bounded Dijkstra row per service.
        cats_near = list(near)
        ends_u = np.concatenate([offsets[c][0][near[c]] for c in cats_near])
        ends_v = np.concatenate([offsets[c][1][near[c]] for c in cats_near])
        cost_u = np.concatenate([offsets[c][2][near[c]] for c in cats_near])
        cost_v = np.concatenate([offsets[c][3][near[c]] for c in cats_near])
        m, k = len(ends_u), len(nodes)
        lu, lv = _local(nodes, ends_u), _local(nodes, ends_v)
        sub = graph[nodes][:, nodes].tocoo()
        extra = np.arange(m) + k
        rows = np.concatenate([sub.row, extra[lu >= 0], extra[lv >= 0]])
        cols = np.concatenate([sub.col, lu[lu >= 0], lv[lv >= 0]])
        data = np.concatenate([sub.data, np.maximum(cost_u[lu >= 0], TINY), np.maximum(cost_v[lv >= 0], TINY)])
        full = sp.csr_matrix((data, (rows, cols)), shape=(k + m, k + m))
        reached = dijkstra(full, directed=False, indices=extra, limit=largest)[:, :k]
        reached = np.hstack([reached, np.full((m, 1), np.inf)])  # column -1: not in the neighbourhood
        a_local, b_local = _local(nodes, loc_a[members]), _local(nodes, loc_b[members])
        first = 0
        for c in cats_near:
            v = near[c]
            per_node = reached[first : first + len(v)]  # services x neighbourhood nodes
            first += len(v)
            d = np.minimum(
                loc_off_a[members][None, :] + per_node[:, a_local], loc_off_b[members][None, :] + per_node[:, b_local]
            )
            same = services[c].edge[v][:, None] == loc.edge[members][None, :]
            if same.any():
                direct = (
                    np.abs(services[c].t[v][:, None] - loc.t[members][None, :]) * net.edge_cost[loc.edge[members]]
                    + services[c].distance[v][:, None]
                    + loc.distance[members][None, :]
                )
                d = np.where(same, np.minimum(d, direct), d)
            for r in radii:
                out[c][r][members] = (d <= r).sum(axis=0)
    return out


def _local(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of ``ids`` in ``sorted_ids``, -1 where absent."""
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1) if len(sorted_ids) else np.full(len(ids), -1)


def along(net: Network, loc: Snap, services: dict[str, Snap], radii: tuple[int, ...]) -> dict[str, Along]:
    """Nearest service and counts within ``radii`` along the network, per category (snapped inputs)."""
    counts = counts_along(net, loc, services, radii)
    out = {}
    for category, svc in services.items():
        distance, nearest = nearest_along(net, loc, svc)
        out[category] = Along(distance, nearest, counts[category])
    return out
