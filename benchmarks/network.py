"""Benchmark of network measurement and network loading (not a test). ALL INPUTS HERE ARE SYNTHETIC.

A synthetic street grid (about 1e6 edges, 100 m blocks, south-west corner at RD 100000, 400000; streets
are OSM ways of 10 blocks) with 1e6 random locations and 1e5 random services in 6 categories.

1. Measurement: the engine (load its compiled code, snap locations and services to the edges exactly, counts
   within 500 m / 1 km and the nearest service per category along the network) beside a bare floor measured in the
   same run: a KD-tree snap of the locations to the nearest node plus one multi-source Dijkstra per
   category from the services' nearest nodes (no counts, no edge snapping). Goal: within 2x of the floor.
2. Loading: the grid written as an OSM PBF file and loaded with ``load network`` (read, build the topology,
   COPY into PostGIS in one transaction) into a database of its own (``opvangmatch_bench_network``), twice
   (the second load replaces the first), with the seconds per phase; beside a bare floor measured in the same
   run (:func:`load_floor`). Goal: under a minute on two cores.

    .venv/bin/python benchmarks/network.py [--grid 708] [--locations 1000000] [--services 100000] [--no-load]
                                           [--no-measure]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.network import kernels
from geo.network.graph import Network
from geo.network.measure import along, nearest_along, warm_up

CATEGORIES = ["gp", "pharmacy", "supermarket", "primary_school", "bus_stop", "library"]
RADII = (500, 1000)
SEED = 20261130
X0, Y0, STEP = 100_000.0, 400_000.0, 100.0


def grid(g: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A g x g street grid: nodes (id, x, y) and edges (id, from_node, to_node, cost, length_m, kind, geom)."""
    ids = np.arange(g * g, dtype=np.int64).reshape(g, g) + 1
    xs, ys = np.meshgrid(X0 + STEP * np.arange(g), Y0 + STEP * np.arange(g))
    nodes = pd.DataFrame({"id": ids.ravel(), "x": xs.ravel(), "y": ys.ravel()})
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    xy = nodes[["x", "y"]].to_numpy()
    lines = shapely.linestrings(np.stack([xy[a - 1], xy[b - 1]], axis=1))
    edges = pd.DataFrame(
        {
            "id": np.arange(len(a)) + 1,
            "from_node": a,
            "to_node": b,
            "cost": STEP,
            "length_m": STEP,
            "kind": "residential",
            "geom": lines,
        }
    )
    return nodes, edges


def seconds(run) -> tuple[float, object]:
    t = time.perf_counter()
    out = run()
    return time.perf_counter() - t, out


