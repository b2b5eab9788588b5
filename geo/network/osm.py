"""OSM extracts (PBF, OSM XML, gzip or bzip2) -> the walking network as nodes and edges (pgRouting layout).

Ways are kept by :func:`geo.network.rules.walkable`, cut into edges where they meet other kept ways (and
at their ends), and transformed to EPSG:28992; an edge's length is its planar length in metres, its cost
(both ways) the same, a ferry's cost its walking-equivalent (:func:`geo.network.rules.ferry_cost_m`).
Node ids are OSM node ids, so networks from overlapping extracts join where they share nodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from geo.db.copy import ewkb_values
from geo.errors import DataError
from geo.io._read import NL_BOUNDS_RD, year_from_name
from geo.io.write import Phases, Prepared
from geo.models import SRID
from geo.network.rules import ferry_cost_m, walkable

FORMATS = {b"\x1f\x8b": "gz", b"BZ": "bz2"}


def _osm_format(path: Path) -> str:
    """libosmium's format string for ``path``, from its first bytes (the name may not tell)."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise DataError(path, "the file is empty")
    compression = FORMATS.get(head[:2])
    if compression:
        return f"osm.{compression}"
    if b"OSMHeader" in head[:32]:
        return "pbf"
    if head.lstrip().startswith(b"<"):
        return "osm"
    raise DataError(path, "not an OSM file (expected PBF, OSM XML, or OSM XML compressed with gzip or bzip2)")


COORDINATE_PRECISION = 10_000_000  # libosmium keeps degrees as integers of 1e-7 degree


def read_ways(path: Path) -> tuple[pd.DataFrame, dict]:
    """The walkable ways of an OSM file as one row per node reference.

    Returns (``frame`` with columns piece, node, lon, lat; ``pieces`` dict with kind, way id and ferry
    duration per piece). A way whose nodes are missing from the extract is cut into pieces there."""
    import osmium

    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    source = osmium.io.File(str(path), _osm_format(path))
    refs: list[tuple[int, int, int]] = []  # node id, x, y (1e-7 degrees) of every reference of a kept way
    sizes, kinds, way_ids, durations = [], [], [], []
    try:
        processor = (
            osmium.FileProcessor(source)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway", "route"))  # walkable() needs one of them
        )
        for way in processor:
            kind = walkable(way.tags)
            if kind is None:
                continue
            before = len(refs)
            refs.extend([(r.ref, (at := r.location).x, at.y) for r in way.nodes])
            sizes.append(len(refs) - before)
            kinds.append(kind)
            way_ids.append(way.id)
            durations.append(way.tags.get("duration") if kind == "ferry" else None)
    except (RuntimeError, ValueError, OSError) as exc:
        problem = str(exc).strip() or type(exc).__name__
        raise DataError(path, f"cannot read as OSM ({_osm_format(path)}): {problem}") from exc
    table = np.array(refs, dtype=np.int64).reshape(-1, 3)
    way = np.repeat(np.arange(len(sizes)), sizes)
    # a location missing from the extract is libosmium's undefined coordinate, outside the valid range
    valid = (np.abs(table[:, 1]) <= 180 * COORDINATE_PRECISION) & (np.abs(table[:, 2]) <= 90 * COORDINATE_PRECISION)
    # pieces: runs of present nodes within a way (a way is cut where its nodes are missing)
    starts = valid.copy()
    starts[1:] &= ~valid[:-1] | (way[1:] != way[:-1])
    piece = np.cumsum(starts) - 1
    piece_way = way[starts]
    frame = pd.DataFrame(
        {
            "piece": piece[valid],
            "node": table[valid, 0],
            "lon": table[valid, 1] / COORDINATE_PRECISION,
            "lat": table[valid, 2] / COORDINATE_PRECISION,
        }
    )
    pieces = {
        "kind": np.asarray(kinds, dtype=object)[piece_way],
        "way": np.asarray(way_ids, dtype=np.int64)[piece_way],
        "duration": np.asarray(durations, dtype=object)[piece_way],
        "missing_nodes": int((~valid).sum()),
    }
    return frame, pieces


