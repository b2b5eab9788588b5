"""The demo: every shipped file in ``data/`` with the loader kind and options it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from geo.errors import DataError
from geo.io import load
from geo.io.write import LoadReport, Progress


@dataclass(frozen=True)
class DemoFile:
    kind: str
    path: str
    options: dict = field(default_factory=dict)


DRECHTSTEDEN = "GM0482,GM0505,GM0523,GM0531,GM0590,GM0610,GM0642"
# Coverage as data/SOURCES.md states it: complete only where every such facility of the area is in the file.
DEMO = [
    DemoFile("provinces", "cbs/provincie_2023.geojson"),
    DemoFile("municipalities", "cbs/gemeenten_2024_kwb.geojson"),
    DemoFile("municipality-provinces", "cbs/gemeentelijke-indeling.csv"),
    DemoFile("districts", "cbs/wijken_2024_kwb.geojson"),
    DemoFile("neighbourhoods", "drechtsteden/buurten_2023_drechtsteden.geojson"),
    DemoFile("proximity", "cbs/nabijheid_gemeenten_2022.csv"),
    # every Dutch railway station (CHB)
    DemoFile("chb-stations", "services/stations.json", {"coverage": "complete:NL"}),
    # 174 primary and 42 secondary school sites could not be geocoded
    DemoFile(
        "schools", "services/duo_vestigingen_2020_osmgeocoded.gpkg", {"skip_outside": True, "coverage": "partial:NL"}
    ),
    # 2016: hospitals moved or changed use since
    DemoFile("points", "services/ziekenhuizen_2016.geojson", {"category": "hospital", "coverage": "partial:NL"}),
    # one chain only
    DemoFile(
        "points",
        "services/jumbo_stores.geojson",
        {
            "category": "supermarket",
            "where": "locationType <> 'PuP'",
            "name_field": "addressName",
            "coverage": "partial:NL",
        },
    ),
    # OSM: completeness not guaranteed; Drechtsteden only
    DemoFile(
        "points",
        "drechtsteden/osm_bibliotheken.geojson",
        {"category": "library", "coverage": f"partial:{DRECHTSTEDEN}"},
    ),
    DemoFile(
        "points",
        "drechtsteden/osm_waterbushaltes_veerpont.geojson",
        {"category": "ferry_stop", "coverage": f"partial:{DRECHTSTEDEN}"},
    ),
    # every operator's 2015 stops in two boxes: Doesburg (+3 km) and the Drechtsteden but Dordrecht's south (Biesbosch)
    DemoFile(
        "gtfs-stops",
        "services/gtfs_stops_2015_drechtsteden_doesburg.txt",
        {
            "category": "bus_stop",
            "coverage": "complete:GM0221,GM0482,GM0523,GM0531,GM0590,GM0610,GM0642;partial:GM0505",
        },
    ),
    DemoFile("buildings", "bag/0221PND15092020.zip"),
    DemoFile("reception", "reception/asielopvang_drechtsteden_achterhoek.csv"),
    DemoFile("reception", "reception/coa_locaties_overig_uit_paginas.csv"),
    DemoFile("task", "spreidingswet/provinciale_opgave_2024.csv", {"period": "2024"}),
    DemoFile("task", "spreidingswet/gemeente_opgave_indicatief_partieel.csv", {"period": "2024"}),
    DemoFile("reported", "spreidingswet/capaciteitsraming_2026.csv"),
    DemoFile("reported", "spreidingswet/realisatie_provinciale_plannen_2024_2025.csv"),
    DemoFile("network", "network/osm_amsterdam_centrum_rijnb_2026.osm.gz"),
    DemoFile("network", "network/osm_delft_tudelft_campus_dsol_2022.osm.pbf"),
]


def load_demo(engine: Engine, data_dir: Path, *, progress: Progress | None = None) -> list[LoadReport]:
    """Load every demo file (each atomically). Stops at the first file that fails."""
    missing = [f.path for f in DEMO if not (data_dir / f.path).exists()]
    if missing:
        raise DataError(data_dir, f"demo files missing: {', '.join(missing)}")
    reports = []
    for item in DEMO:
        reports.append(load(engine, item.kind, data_dir / item.path, progress=progress, **item.options))
        if progress:
            progress(str(reports[-1]))
    return reports