def measurement(g: int, n_locations: int, n_services: int) -> None:
    rng = np.random.default_rng(SEED)
    nodes, edges = grid(g)
    extent = STEP * (g - 1)
    locations = np.column_stack([X0 + rng.uniform(0, extent, n_locations), Y0 + rng.uniform(0, extent, n_locations)])
    which = rng.integers(0, len(CATEGORIES), n_services)
    services_xy = np.column_stack([X0 + rng.uniform(0, extent, n_services), Y0 + rng.uniform(0, extent, n_services)])
    services = {c: services_xy[which == i] for i, c in enumerate(CATEGORIES)}
    # compiled code first (it counts in the engine's total): the snapping index below compiles too
    warm_s, _ = seconds(warm_up)
    build_s, network = seconds(lambda: Network.from_frames(nodes, edges))
    prep_s, _ = seconds(
        lambda: (network.graph, network.snappable, network.adjacency, network._segments(), network.node_tree)
    )
    print(
        f"SYNTHETIC grid {g} x {g}: {network.n_nodes:,} nodes, {len(edges):,} edges; {n_locations:,} locations, "
        f"{n_services:,} services in {len(CATEGORIES)} categories ("
        + ", ".join(f"{len(v):,}" for v in services.values())
        + f"); {os.cpu_count()} cores"
    )
    print(f"network in memory {build_s:.2f} s, graph + snapping index {prep_s:.2f} s (once per network)\n")

    # --- the floor: KD-tree snap to nodes + one multi-source Dijkstra per category -----------------------------
    def floor():
        tree = network.node_tree
        _, loc_nodes = tree.query(locations, workers=-1)
        for xy in services.values():
            _, svc_nodes = tree.query(xy, workers=-1)
            dist = dijkstra(network.graph, directed=False, indices=np.unique(svc_nodes), min_only=True)
            dist[loc_nodes]

    floor_s, _ = seconds(floor)

    # --- the engine ----------------------------------------------------------------------------------------------
    t = time.perf_counter()
    loc_snap_s, loc = seconds(lambda: network.snap(locations))
    svc_snap_s, snaps = seconds(lambda: {c: network.snap(v) for c, v in services.items()})
    steps: dict[str, float] = {}
    result = along(network, loc, snaps, RADII, steps)
    engine_s = time.perf_counter() - t + warm_s
    print(f"step (engine, {kernels.cores()} threads)                           seconds")
    print(f"load compiled code (numba; compiles on a first run)    {warm_s:7.2f}  (measured first)")
    print(f"snap {n_locations:,} locations to edges (exact)            {loc_snap_s:7.2f}")
    print(f"snap {n_services:,} services to edges                     {svc_snap_s:7.2f}")
    print(f"counts within 500 m / 1 km, and the nearest within 1 km  {steps['counts']:7.2f}")
    print("  (one Dijkstra bounded by 1 km from each service)")
    print(f"nearest beyond 1 km (Dijkstra onward from there) + lookup {steps['nearest']:7.2f}")
    print(
        f"\nengine total {engine_s:.2f} s ({n_locations / engine_s:,.0f} locations/s) | floor {floor_s:.2f} s "
        f"({n_locations / floor_s:,.0f}/s) | ratio {engine_s / floor_s:.2f}x (goal 2x)"
    )
    # checks (not timed): a sample measured on its own (counted from the locations) and the nearest of one
    # category by a multi-source Dijkstra over the whole network give the bulk results
    sample = np.arange(0, n_locations, max(n_locations // 50, 1))
    part = along(network, loc.take(sample), snaps, RADII)
    full = nearest_along(network, loc.take(sample), {CATEGORIES[0]: snaps[CATEGORIES[0]]})[CATEGORIES[0]]
    for c in CATEGORIES:
        assert np.allclose(part[c].distance, result[c].distance[sample]), "bulk and sampled distances differ"
        assert all((part[c].within[r] == result[c].within[r][sample]).all() for r in RADII), "counts differ"
    assert np.allclose(full[0], result[CATEGORIES[0]].distance[sample]), "bulk and whole-network nearest differ"
    print(f"checked: {len(sample)} locations measured on their own give the bulk results")


def write_pbf(g: int, path: Path, way_blocks: int = 10) -> int:
    """The grid as an OSM PBF file (WGS84), streets as ways of ``way_blocks`` blocks; returns the way count."""
    import osmium

    nodes, _ = grid(g)
    lon, lat = pyproj.Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(
        nodes["x"].to_numpy(), nodes["y"].to_numpy()
    )
    ids = nodes["id"].to_numpy().reshape(g, g)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, (x, y) in enumerate(zip(lon, lat, strict=True)):
            writer.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(x), float(y))))
        way_id = 0
        for line in [*ids, *ids.T]:  # rows (east-west streets) and columns (north-south)
            for start in range(0, g - 1, way_blocks):
                way_id += 1
                refs = [int(r) for r in line[start : start + way_blocks + 1]]
                writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags={"highway": "residential"}))
    finally:
        writer.close()
    return way_id


def show_phases(phases: dict[str, float], total: float) -> None:
    print("  phase                                             seconds")
    for name, phase_s in phases.items():
        print(f"  {name:<48} {phase_s:7.2f}")
    print(f"  {'(rest: outside the timed phases)':<48} {total - sum(phases.values()):7.2f}")


