"""Distances along the network for many locations at once: nearest service and counts within radii.

Locations and services are snapped to the nearest walkable edge (:meth:`Network.snap`); a distance is
``snap(location) + along the network + snap(service)``, where "along" starts and ends at the snapped
points (a fraction of their edges), or runs straight along the edge when both lie on the same one.

- Nearest service: one multi-source Dijkstra per category over the whole network, seeded at the two end
  nodes of every service's edge, then a lookup per location (its edge's two nodes, and services on its own
  edge).
- Counts within the radii: one Dijkstra bounded by the largest radius from each point of the smaller side
  (the services of all categories, or the locations), collecting the other side's points on the nodes it
  reaches.

The loops are compiled (:mod:`geo.network.kernels`) and run on all cores, one category (or one part of the
locations) per thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from geo.network import kernels
from geo.network.graph import Network, Snap


@dataclass
class Along:
    """Network-only results for N locations: distance (inf: unreachable), nearest (index, -1), counts."""

    distance: np.ndarray
    nearest: np.ndarray
    within: dict[int, np.ndarray]


@dataclass
class _Points:
    """Snapped points as the kernels take them: edge end nodes ``u``, ``v``, cost to each (snap included),
    edge, fraction along it, snap distance."""

    u: np.ndarray
    v: np.ndarray
    off_u: np.ndarray
    off_v: np.ndarray
    edge: np.ndarray
    t: np.ndarray
    snap: np.ndarray

    @classmethod
    def of(cls, net: Network, snap: Snap) -> _Points:
        edge = np.ascontiguousarray(snap.edge, dtype=np.int64)
        cost = net.edge_cost[edge]
        t, distance = np.ascontiguousarray(snap.t, dtype=float), np.ascontiguousarray(snap.distance, dtype=float)
        return cls(
            net.edge_u[edge].astype(np.int64),
            net.edge_v[edge].astype(np.int64),
            t * cost + distance,
            (1.0 - t) * cost + distance,
            edge,
            t,
            distance,
        )

    def take(self, rows: np.ndarray) -> _Points:
        return _Points(*(getattr(self, f)[rows] for f in ("u", "v", "off_u", "off_v", "edge", "t", "snap")))

    def by_node(self, n_nodes: int) -> np.ndarray:
        """An order of the points by their first node: neighbours in the graph's node order stay together
        (far fewer cache misses in the compiled loops than in the input's order)."""
        return _grouped(self.u, n_nodes)[1]


def _grouped(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the indices of ``keys`` grouped by key (0 .. size - 1): (pointers, indices)."""
    return kernels.grouped(np.ascontiguousarray(keys, dtype=np.int64), size)


def nearest_along(
    net: Network, loc: Snap, services: dict[str, Snap], within: dict[str, tuple] | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per category: the distance to the nearest service along the network and its index in the category's
    snap (inf and -1 where none is reachable; ties: the lowest index). Every location and service must be
    snapped. ``within``: per category the per-node result within a limit (from :func:`counts_along`), to be
    completed beyond it; otherwise one multi-source Dijkstra per category over the whole network."""
    if len(loc) == 0:
        return {c: (np.full(0, np.inf), np.full(0, -1)) for c in services}
    indptr, indices, weights = net.adjacency
    there = _Points.of(net, loc)
    order = there.by_node(net.n_nodes)
    there = there.take(order)
    n_edges = len(net.edge_cost)

    def one(category: str) -> tuple[np.ndarray, np.ndarray]:
        svc = services[category]
        distance, nearest = np.full(len(loc), np.inf), np.full(len(loc), -1)
        if len(svc) == 0:
            return distance, nearest
        s = _Points.of(net, svc)
        if within is not None and category in within:
            limit, dist, origin = within[category]
            kernels.nearest_beyond(indptr, indices, weights, limit, dist, origin)
        else:
            seeds = np.arange(len(svc), dtype=np.int64)
            dist, origin = np.empty(net.n_nodes), np.empty(net.n_nodes, dtype=np.int64)
            kernels.nearest_source(
                indptr, indices, weights, np.concatenate([s.u, s.v]), np.concatenate([s.off_u, s.off_v]),
                np.concatenate([seeds, seeds]), dist, origin,
            )  # fmt: skip
        by_edge_ptr, by_edge = _grouped(s.edge, n_edges)
        distance[order], nearest[order] = kernels.nearest_lookup(
            dist, origin, net.edge_cost, there.u, there.v, there.off_u, there.off_v, there.edge, there.t,
            there.snap, s.t, s.snap, by_edge_ptr, by_edge,
        )  # fmt: skip
        return distance, nearest

    return dict(zip(services, kernels.in_threads(one, services), strict=True))


def counts_along(
    net: Network, loc: Snap, services: dict[str, Snap], radii: tuple[int, ...], within: dict | None = None
) -> dict[str, dict[int, np.ndarray]]:
    """Per category and radius: how many services lie within the radius along the network of each location.

    One Dijkstra bounded by the largest radius runs from every service (one category per thread), or from
    every location when there are fewer locations than services. In the first case, and if ``within`` is a
    dict, it receives per category (limit, cost, service) per node within the limit, for
    :func:`nearest_along`."""
    ordered = sorted(radii)
    sizes = [len(s) for s in services.values()]
    if not (len(loc) and sum(sizes)):
        return {c: {r: np.zeros(len(loc), dtype=np.int64) for r in radii} for c in services}
    group = np.repeat(np.arange(len(services), dtype=np.int64), sizes)
    bounds = np.cumsum([0, *sizes])
    svc = _Points.of(net, _concatenate(list(services.values())))
    by_group = np.lexsort((svc.u, group))  # per category, by node (the counts do not depend on the order)
    svc, group, index = svc.take(by_group), group[by_group], by_group - bounds[group[by_group]]
    there = _Points.of(net, loc)
    order = there.by_node(net.n_nodes)
    there = there.take(order)
    if len(loc) < len(group):  # from the locations, each to its own row of ``counted``
        counted = np.zeros((len(loc), len(services) * len(ordered)), dtype=np.int32)
        step = -(-len(loc) // (kernels.cores() * 4))
        tasks = [(np.arange(i, min(i + step, len(loc))), counted, None) for i in range(0, len(loc), step)]
        by_node = svc.by_node(net.n_nodes)
        _count(net, there, None, svc.take(by_node), group[by_node] * len(ordered), True, ordered, tasks)
        parts = [counted[:, k * len(ordered) : (k + 1) * len(ordered)] for k in range(len(services))]
    else:  # from the services, one category per task, each to its own arrays
        parts = [np.zeros((len(loc), len(ordered)), dtype=np.int32) for _ in services]
        near = [(np.full(net.n_nodes, np.inf), np.full(net.n_nodes, -1, dtype=np.int64)) for _ in services]
        tasks = [(np.arange(bounds[k], bounds[k + 1]), parts[k], near[k]) for k in range(len(sizes)) if sizes[k]]
        _count(net, svc, index, there, np.zeros(len(loc), np.int64), False, ordered, tasks)
        if within is not None:
            within.update({c: (float(ordered[-1]), *near[k]) for k, c in enumerate(services) if sizes[k]})
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return {c: {r: parts[k][back, ordered.index(r)].astype(np.int64) for r in radii} for k, c in enumerate(services)}


def _count(net, src, src_index, tgt, tgt_column, sources_are_locations, radii, tasks) -> None:
    """Run :func:`kernels.count_within` for each (source indices, counts, per-node nearest) of ``tasks``, on
    threads."""
    indptr, indices, weights = net.adjacency
    first_ptr = _grouped(tgt.u, net.n_nodes)[0]  # the targets come sorted by their first node
    second_ptr, second = _grouped(tgt.v, net.n_nodes)
    by_edge_ptr, by_edge = _grouped(tgt.edge, len(net.edge_cost))
    limits = np.asarray(radii, dtype=float)
    unused = (np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(1, dtype=np.int64))

    def run(task) -> None:
        sources, out, near = task
        index, near_d, near_o = unused if near is None else (src_index, *near)
        kernels.count_within(
            indptr, indices, weights, net.edge_cost, sources.astype(np.int64),
            src.u, src.v, src.off_u, src.off_v, src.edge, src.t, src.snap,
            first_ptr, second_ptr, second, tgt.u, tgt.v, tgt.off_u, tgt.off_v, tgt.edge, tgt.t, tgt.snap, tgt_column,
            by_edge_ptr, by_edge, limits, sources_are_locations, out, index, near_d, near_o,
        )  # fmt: skip

    kernels.in_threads(run, tasks)


def _concatenate(snaps: list[Snap]) -> Snap:
    return Snap(*(np.concatenate([getattr(s, f) for s in snaps]) for f in ("edge", "t", "distance", "point")))


def along(
    net: Network, loc: Snap, services: dict[str, Snap], radii: tuple[int, ...], seconds: dict | None = None
) -> dict[str, Along]:
    """Nearest service and counts within ``radii`` along the network, per category (snapped inputs).
    ``seconds``, if a dict, receives the time of each step ("counts", "nearest")."""
    start = time.perf_counter()
    within: dict = {}
    counts = counts_along(net, loc, services, radii, within)
    middle = time.perf_counter()
    nearest = nearest_along(net, loc, services, within)
    if seconds is not None:
        seconds.update(counts=middle - start, nearest=time.perf_counter() - middle)
    return {c: Along(*nearest[c], counts[c]) for c in services}


def warm_up() -> None:
    """Load (or, on a first run, compile) the engine's compiled code by measuring on a constructed 3 x 3 grid."""
    import pandas as pd
    import shapely

    xy = np.array([(x, y) for y in range(3) for x in range(3)], dtype=float) * 100.0
    pairs = [(i, i + 1) for i in range(9) if i % 3 < 2] + [(i, i + 3) for i in range(6)]
    nodes = pd.DataFrame({"id": np.arange(9) + 1, "x": xy[:, 0], "y": xy[:, 1]})
    edges = pd.DataFrame(
        {
            "id": np.arange(len(pairs)) + 1,
            "from_node": [a + 1 for a, _ in pairs],
            "to_node": [b + 1 for _, b in pairs],
            "cost": 100.0,
            "length_m": 100.0,
            "kind": "residential",
            "geom": [shapely.LineString([xy[a], xy[b]]) for a, b in pairs],
        }
    )
    net = Network.from_frames(nodes, edges)
    points = net.snap(np.array([[10.0, 20.0], [150.0, 160.0], [5000.0, 5000.0]]))
    along(net, points, {"a": points.take(np.array([0, 1]))}, (100, 200))  # counted from the services
    along(net, points.take(np.array([0])), {"a": points}, (100, 200))  # counted from the location
