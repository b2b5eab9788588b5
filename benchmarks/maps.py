"""Benchmark (not a test): size and time-to-drawn of the maps in headless Chromium.

Maps: the overview (342 municipalities, 3,475 wijken), Doesburg (7,395 BAG panden as candidates), the Drechtsteden
(three municipalities, no buildings loaded for Dordrecht) and Gelderland as a whole with 100,000 SYNTHETIC
candidates added (random points inside the province, ids ``SYNTH0000001``..., source ``synthetic:benchmark``, in a
copy of the database that is dropped afterwards). Each line prints the HTML size, the build time and the time until
the ``load`` event and every shown layer drawn (median of 3), beside the floor measured in the same run: an empty
map page (Leaflet and our scripts, no data). Goal (issue 15): the 100,000-candidate province under 3 s and 10 MB.

Run: ``.venv/bin/python benchmarks/maps.py`` (the database with the demo loaded: ``make demo``).
"""

from __future__ import annotations

import contextlib
import re
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from geo.db import make_engine, prepare_database
from geo.db.engine import scratch_copy
from geo.maps import overview_map, region_map
from geo.maps.base import finish, new_map
from geo.maps.browser import chromium, open_map
from geo.maps.layers import AreaLayer, encode_areas
from geo.settings import Settings

RUNS = 3
SYNTHETIC = 100_000
SYNTHETIC_SQL = """
    INSERT INTO building (id, status, geom, point, source)
    SELECT 'SYNTH' || lpad(n::text, 7, '0'), 'Pand in gebruik', ST_Multi(ST_Buffer(pt, 9, 'quad_segs=1')), pt,
           'synthetic:benchmark'
    FROM (SELECT row_number() OVER () AS n, d.geom AS pt
          FROM (SELECT ST_Union(m.geom) AS g FROM municipality m
                JOIN municipality_province mp ON mp.municipality_code = m.code WHERE mp.province_code = 'PV25') u,
               LATERAL ST_Dump(ST_GeneratePoints(u.g, :n, 15)) d) s"""


def empty_map() -> str:
    """The floor: a map page with Leaflet, the plugins and our scripts, and one empty layer."""
    m = new_map((6.0, 52.0, 6.2, 52.1), tiles="none", title="floor", lang="nl")
    AreaLayer("floor", "floor", encode_areas([], []), {}).add_to(m)
    return finish(m)


def main() -> None:
    settings = Settings.from_env()
    if not make_url(settings.database_url or "postgresql://x/y").database:
        raise SystemExit("set DATABASE_URL to the database with the demo loaded")
    engine = prepare_database(settings)
    folder = Path(tempfile.mkdtemp(prefix="opvangmatch-bench-"))
    builds = [
        ("floor: empty map page (no data)", lambda: empty_map()),
        ("overview (342 municipalities, 3,475 wijken)", lambda: overview_map(engine, tiles="none")),
        (
            "region Doesburg (7,395 candidates, 5 profiles)",
            lambda: region_map(engine, "PV25", municipality="GM0221", profile="families", tiles="none"),
        ),
        (
            "region Drechtsteden (GM0505, GM0590, GM0642)",
            lambda: region_map(engine, "PV28", municipality="GM0505,GM0590,GM0642", profile="families", tiles="none"),
        ),
    ]
    engine.dispose()
    with contextlib.ExitStack() as stack:
        copy = stack.enter_context(scratch_copy(settings, "opvangmatch_bench"))  # SYNTHETIC rows go in a copy
        synthetic_engine = make_engine(copy)
        stack.callback(synthetic_engine.dispose)
        with synthetic_engine.begin() as conn:
            conn.execute(sa.text(SYNTHETIC_SQL), {"n": SYNTHETIC})
        maps = build_maps(builds, synthetic_engine, folder)
    draw(maps)


def build_maps(builds, synthetic_engine, folder) -> dict:
    """Build every map (and the SYNTHETIC province map) into ``folder``: name -> (path, build seconds)."""
    builds.append(
        (
            f"province Gelderland + {SYNTHETIC:,} SYNTHETIC candidates (light rows)",
            lambda: region_map(synthetic_engine, "PV25", profile="families", tiles="none"),
        )
    )
    maps = {}
    for i, (name, build) in enumerate(builds):
        started = time.perf_counter()
        html = build()
        seconds = time.perf_counter() - started
        path = folder / f"map{i}.html"
        path.write_text(html, encoding="utf-8")
        maps[name] = (path, seconds)
    return maps


def draw(maps: dict) -> None:
    """Open each map RUNS times in headless Chromium (no network) and print size and time to drawn."""
    with chromium(Settings.from_env().chromium) as context:
        context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())  # no tiles: not measured
        for name, (path, build_s) in maps.items():
            loads = []
            for _ in range(RUNS):
                page, errors, _dialogs, seconds = open_map(context, path, timeout_ms=120_000, viewport=(1366, 768))
                if errors:
                    raise SystemExit(f"{name}: console errors {errors}")
                loads.append(seconds)
                page.close()
            size = path.stat().st_size / 1e6
            print(
                f"{name}: {size:.2f} MB, built in {build_s:.1f} s, load + layers drawn median "
                f"{statistics.median(loads):.2f} s (runs: {', '.join(f'{s:.2f}' for s in loads)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