def load_floor(engine, path: Path) -> float:
    """A bare floor for loading, measured in the same run: one libosmium pass over the file with node locations
    (no Python per node), plus a binary COPY of the same rows, encoded beforehand, into temporary tables without
    indexes (no reading rules, topology, encoding, index builds, ANALYZE). Returns seconds."""
    import osmium

    from geo.db.copy import BINARY_HEADER, BINARY_TRAILER, binary_forms, binary_rows
    from geo.io import prepare
    from geo.models import SRID, NetworkEdge, NetworkNode

    def osmium_pass():
        processor = osmium.FileProcessor(str(path)).with_locations()
        for _ in processor.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
            pass

    read_s, _ = seconds(osmium_pass)
    prepared = prepare("network", path)
    encoded = []
    for model, frame in [(NetworkEdge, prepared.frame), (NetworkNode, prepared.also[0][1])]:
        frame = frame.assign(source="network:floor", year=2026)
        forms = binary_forms(model.__table__, frame.columns)
        chunks = [binary_rows(forms, frame.iloc[i : i + 100_000], SRID) for i in range(0, len(frame), 100_000)]
        encoded.append((model.__tablename__, forms, chunks))
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        start = time.perf_counter()
        for table, forms, chunks in encoded:
            cursor.execute(f'CREATE TEMP TABLE "floor_{table}" (LIKE "{table}" INCLUDING DEFAULTS)')  # no indexes
            columns = ", ".join(f'"{c}"' for c in forms)
            with cursor.copy(f'COPY "floor_{table}" ({columns}) FROM STDIN WITH (FORMAT binary)') as copy:
                copy.write(BINARY_HEADER)
                for chunk in chunks:
                    copy.write(chunk)
                copy.write(BINARY_TRAILER)
        copy_s = time.perf_counter() - start
        conn.rollback()
    return read_s + copy_s


def loading(g: int) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from geo.db import prepare_database
    from geo.errors import NotFoundError
    from geo.io import load, unload
    from geo.settings import Settings

    settings = Settings.from_env(database="opvangmatch_bench_network")
    if settings.database_url:
        url = make_url(settings.database_url).set(database="opvangmatch_bench_network")
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
        settings = Settings(database_url=url.render_as_string(False), data_dir=settings.data_dir)
    engine = prepare_database(settings)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic_grid.osm.pbf"
        write_s, ways = seconds(lambda: write_pbf(g, path))
        print(f"\nSYNTHETIC OSM PBF: {ways:,} ways, {path.stat().st_size / 1e6:.1f} MB, written in {write_s:.1f} s")
        with contextlib.suppress(NotFoundError):  # the first load goes into empty tables
            unload(engine, "network:synthetic_grid")
        load_s, report = seconds(lambda: load(engine, "network", path, source="network:synthetic_grid"))
        print(f"load network: {report.rows:,} edges in {load_s:.1f} s (goal: under 60 s on two cores)")
        show_phases(report.phases, load_s)
        reload_s, report = seconds(lambda: load(engine, "network", path, source="network:synthetic_grid"))
        print(f"load again (replaces {report.replaced:,} edges in the same transaction): {reload_s:.1f} s")
        show_phases(report.phases, reload_s)
        floor_s = load_floor(engine, path)
        print(
            f"floor (libosmium pass with locations + binary COPY of the pre-encoded rows into tables without "
            f"indexes): {floor_s:.1f} s | load {load_s / floor_s:.2f}x, load again {reload_s / floor_s:.2f}x the floor"
        )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", type=int, default=708, help="nodes per side (708: about 1e6 edges)")
    parser.add_argument("--locations", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--no-load", action="store_true", help="skip the PostGIS loading benchmark")
    parser.add_argument("--no-measure", action="store_true", help="skip the measurement benchmark")
    args = parser.parse_args()
    if not args.no_measure:
        measurement(args.grid, args.locations, args.services)
    if not args.no_load:
        loading(args.grid)


if __name__ == "__main__":
    main()