def build_network(
    refs: pd.DataFrame, pieces: dict, xy: np.ndarray, phases: Phases | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut node sequences into edges between vertices (nodes shared by ways, and way ends).

    ``refs``: one row per node reference (piece, node), in way order; ``xy``: their RD coordinates.
    Returns (nodes: id, geom; edges: from_node, to_node, length_m, cost, reverse_cost, kind, osm_way_id, geom),
    geometries as EWKB (written from the coordinates, see :func:`geo.db.copy.ewkb_values`).
    """
    phases = phases or Phases()
    with phases("topology (vertices, edges)"):
        piece = refs["piece"].to_numpy()
        node = refs["node"].to_numpy()
        # Drop a node repeated right after itself within a piece (zero-length steps).
        keep = np.ones(len(node), dtype=bool)
        keep[1:] = ~((piece[1:] == piece[:-1]) & (node[1:] == node[:-1]))
        piece, node, xy = piece[keep], node[keep], xy[keep]
        first = np.ones(len(piece), dtype=bool)
        first[1:] = piece[1:] != piece[:-1]
        last = np.ones(len(piece), dtype=bool)
        last[:-1] = piece[1:] != piece[:-1]
        single = first & last  # a piece of one node: no edge
        piece, node, xy, first, last = piece[~single], node[~single], xy[~single], first[~single], last[~single]
        _, inverse, counts = np.unique(node, return_inverse=True, return_counts=True)
        vertex = first | last | (counts[inverse] > 1)
        starts = np.flatnonzero(vertex & ~last)
        vertex_pos = np.flatnonzero(vertex)
        ends = vertex_pos[np.searchsorted(vertex_pos, starts, side="right")]
        sizes = ends - starts + 1
        positions = np.repeat(starts, sizes) + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
    with phases("lengths, costs"):
        edge = np.repeat(np.arange(len(starts)), sizes)
        step = np.hypot(*np.diff(xy[positions], axis=0).T)
        within = edge[1:] == edge[:-1]
        length = np.bincount(edge[:-1][within], weights=step[within], minlength=len(starts))  # in order, as GEOS
        edge_piece = piece[starts]
        kind = pieces["kind"][edge_piece]
        cost = length.copy()
        ferry = np.flatnonzero(kind == "ferry")
        if len(ferry):  # a crossing's cost spread over its edges by length
            piece_length = np.bincount(edge_piece[ferry], weights=length[ferry], minlength=len(pieces["kind"]))
            for i in ferry:
                total = piece_length[edge_piece[i]]
                share = length[i] / total if total > 0 else 1.0
                cost[i] = ferry_cost_m(total, pieces["duration"][edge_piece[i]]) * share
    with phases("edge and node geometries (EWKB)"):
        lines = ewkb_values(xy[positions], sizes, True, SRID)
        vertex_nodes, at = np.unique(node[vertex_pos], return_index=True)
        points = ewkb_values(xy[vertex_pos[at]], np.ones(len(at), dtype=np.int64), False, SRID)
    edges = pd.DataFrame(
        {
            "from_node": node[starts],
            "to_node": node[ends],
            "length_m": length,
            "cost": cost,
            "reverse_cost": cost,
            "kind": kind,
            "osm_way_id": pieces["way"][edge_piece],
            "geom": lines,
        }
    )
    return pd.DataFrame({"id": vertex_nodes, "geom": points}), edges


_TO_RD = None


def _to_rd(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    global _TO_RD
    if _TO_RD is None:
        _TO_RD = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
    x, y = _TO_RD.transform(lon, lat)
    return np.column_stack([x, y])


def load_network(path: Path, *, year: int | None = None) -> Prepared:
    """Read an OSM extract as the walking network (edges into ``network_edge``, nodes into ``network_node``)."""
    from geo.models import NetworkEdge, NetworkNode

    path = Path(path)
    phases = Phases()
    with phases("read OSM (osmium, walking rules)"):
        refs, pieces = read_ways(path)
    if refs.empty:
        raise DataError(path, "the file holds no way a pedestrian may use (footway, residential ... or a ferry route)")
    with phases("transform to RD, check bounds"):
        xy = _to_rd(refs["lon"].to_numpy(), refs["lat"].to_numpy())
        xmin, ymin, xmax, ymax = NL_BOUNDS_RD
        outside = (xy[:, 0] < xmin) | (xy[:, 0] > xmax) | (xy[:, 1] < ymin) | (xy[:, 1] > ymax)
        outside |= ~np.isfinite(xy).all(1)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise DataError(
            path,
            f"node {int(refs['node'].iat[i])} lies outside the Netherlands "
            f"(lon {refs['lon'].iat[i]:.5f}, lat {refs['lat'].iat[i]:.5f}); the network must be Dutch",
        )
    nodes, edges = build_network(refs, pieces, xy, phases)
    if edges.empty:
        raise DataError(path, "the walkable ways hold no edge (every way has fewer than two nodes in the file)")
    notes = [
        f"{len(edges):,} edges, {len(nodes):,} nodes, {edges['length_m'].sum() / 1000:,.1f} km; "
        + ", ".join(f"{k} {v:,}" for k, v in edges["kind"].value_counts().sort_index().items())
    ]
    if (edges["kind"] == "ferry").any():
        notes.append("ferry crossings cost their walking-equivalent metres (crossing time plus a wait, at 5 km/h)")
    if pieces["missing_nodes"]:
        notes.append(f"{pieces['missing_nodes']:,} node references missing from the extract (ways cut there)")
    prepared = Prepared("network", NetworkEdge, edges, year if year is not None else year_from_name(path), notes=notes)
    prepared.also.append((NetworkNode, nodes, ("geom",)))
    prepared.phases = phases
    return prepared


def write_osm(elements: list[dict], path: Path) -> Path:
    """Overpass JSON ``elements`` (nodes with lat/lon, ways with node refs and tags) as an OSM PBF file,
    written atomically (nodes first, each sorted by id)."""
    import os

    import osmium

    nodes = sorted((e for e in elements if e.get("type") == "node"), key=lambda e: e["id"])
    ways = sorted((e for e in elements if e.get("type") == "way"), key=lambda e: e["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"tmp{os.getpid()}_{path.name}")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp))
    try:
        for e in nodes:
            writer.add_node(osmium.osm.mutable.Node(id=int(e["id"]), location=(float(e["lon"]), float(e["lat"]))))
        for e in ways:
            refs = [int(r) for r in e.get("nodes", [])]
            tags = {str(k): str(v) for k, v in (e.get("tags") or {}).items()}
            writer.add_way(osmium.osm.mutable.Way(id=int(e["id"]), nodes=refs, tags=tags))
    finally:
        writer.close()
    os.replace(tmp, path)
    return path
