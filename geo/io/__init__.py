"""Loaders for the real Dutch sources: ``load(engine, kind, path)`` validates, then replaces atomically.

Each kind maps to a reader that returns a :class:`~geo.io.write.Prepared` frame; nothing touches the
database until the whole file has been read and checked, and the write is one transaction.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from geo.errors import DataError, InputError, NotFoundError
from geo.io import bag, heights, monuments, regions, services, tables
from geo.io.write import LoadReport, Prepared, Progress, write
from geo.network import osm

SERVICE_KINDS = ("schools", "gtfs-stops", "chb-stations", "points")
"""Kinds that load service points (and declare their coverage)."""

READERS: dict[str, Callable[..., Prepared]] = {
    "provinces": regions.load_provinces,
    "municipalities": regions.load_municipalities,
    "districts": regions.load_districts,
    "neighbourhoods": regions.load_neighbourhoods,
    "municipality-provinces": regions.load_municipality_provinces,
    "proximity": regions.load_proximity,
    "buildings": bag.load_buildings,
    "residences": bag.load_residences,
    "heights": heights.load_heights,
    "monuments": monuments.load_monuments,
    "schools": services.load_schools,
    "gtfs-stops": services.load_gtfs_stops,
    "chb-stations": services.load_chb_stations,
    "points": services.load_points,
    "reception": tables.load_reception,
    "task": tables.load_task,
    "reported": tables.load_reported,
    "network": osm.load_network,
}

DESCRIPTIONS = {
    "provinces": "CBS provinces (GeoJSON/GPKG; statcode PVxx)",
    "municipalities": "CBS gemeenten with population (wijken-en-buurten or gebiedsindelingen)",
    "districts": "CBS wijken with population",
    "neighbourhoods": "CBS buurten with population",
    "municipality-provinces": "CBS gemeentelijke indeling CSV (gemeente -> provincie)",
    "proximity": "CBS nabijheid CSV (afstand_* in km per area)",
    "buildings": "BAG panden: LV-BAG extract (XML or zip) or GeoPackage",
    "residences": "BAG verblijfsobjecten (gebruiksdoel, oppervlakte): LV-BAG XML, GeoPackage, NLExtract adresplus CSV",
    "heights": "3D BAG building heights (CityJSON tile or GeoPackage/CSV with h_maaiveld, h_dak_70p)",
    "monuments": "RCE rijksmonumenten, points or contours (rijksmonumentnummer/rijksmonum) with --coverage",
    "schools": "DUO school sites with coordinates (GeoPackage layers bo/vo)",
    "gtfs-stops": "GTFS stops.txt (default category bus_stop)",
    "chb-stations": "DOVA Centraal Haltebestand railway stations JSON",
    "points": "generic points (GeoJSON/GPKG, OSM exports) with --category, a category column or OSM tags",
    "reception": "existing reception locations (CSV)",
    "task": "placement-task figures (CSV with source_url)",
    "reported": "published national/provincial counts of reception places, to reconcile realised with (CSV)",
    "network": "OSM extract (PBF, OSM XML, .gz/.bz2): the walking network, for network distances",
}


def default_source(kind: str, path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).name.split(".")[0])
    return f"{kind}:{stem}"[:80]


COVERAGE_KINDS = ("complete", "partial", "none")
AREA_CODE = re.compile(r"NL|PV\d{2}|GM\d{4}")
UNDECLARED = {"NL": "partial"}  # a layer loaded without a coverage declaration


def declared_coverage(coverage: dict | None, category: str) -> dict[str, str]:
    """What a loaded layer (its dataset's ``coverage``) declares for ``category`` per area; a layer loaded without
    a declaration covers NL partially. The one reading of a stored declaration, for services and monuments."""
    return dict((coverage or {}).get(category, UNDECLARED))


def parse_coverage(text: str) -> dict[str, str]:
    """A coverage declaration ``KIND[:AREA,AREA...]`` (several joined by ``;``) as ``{area: kind}``; the area
    defaults to ``NL``.

    KIND is ``complete`` (every such facility of the area is in the layer: distances there are measurements),
    ``partial`` (some are: a distance is an upper bound) or ``none``. AREA is ``NL``, a province ``PVxx`` or a
    municipality ``GMxxxx``.

    >>> parse_coverage("complete:GM0221,GM0505")
    {'GM0221': 'complete', 'GM0505': 'complete'}
    """
    declared: dict[str, str] = {}
    for part in str(text).split(";"):
        kind, _, areas = part.strip().partition(":")
        if kind not in COVERAGE_KINDS:
            raise InputError(
                f"--coverage must be one of {', '.join(COVERAGE_KINDS)} (optionally ':AREA,...'), got {text!r}"
            )
        codes = [a.strip().upper() for a in (areas or "NL").split(",") if a.strip()]
        bad = [a for a in codes if not AREA_CODE.fullmatch(a)]
        if bad or not codes:
            raise InputError(f"--coverage areas must be NL, PVxx or GMxxxx codes, got {areas!r}")
        declared.update({code: kind for code in codes})
    return declared


def prepare(kind: str, path: Path, **options) -> Prepared:
    """Read and validate ``path`` as ``kind`` without touching the database.

    Service and monument layers take ``coverage`` (see :func:`parse_coverage`; undeclared: ``partial:NL``),
    stored per category (``monument`` for a monument layer) and area with the dataset."""
    if kind not in READERS:
        raise DataError(path, f"unknown source kind {kind!r}; choose one of {', '.join(READERS)}")
    reader = READERS[kind]
    options = {k: v for k, v in options.items() if v is not None}
    coverage = options.pop("coverage", None)
    if coverage is not None and kind not in (*SERVICE_KINDS, "monuments"):
        raise InputError(f"option --coverage does not apply to {kind} (only to service layers and monuments)")
    declared = parse_coverage(coverage) if coverage is not None else None
    accepted = inspect.signature(reader).parameters
    for name in options:
        if name not in accepted:
            raise InputError(f"option --{name.replace('_', '-')} does not apply to {kind}")
    prepared = reader(Path(path), **options)
    if kind in SERVICE_KINDS:
        if declared is None:
            declared = dict(UNDECLARED)
            prepared.notes.append("coverage not declared: partial (a distance to these points is an upper bound)")
        else:
            prepared.notes.append("coverage " + ", ".join(f"{a} {k}" for a, k in declared.items()))
        categories = sorted(prepared.frame["category"].unique()) if len(prepared.frame) else []
        prepared.coverage = {category: dict(declared) for category in categories}
    elif kind == "monuments":
        if declared is None:
            declared = dict(UNDECLARED)
            prepared.notes.append("coverage not declared: partial (a pand without a monument here: status unknown)")
        else:
            prepared.notes.append("coverage " + ", ".join(f"{a} {k}" for a, k in declared.items()))
        prepared.coverage = {monuments.CATEGORY: dict(declared)}
    return prepared


def load(
    engine: Engine, kind: str, path: Path, *, source: str | None = None, progress: Progress | None = None, **options
) -> LoadReport:
    """Load one file: read, validate, then replace the rows of ``source`` in one transaction."""
    say = progress or (lambda _msg: None)
    say(f"reading {path} as {kind} ...")
    prepared = prepare(kind, path, **options)
    return write(engine, prepared, source=source or default_source(kind, path), path=Path(path), progress=say)


def unload(engine: Engine, source: str) -> int:
    """Remove every row of ``source`` (and its dataset record) in one transaction; returns rows removed."""
    import sqlalchemy as sa

    from geo.models import DATA_TABLES, Dataset

    removed = 0
    with engine.begin() as conn:
        for model in DATA_TABLES:
            table = model.__table__
            removed += conn.execute(table.delete().where(table.c.source == source)).rowcount
        known = conn.execute(sa.delete(Dataset).where(Dataset.source == source)).rowcount
    if not removed and not known:
        raise NotFoundError(f"no source named {source!r} is loaded (see 'opvangmatch db status')")
    return removed


__all__ = ["DESCRIPTIONS", "READERS", "LoadReport", "load", "parse_coverage", "prepare", "unload"]
