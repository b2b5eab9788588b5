"""Benchmark of the scoring engine (not a test). ALL INPUTS HERE ARE SYNTHETIC.

Synthetic candidates and services are spread uniformly over the real Dutch municipalities (land
area of the demo's CBS 2024 outlines); about 14,000 synthetic neighbourhoods are Voronoi cells of
random points clipped to the country. Nothing synthetic is ever written to your real database: the
benchmark works in a database of its own (``opvangmatch_bench``), which it creates.

Prints, from one run: candidates per second of the engine (measure + grade, in memory) and of a bare
``scipy.spatial.cKDTree`` nearest query over the same points and categories (the floor), timed in turns
(engine, floor, engine, floor, ...) with the ratio of each turn, its median and spread, and the engine's
steps; the PostGIS reference path on 1e4 candidates; and the full run over 1e6 candidate buildings including
reading from and writing to PostGIS.

    .venv/bin/python benchmarks/score.py [--sizes 100000 1000000] [--repeat 5] [--no-full]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from scipy.spatial import cKDTree

from geo.db import prepare_database
from geo.db.copy import copy_frame
from geo.io.demo import load_demo
from geo.score import Profile, ScoringData, load_profile, score_candidates
from geo.score.grade import grade
from geo.score.measure import measure, z_order
from geo.score.reference import reference_measure
from geo.settings import Settings

CATEGORIES = ["gp", "pharmacy", "supermarket", "primary_school", "train_station", "bus_stop"]
SEED = 20261128


def sample_points(domain: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``domain`` (rejection sampling in its bounds)."""
    shapely.prepare(domain)
    xmin, ymin, xmax, ymax = domain.bounds
    out = []
    while sum(len(o) for o in out) < n:
        xy = np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])
        out.append(xy[shapely.contains_xy(domain, xy[:, 0], xy[:, 1])])
    return np.vstack(out)[:n]


def ewkb(geoms) -> list[str]:
    return list(shapely.to_wkb(shapely.set_srid(np.asarray(geoms), 28992), hex=True, include_srid=True))


def prepare_bench_database(settings: Settings, rng, n_services: int, n_buurten: int, n_buildings: int):
    engine = prepare_database(settings)
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one()
    if not loaded:
        print("loading the demo data (real regions, tasks) into the benchmark database ...")
        load_demo(engine, settings.data_dir)
    with engine.connect() as conn:
        domain = shapely.from_wkb(
            conn.execute(
                sa.text("SELECT ST_AsBinary(ST_SimplifyPreserveTopology(ST_Union(geom), 100)) FROM municipality")
            ).scalar_one()
        )
    with engine.connect() as conn:
        present = dict(
            conn.execute(
                sa.text(
                    "SELECT source, count(*) FROM building WHERE source = 'synthetic:buildings' GROUP BY source "
                    "UNION ALL SELECT source, count(*) FROM service WHERE source = 'synthetic:services' GROUP BY source"
                )
            ).all()
        )
    if present.get("synthetic:buildings") == n_buildings and present.get("synthetic:services") == n_services:
        print("reusing the synthetic data already in the benchmark database")
        return engine, domain
    t = time.perf_counter()
    services = sample_points(domain, n_services, rng)
    categories = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n_services)]
    seeds = sample_points(domain, n_buurten, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=domain))
    cells = shapely.intersection(cells, domain)
    cells = cells[~shapely.is_empty(cells)]
    cells = np.array(
        [
            g
            if g.geom_type == "MultiPolygon"
            else shapely.MultiPolygon([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
            for g in cells
        ],
        dtype=object,
    )
    buildings = sample_points(domain, n_buildings, rng)
    print(
        f"synthetic inputs made in {time.perf_counter() - t:.1f} s: {n_services:,} services, {len(cells):,} "
        f"neighbourhoods, {n_buildings:,} buildings"
    )
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM service; DELETE FROM neighbourhood; DELETE FROM building; "
                "DELETE FROM candidate_score; DELETE FROM score_run"
            )
        )
        copy_frame(
            conn,
            "service",
            pd.DataFrame(
                {
                    "category": categories,
                    "name": [f"synthetic {i}" for i in range(n_services)],
                    "external_id": np.arange(n_services).astype(str),
                    "geom": ewkb(shapely.points(services)),
                    "source": "synthetic:services",
                    "year": 2026,
                }
            ),
        )
        copy_frame(
            conn,
            "neighbourhood",
            pd.DataFrame(
                {
                    "code": [f"BU9{i:07d}" for i in range(len(cells))],
                    "name": "synthetic",
                    "municipality_code": "GM9999",
                    "population": rng.integers(100, 5000, len(cells)),
                    "geom": ewkb(cells),
                    "source": "synthetic:neighbourhoods",
                    "year": 2026,
                }
            ),
        )
        squares = shapely.buffer(shapely.points(buildings), 6, cap_style="square")
        copy_frame(
            conn,
            "building",
            pd.DataFrame(
                {
                    "id": [f"9{i:015d}" for i in range(n_buildings)],
                    "status": "Pand in gebruik",
                    "geom": ewkb(shapely.multipolygons(squares, indices=np.arange(len(squares)))),
                    "point": ewkb(shapely.points(buildings)),
                    "source": "synthetic:buildings",
                    "year": 2026,
                }
            ),
        )
        conn.execute(sa.text("ANALYZE"))
    print(f"written to PostGIS in {time.perf_counter() - t:.1f} s")
    return engine, domain


