"""Benchmark (not a test): the areas of the overview cleaned into a coverage, once (cold) and from the cache (warm).

Per level (provinces, municipalities, the 3,475 wijken) it prints the time to clean and simplify them as a coverage
without the cache (what every overview paid per build before the cache, and pays once per set of areas now), the time
to read the result from ``map_area_cache`` (what every later build pays), and the floor measured in the same run:
simplifying each area on its own (no coverage, the fastest way to draw them, with gaps and slivers). Then the whole
overview build, warm. Works in a copy of the database (dropped afterwards), so its cache starts empty.

Run: ``.venv/bin/python benchmarks/map_areas.py`` (the database with the demo loaded: ``make demo``).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from geo.db import make_engine
from geo.db.engine import scratch_copy
from geo.maps import overview_map
from geo.maps.geodata import clean_coverage, coverage_geometries, read_areas, to_wgs84
from geo.maps.overview import TOLERANCE_M
from geo.settings import Settings


def seconds(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    with scratch_copy(Settings.from_env(), "opvangmatch_bench") as copy:
        engine = make_engine(copy)
        try:
            measure(engine)
        finally:
            engine.dispose()


def measure(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM map_area_cache"))
    for level in ("province", "municipality", "wijk"):
        geoms = read_areas(engine, level).geometry.to_numpy()
        tolerance = TOLERANCE_M[level]
        floor = seconds(lambda g=geoms, t=tolerance: to_wgs84(g, t))
        cold = seconds(lambda g=geoms, t=tolerance: clean_coverage(g, t))
        coverage_geometries(geoms, tolerance, engine)  # fills the cache
        warm = seconds(lambda g=geoms, t=tolerance: coverage_geometries(g, t, engine))
        print(
            f"{level:13s} {len(geoms):5d} areas: clean+simplify {cold:6.2f} s (cold, once)  "
            f"from cache {warm:5.2f} s (warm)  floor (each simplified alone) {floor:5.2f} s"
        )
    build = seconds(lambda: overview_map(engine, tiles="none"))
    print(f"overview build, cache warm: {build:.2f} s")


if __name__ == "__main__":
    main()
