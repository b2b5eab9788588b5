"""Benchmark (not a test): build the overview (all 3,475 wijken) and the Doesburg region map (all 7,797 BAG panden
as candidates), print each map's HTML size, build time and load time in headless Chromium (until the ``load``
event and every shown layer drawn; for the overview also the time to switch the wijken layer on).

Run: ``.venv/bin/python benchmarks/maps.py`` (the database with the demo loaded: ``make demo``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from geo.db import prepare_database
from geo.maps import overview_map, region_map
from geo.maps.browser import chromium, open_map
from geo.settings import Settings

RUNS = 3
SWITCH_ON = """() => { const t = performance.now(); opvangmatch.map.addLayer(opvangmatch.layers.districts);
    return new Promise(r => requestAnimationFrame(() => r(performance.now() - t))); }"""


def main() -> None:
    engine = prepare_database(Settings.from_env())
    folder = Path(tempfile.mkdtemp(prefix="opvangmatch-bench-"))
    maps = {}
    for name, build in (
        ("overview (342 municipalities, 3,475 wijken)", lambda: overview_map(engine, tiles="none")),
        (
            "region Doesburg (7,797 candidates, families)",
            lambda: region_map(engine, "PV25", municipality="GM0221", profile="families", tiles="none"),
        ),
    ):
        started = time.perf_counter()
        html = build()
        seconds = time.perf_counter() - started
        path = folder / (name.split()[0] + ".html")
        path.write_text(html, encoding="utf-8")
        maps[name] = (path, seconds)
    with chromium(Settings.from_env().chromium) as context:
        for name, (path, build_s) in maps.items():
            loads, extra = [], []
            for _ in range(RUNS):
                page, errors, _dialogs, seconds = open_map(context, path)
                if errors:
                    raise SystemExit(f"{name}: console errors {errors}")
                loads.append(seconds)
                if "overview" in name:
                    extra.append(page.evaluate(SWITCH_ON) / 1000)
                page.close()
            size = path.stat().st_size / 1e6
            line = (
                f"{name}: {size:.2f} MB, built in {build_s:.1f} s, load + layers drawn "
                f"median {statistics.median(loads):.2f} s (runs: {', '.join(f'{s:.2f}' for s in loads)})"
            )
            if extra:
                line += f"; wijken layer on {statistics.median(extra):.2f} s"
            print(line)


if __name__ == "__main__":
    main()
