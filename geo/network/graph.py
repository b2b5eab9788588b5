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

# Snapping cuts edges into pieces at most this long; the nearest piece is then certain within half of it.
PIECE_M = 20.0
# Connected parts of the network with fewer nodes than this (fragments cut off at an extract's edge) take no
# snapped points, unless no part is that large (then the largest does).
MIN_PART_NODES = 50
SNAP_CHUNK = 65_536  # points snapped at a time
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

    def _pieces(self):
        """Every snappable edge cut into straight pieces of at most :data:`PIECE_M`, with a KD-tree on their
        midpoints: (tree, start xy, end xy, edge index, metres along the edge at the start, half longest)."""

        def build():
            edges = np.flatnonzero(self.snappable)
            coords, which = shapely.get_coordinates(self.edge_geoms[edges], return_index=True)
            same = which[1:] == which[:-1]
            a, b, edge = coords[:-1][same], coords[1:][same], edges[which[:-1][same]]
            seg = np.hypot(*(b - a).T)
            # metres along the edge at each segment's start
            starts = np.concatenate([[0.0], np.cumsum(seg)[:-1]])
            first_of_edge = np.ones(len(edge), dtype=bool)
            first_of_edge[1:] = edge[1:] != edge[:-1]
            offset = starts - np.maximum.accumulate(np.where(first_of_edge, starts, 0.0))
            parts = np.maximum(np.ceil(seg / PIECE_M), 1).astype(np.int64)
            k = np.repeat(np.arange(len(seg)), parts)
            j = np.arange(parts.sum()) - np.repeat(np.cumsum(parts) - parts, parts)
            f0, f1 = j / parts[k], (j + 1) / parts[k]
            p0 = a[k] + (b[k] - a[k]) * f0[:, None]
            p1 = a[k] + (b[k] - a[k]) * f1[:, None]
            along = offset[k] + seg[k] * f0
            half = float(np.max(np.hypot(*(p1 - p0).T))) / 2 if len(p0) else 0.0
            return cKDTree((p0 + p1) / 2), p0, p1, edge[k], along, half

        return self._cached("pieces", build)

    def snap(self, xy: np.ndarray, k: int = 12, workers: int = -1) -> Snap:
        """The nearest point on a snappable edge for every point of ``xy`` (N x 2, RD metres).

        Exact: the ``k`` nearest pieces (by midpoint) are measured, and points where a nearer piece could
        hide beyond them are measured against every piece within reach. Ties go to the lowest edge id."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        n = len(xy)
        if n > SNAP_CHUNK:  # in chunks: the candidate arrays stay small (cache, memory)
            parts = [self.snap(xy[i : i + SNAP_CHUNK], k, workers) for i in range(0, n, SNAP_CHUNK)]
            return Snap(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("edge", "t", "distance", "point")))
        if n == 0 or not self.snappable.any():
            return Snap(np.full(n, -1), np.full(n, np.nan), np.full(n, np.inf), np.full((n, 2), np.nan))
        tree, p0, p1, edge, along, half = self._pieces()
        rows_todo = np.arange(n)
        best = (np.full(n, np.inf), np.zeros(n, np.int64), np.zeros(n))
        while len(rows_todo):  # more candidates for the points where a nearer piece may still hide
            k = min(k, len(p0))
            bound = float(best[0][rows_todo].max()) + half + 1e-6  # inf on the first pass
            mid_d, cand = tree.query(xy[rows_todo], k=k, distance_upper_bound=bound, workers=workers)
            mid_d, cand = mid_d.reshape(len(rows_todo), k), cand.reshape(len(rows_todo), k)
            found = cand < len(p0)
            cand = np.where(found, cand, cand[:, :1])  # a missing candidate repeats the first (always found)
            found_rows = np.repeat(np.arange(len(rows_todo)), k)
            again = self._best(xy[rows_todo], found_rows, cand.ravel(), p0, p1, edge, len(rows_todo))
            better = again[0] < best[0][rows_todo]
            for mine, theirs in zip(best, again, strict=True):
                mine[rows_todo[better]] = theirs[better]
            # certain when the k-th candidate is out of reach (or every piece was seen)
            unsure = np.isfinite(mid_d[:, -1]) & (mid_d[:, -1] <= best[0][rows_todo] + half + 1e-9)
            rows_todo = rows_todo[unsure] if k < len(p0) else rows_todo[:0]
            k *= 4
        distance, piece, u = best
        e = edge[piece]
        point = p0[piece] + (p1[piece] - p0[piece]) * u[:, None]
        metres = along[piece] + np.hypot(*(point - p0[piece]).T)
        t = np.clip(metres / self.edge_length[e], 0.0, 1.0)
        return Snap(e, t, distance, point)

    def _best(self, xy, rows, pieces, p0, p1, edge, n):
        """Per point (``rows``), the nearest of its candidate ``pieces``: (distance, piece, position 0..1)."""
        a, b = p0[pieces], p1[pieces]
        ab = b - a
        denom = np.einsum("ij,ij->i", ab, ab)
        with np.errstate(invalid="ignore", divide="ignore"):
            u = np.where(denom > 0, np.einsum("ij,ij->i", xy[rows] - a, ab) / denom, 0.0)
        u = np.clip(u, 0.0, 1.0)
        d = np.hypot(*(a + ab * u[:, None] - xy[rows]).T)
        ids = self.edge_ids[edge[pieces]]
        out_d, out_p, out_u = np.full(n, np.inf), np.zeros(n, np.int64), np.zeros(n)
        if len(rows) and len(rows) % n == 0 and np.array_equal(rows, np.repeat(np.arange(n), len(rows) // n)):
            k = len(rows) // n  # k candidates per point, in order: per row, the nearest, lowest edge id on ties
            d2 = d.reshape(n, k)
            tied = d2 == d2.min(axis=1, keepdims=True)
            pick = np.argmin(np.where(tied, ids.reshape(n, k), np.iinfo(np.int64).max), axis=1)
            firsts = np.arange(n) * k + pick
        else:
            order = np.lexsort((ids, d, rows))
            firsts = order[np.unique(rows[order], return_index=True)[1]]
        out_d[rows[firsts]], out_p[rows[firsts]], out_u[rows[firsts]] = d[firsts], pieces[firsts], u[firsts]
        return out_d, out_p, out_u
