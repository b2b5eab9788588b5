"""The walking network in memory: nodes, edges, a sparse graph for scipy, and snapping points to edges."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
import sqlalchemy as sa
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sqlalchemy.engine import Engine

from geo.network import kernels

# Connected parts of the network with fewer nodes than this (fragments cut off at an extract's edge) take no
# snapped points, unless no part is that large (then the largest does).
MIN_PART_NODES = 50
# A point whose nearest segment needs more cells of the bucket grid searched than this (far from the network)
# is snapped with shapely's STRtree instead.
FAR_CELLS = 2_048
# Zero-cost edges would vanish from a scipy sparse graph; they cost this instead (far below a millimetre).
TINY = 1e-9


@dataclass
class Snap:
    """Points snapped to the network: edge index (-1: none), fraction along it, snap distance, snapped point."""

    edge: np.ndarray
    t: np.ndarray
    distance: np.ndarray
    point: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, keep: np.ndarray) -> Snap:
        return Snap(self.edge[keep], self.t[keep], self.distance[keep], self.point[keep])


@dataclass
class Network:
    """Nodes (OSM ids, RD xy) and undirected edges (node indices, cost and length in metres, geometry).

    Only edges of connected parts of at least :data:`MIN_PART_NODES` nodes, and no ferry, take snapped
    points: a location snapped to a fragment cut off by the extract's edge would reach nothing."""

    node_ids: np.ndarray
    node_xy: np.ndarray
    edge_ids: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_cost: np.ndarray
    edge_length: np.ndarray
    edge_kind: np.ndarray
    edge_geoms: np.ndarray
    sources: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    @classmethod
    def from_frames(cls, nodes: pd.DataFrame, edges: pd.DataFrame, sources: tuple[str, ...] = ()) -> Network:
        """From ``nodes`` (id, x, y) and ``edges`` (id, from_node, to_node, cost, length_m, kind, geom)."""
        ids, first = np.unique(nodes["id"].to_numpy(dtype=np.int64), return_index=True)
        xy = nodes[["x", "y"]].to_numpy(dtype=float)[first]
        order = np.argsort(edges["id"].to_numpy(), kind="stable")
        edges = edges.iloc[order]
        u = np.searchsorted(ids, edges["from_node"].to_numpy(dtype=np.int64))
        v = np.searchsorted(ids, edges["to_node"].to_numpy(dtype=np.int64))
        return cls(
            ids,
            xy,
            edges["id"].to_numpy(dtype=np.int64),
            u,
            v,
            edges["cost"].to_numpy(dtype=float),
            edges["length_m"].to_numpy(dtype=float),
            edges["kind"].to_numpy(dtype=object),
            np.asarray(edges["geom"].to_numpy(), dtype=object),
            tuple(sources),
        )

    @classmethod
    def load(cls, engine: Engine) -> Network | None:
        """Every loaded network (all sources, joined where they share OSM nodes); None if none is loaded."""
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("network_edge"):
                return None
            edges = pd.DataFrame(
                conn.execute(
                    sa.text(
                        "SELECT id, from_node, to_node, cost, length_m, kind, ST_AsBinary(geom) AS wkb "
                        "FROM network_edge ORDER BY id"
                    )
                ).all(),
                columns=["id", "from_node", "to_node", "cost", "length_m", "kind", "wkb"],
            )
            if edges.empty:
                return None
            nodes = pd.DataFrame(
                conn.execute(sa.text("SELECT id, ST_X(geom), ST_Y(geom) FROM network_node")).all(),
                columns=["id", "x", "y"],
            )
            sources = tuple(r[0] for r in conn.execute(sa.text("SELECT DISTINCT source FROM network_edge ORDER BY 1")))
        edges["geom"] = shapely.from_wkb([bytes(b) for b in edges.pop("wkb")])
        return cls.from_frames(nodes, edges, sources)

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @property
    def graph(self) -> sp.csr_matrix:
        """The undirected graph (one entry per node pair, the cheapest edge; loops left out), for scipy."""

        def build():
            lo, hi = np.minimum(self.edge_u, self.edge_v), np.maximum(self.edge_u, self.edge_v)
            keep = lo != hi
            lo, hi, cost = lo[keep], hi[keep], np.maximum(self.edge_cost[keep], TINY)
            order = np.lexsort((cost, hi, lo))
            lo, hi, cost = lo[order], hi[order], cost[order]
            first = np.ones(len(lo), dtype=bool)
            first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
            return sp.csr_matrix((cost[first], (lo[first], hi[first])), shape=(self.n_nodes, self.n_nodes))

        return self._cached("graph", build)

    @property
    def snappable(self) -> np.ndarray:
        """Edges that take snapped points: in a large enough connected part, not a ferry, longer than zero."""

        def build():
            _, labels = connected_components(self.graph, directed=False)
            sizes = np.bincount(labels)
            large = sizes >= min(MIN_PART_NODES, sizes.max())
            return large[labels[self.edge_u]] & (self.edge_kind != "ferry") & (self.edge_length > 0)

        return self._cached("snappable", build)

    @property
    def node_tree(self) -> cKDTree:
        return self._cached("node_tree", lambda: cKDTree(self.node_xy))

    @property
    def adjacency(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:attr:`graph` both ways as CSR arrays (indptr, indices, costs), for the compiled Dijkstra."""

        def build():
            both = (self.graph + self.graph.T).tocsr()
            both.sort_indices()
            return (
                both.indptr.astype(np.int64),
                both.indices.astype(np.int64),
                np.ascontiguousarray(both.data, dtype=np.float64),
            )

        return self._cached("adjacency", build)

    def _segments(self) -> dict:
        """The straight segments of every snappable edge (start ``a``, end ``b``, ``edge`` index, metres
        ``along`` the edge at the start) in a bucket grid: square cells (``x0``, ``y0``, ``cell``, ``ncx`` x
        ``ncy``), each listing the segments that pass through it (CSR ``starts``, ``members``)."""

        def build():
            edges = np.flatnonzero(self.snappable)
            coords, which = shapely.get_coordinates(self.edge_geoms[edges], return_index=True)
            same = which[1:] == which[:-1]
            a, b = np.ascontiguousarray(coords[:-1][same]), np.ascontiguousarray(coords[1:][same])
            edge = edges[which[:-1][same]]
            seg = np.hypot(*(b - a).T)
            starts = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
            first_of_edge = np.ones(len(edge), dtype=bool)
            first_of_edge[1:] = edge[1:] != edge[:-1]
            along = starts - np.maximum.accumulate(np.where(first_of_edge, starts, 0.0))
            lo = np.minimum(a.min(axis=0), b.min(axis=0))
            extent = np.maximum(np.maximum(a.max(axis=0), b.max(axis=0)) - lo, 1.0)
            cell = _cell_size(lo, extent, (a + b) / 2)
            ncx, ncy = (int(v) for v in extent // cell + 1)
            cells = np.zeros(ncx * ncy + 1, dtype=np.int64)
            members = np.empty(0, dtype=np.int64)
            kernels.bucket_cells(a, b, lo[0], lo[1], cell, ncx, ncy, False, cells, members)
            cells = np.cumsum(cells)
            members = np.empty(cells[-1], dtype=np.int64)
            kernels.bucket_cells(a, b, lo[0], lo[1], cell, ncx, ncy, True, cells[:-1].copy(), members)
            return {
                "a": a,
                "b": b,
                "edge": edge,
                "edge_id": self.edge_ids[edge],
                "along": along,
                "x0": float(lo[0]),
                "y0": float(lo[1]),
                "cell": float(cell),
                "ncx": ncx,
                "ncy": ncy,
                "starts": cells,
                "members": members,
            }

        return self._cached("segments", build)

    def snap(self, xy: np.ndarray, workers: int | None = None) -> Snap:
        """The nearest point on a snappable edge for every point of ``xy`` (N x 2, RD metres); ties go to the
        lowest edge id. Points that are not finite snap to nothing (edge -1, distance inf).

        Exact: the bucket grid's cells are searched in rings around each point until no unseen segment can be
        nearer; points far from the network (more than :data:`FAR_CELLS` cells to search) are measured
        against the edges with shapely's STRtree instead."""
        xy = np.ascontiguousarray(np.asarray(xy, dtype=float).reshape(-1, 2))
        n = len(xy)
        edge, t, distance, point = np.full(n, -1), np.full(n, np.nan), np.full(n, np.inf), np.full((n, 2), np.nan)
        if n == 0 or not self.snappable.any():
            return Snap(edge, t, distance, point)
        g = self._segments()
        # taken cell by cell (neighbours share their cells' segments in the cache)
        cells = np.nan_to_num(np.floor((xy - [g["x0"], g["y0"]]) / g["cell"]), posinf=0, neginf=0)
        cells = np.clip(cells, 0, [g["ncx"] - 1, g["ncy"] - 1]).astype(np.int64)
        order = kernels.grouped(cells[:, 1] * g["ncx"] + cells[:, 0], g["ncx"] * g["ncy"])[1]

        def run(rows: np.ndarray) -> None:
            kernels.nearest_segment(
                xy, rows, g["a"], g["b"], g["edge"], g["edge_id"], g["along"], self.edge_length, g["x0"], g["y0"],
                g["cell"], g["ncx"], g["ncy"], g["starts"], g["members"], FAR_CELLS, edge, t, distance, point,
            )  # fmt: skip

        step = -(-n // (kernels.cores() * 4)) if n >= 4096 else n  # a few parts per thread
        kernels.in_threads(run, [order[i : i + step] for i in range(0, n, step)], workers)
        found = edge >= 0
        far = np.flatnonzero(~found & np.isfinite(xy).all(axis=1))
        if len(far):
            edge[far], t[far], distance[far], point[far] = self._snap_far(xy[far])
        return Snap(edge, t, distance, point)

    def _snap_far(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`snap` for points far from the network: the nearest edges by shapely's STRtree."""
        edges = np.flatnonzero(self.snappable)
        tree = self._cached("edge_tree", lambda: shapely.STRtree(self.edge_geoms[edges]))
        points = shapely.points(xy)
        (rows, hits), distance = tree.query_nearest(points, all_matches=True, return_distance=True)
        order = np.lexsort((self.edge_ids[edges[hits]], rows))  # ties: the lowest edge id
        first = order[np.unique(rows[order], return_index=True)[1]]
        edge = edges[hits[first]]
        lines = self.edge_geoms[edge]
        metres = shapely.line_locate_point(lines, points)
        t = np.clip(metres / self.edge_length[edge], 0.0, 1.0)
        point = shapely.get_coordinates(shapely.line_interpolate_point(lines, metres))
        return edge, t, distance[first], point


def _cell_size(lo: np.ndarray, extent: np.ndarray, mid: np.ndarray) -> float:
    """A cell size for the bucket grid of segments with midpoints ``mid``: about two segments per occupied
    cell, with at most about four cells per segment in all."""
    n = len(mid)
    area = float(extent[0] * extent[1])
    cell = np.sqrt(area / n)
    keys = np.floor((mid - lo) / cell).astype(np.int64)
    occupied = len(np.unique(keys[:, 0] * (int(extent[1] // cell) + 2) + keys[:, 1]))
    return float(max(cell * np.sqrt(2.0 * occupied / n), np.sqrt(area / (4.0 * n))))
