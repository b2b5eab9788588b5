"""Downloaded features -> GeoJSON files in the cache -> the loaders of ``opvangmatch load``.

Every file of one fetch is read and validated (``geo.io.prepare``) before the first one is written,
and all files are written in ONE transaction: a fetch of several files (BAG panden and
verblijfsobjecten, CBS wijken and buurten) loads all or nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from geo.io import prepare
from geo.io.write import LoadReport, write

CRS_MEMBER = {
    28992: {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
    4326: {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
}


@dataclass(frozen=True)
class Download:
    """One file to load: the loader kind, its path, the source name and loader options."""

    kind: str
    path: Path
    source: str
    options: dict = field(default_factory=dict)


def write_geojson(path: Path, features: Sequence[dict], *, epsg: int) -> Path:
    """Write a FeatureCollection with its CRS named (GDAL reads the ``crs`` member), atomically."""
    return write_json(path, {"type": "FeatureCollection", "crs": CRS_MEMBER[epsg], "features": list(features)})


def write_json(path: Path, document: dict) -> Path:
    """Write one JSON document atomically (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_downloads(
    engine: Engine, downloads: Sequence[Download], *, progress: Callable[[str], None] | None = None
) -> list[LoadReport]:
    """Validate every download first, then replace each source's rows, all in one transaction."""
    say = progress or (lambda _msg: None)
    prepared = []
    for item in downloads:
        say(f"reading {item.path} as {item.kind} ...")
        prepared.append(prepare(item.kind, item.path, **item.options))
    with engine.begin() as conn:
        return [
            write(conn, ready, source=item.source, path=item.path, progress=say)
            for item, ready in zip(downloads, prepared, strict=True)
        ]