def synthetic_buildings(capacity: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """SYNTHETIC BAG facts per candidate, so that the engine grades the v2 measures too (use state, floor-area band,
    availability, bands): 0-3 units (0 = use unknown), a kantoor/woon mix, floor area, pand and unit statuses."""
    n = len(capacity)
    units = rng.integers(0, 4, n)
    office = np.where(units > 0, rng.uniform(0, 1, n), np.nan)
    statuses = np.array(["Pand in gebruik", "Pand buiten gebruik", "Verbouwing pand"])
    return pd.DataFrame(
        {
            "units": units,
            "use_kantoorfunctie": office,
            "use_woonfunctie": 1 - office,
            "floor_area": capacity * 15.0 * rng.uniform(1.0, 1.5, n),
            "status": statuses[rng.choice(3, n, p=[0.96, 0.02, 0.02])],
            "units_out_of_use": np.where(units > 0, rng.integers(0, 2, n), 0),
        }
    )


def timed(work) -> float:
    """Wall time of one call of ``work()``."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def spread_text(values: list[float], unit: str = "") -> str:
    """``median (min-max)`` of ``values``."""
    return f"{np.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f}{unit})"


def bench_profile() -> Profile:
    content = load_profile("default").as_dict()
    rules = content["proximity"]["categories"]
    content["proximity"]["categories"] = {c: rules[c] for c in CATEGORIES}
    content["name"] = "benchmark"
    return Profile.from_dict(content, "benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--buurten", type=int, default=14_000)
    parser.add_argument("--reference", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed turns of engine and floors (median, spread)")
    parser.add_argument("--no-full", action="store_true", help="skip the full run over the candidates in PostGIS")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    settings = Settings.from_env(database="opvangmatch_bench")
    if settings.database_url:
        from sqlalchemy.engine import make_url

        settings = Settings(
            database_url=make_url(settings.database_url).set(database="opvangmatch_bench").render_as_string(False),
            data_dir=settings.data_dir,
        )
        _create_database(settings)
    engine, domain = prepare_bench_database(settings, rng, args.services, args.buurten, max(args.sizes))
    profile = bench_profile()
    t = time.perf_counter()
    data = ScoringData.load(engine)
    print(f"ScoringData.load: {time.perf_counter() - t:.2f} s\n")
    print(
        "The engine measures many locations in spatial (Z-curve) order. The floor is timed twice: on the points as\n"
        "given (the goal's floor) and on the same points in that spatial order (stricter: the floor gets the\n"
        "locality too). The engine grades every v2 measure too (use state, size fit, task credit, estimate\n"
        "weighting, availability, bands, flags). Engine and floors are timed in turns (engine, floor, Z-ordered\n"
        "floor, then again), so a busy moment on a shared machine hits all of them alike; each ratio is one turn's\n"
        "engine over the same turn's floor. Figures: median (min-max) over --repeat turns, after one warm-up turn.\n"
    )
    trees = {c: cKDTree(data.services[c].xy) for c in CATEGORIES}
    for n in args.sizes:
        xy = sample_points(domain, n, rng)
        capacity = rng.integers(10, 150, n)
        building = synthetic_buildings(capacity, rng)
        ordered = np.ascontiguousarray(xy[z_order(xy)])
        steps: dict[str, list[float]] = {}

        def engine_run(xy=xy, capacity=capacity, building=building, steps=steps):
            measured, graded = {}, {}
            measures = measure(data, xy, CATEGORIES, timings=measured)
            grade(data, measures, capacity, profile, building=building, timings=graded)
            for name, seconds in [*(("measure: " + k, v) for k, v in measured.items()), *graded.items()]:
                steps.setdefault(name, []).append(seconds)

        def floor_run(xy):
            for category in CATEGORIES:
                trees[category].query(xy, k=1, workers=-1)

        engine_run()  # warm-up: caches made once per run of the engine (per-municipality figures), page faults
        steps.clear()
        turns = [
            (timed(engine_run), timed(lambda xy=xy: floor_run(xy)), timed(lambda xy=ordered: floor_run(xy)))
            for _ in range(args.repeat)
        ]
        engine_s, floor_s, ordered_s = ([turn[i] for turn in turns] for i in range(3))
        print(f"{n:,} SYNTHETIC candidates, {len(turns)} turns")
        print(f"  engine (measure + grade)      {spread_text(engine_s, ' s')} = {n / np.median(engine_s):,.0f}/s")
        print(f"  floor, points as given        {spread_text(floor_s, ' s')} = {n / np.median(floor_s):,.0f}/s")
        print(f"  floor, Z-ordered points       {spread_text(ordered_s, ' s')} = {n / np.median(ordered_s):,.0f}/s")
        ratios = [e / f for e, f in zip(engine_s, floor_s, strict=True)]
        ratios_ordered = [e / f for e, f in zip(engine_s, ordered_s, strict=True)]
        print(
            f"  ratio engine / floor as given {spread_text(ratios, 'x')}; turns: "
            + ", ".join(f"{r:.2f}" for r in ratios)
        )
        print(f"  ratio engine / floor Z-order  {spread_text(ratios_ordered, 'x')}")
        print("  the engine's steps (median s; measure's areas and services run side by side on all cores):")
        for name, seconds in steps.items():
            print(f"    {name:<32} {np.median(seconds):6.3f}")
        print(f"    {'(all steps)':<32} {sum(np.median(v) for v in steps.values()):6.3f}")
    xy = sample_points(domain, args.reference, rng)
    t = time.perf_counter()
    reference_measure(engine, data, xy, CATEGORIES)
    ref_s = time.perf_counter() - t
    t = time.perf_counter()
    measures = measure(data, xy, CATEGORIES)
    grade(data, measures, np.full(len(xy), 40), profile)
    fast_s = time.perf_counter() - t
    print(
        f"\nPostGIS reference on {args.reference:,}: {ref_s:.2f} s = {args.reference / ref_s:,.0f}/s; engine "
        f"{args.reference / fast_s:,.0f}/s; engine is {ref_s / fast_s:,.0f}x faster"
    )
    if args.no_full:
        return
    clear_runs(engine)
    t = time.perf_counter()
    result = score_candidates(engine, profile, None, store=True)
    total_s = time.perf_counter() - t
    print(
        f"\nfull run over {len(result.frame):,} SYNTHETIC candidate buildings (read from PostGIS, load scoring data, "
        f"score, rank, write run {result.run_id} with COPY): {total_s:.1f} s"
    )


def clear_runs(engine) -> None:
    """Drop the runs of earlier benchmark runs (this database holds synthetic data only), so that every full run
    writes into an equally empty table."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM score_run"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM candidate_score, score_run"))


def _create_database(settings: Settings) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).first():
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


if __name__ == "__main__":
    main()
