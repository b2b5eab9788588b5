"""3D BAG building heights: per pand the ground level and roof height, so that storeys follow from height.

Reads a 3D BAG CityJSON tile (``*.city.json``; attributes ``h_maaiveld``/``h_dak_70p`` of 3D BAG v21, or
``b3_h_maaiveld``/``b3_h_dak_70p`` of later versions) or a table of the same attributes (GeoPackage, CSV with an
``identificatie`` column). Heights are metres above NAP; the height kept is roof (70th percentile) minus ground.
How many storeys that makes is the profile's rule (``capacity.storey_height_m``), see
:func:`geo.score.candidates.estimate_capacity`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import DataError
from geo.io._read import check_unique, read_table, read_vector, require_columns, year_from_name
from geo.io.bag import BAG_ID, _bag_id
from geo.io.write import Prepared
from geo.models import BuildingHeight

GROUND = ("h_maaiveld", "b3_h_maaiveld")
ROOF = ("h_dak_70p", "b3_h_dak_70p")
ROOF_TYPE = ("dak_type", "b3_dak_type")
MAX_HEIGHT_M = 400.0  # taller than any Dutch building: a unit or data error


def _cityjson(path: Path) -> pd.DataFrame:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"not a JSON file: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") not in ("CityJSON", "CityJSONFeature"):
        raise DataError(path, 'not a CityJSON document (no "type": "CityJSON")')
    objects = document.get("CityObjects")
    if not isinstance(objects, dict):
        raise DataError(path, "the CityJSON document has no CityObjects")
    rows = []
    for key, obj in objects.items():
        if not isinstance(obj, dict) or obj.get("type") != "Building" or obj.get("parents"):
            continue  # building parts carry no attributes of their own
        attributes = obj.get("attributes") or {}
        rows.append({"identificatie": attributes.get("identificatie", key), **attributes})
    return pd.DataFrame(rows)


def load_heights(path: Path, *, year=None, crs=None, where=None, layer=None) -> Prepared:
    """A 3D BAG file as ``building_height`` rows (pand id, ground, roof, height, roof type)."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".json", ".city.json", ".cityjson")):
        frame = _cityjson(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        frame = read_table(path)
    else:
        frame = pd.DataFrame(read_vector(path, layer=layer, where=where).drop(columns="geometry", errors="ignore"))
    if frame.empty:
        raise DataError(path, "no buildings in the file")
    _, ground_col, roof_col = require_columns(path, frame, "identificatie", GROUND, ROOF)
    ids = _bag_id(frame["identificatie"])
    for i, value in enumerate(ids):
        if not BAG_ID.fullmatch(str(value)):
            raise DataError(path, f"not a 16-digit BAG pand identificatie: {value!r}", row=i + 1, field="identificatie")
    check_unique(path, ids, field="identificatie")
    ground = pd.to_numeric(frame[ground_col], errors="coerce")
    roof = pd.to_numeric(frame[roof_col], errors="coerce")
    height = roof - ground
    bad = (height < 0) | (height > MAX_HEIGHT_M)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            path,
            f"roof {roof.iloc[i]:g} m - ground {ground.iloc[i]:g} m is no building height (0-{MAX_HEIGHT_M:g} m)",
            row=f"building {ids.iloc[i]}",
            field=roof_col,
        )
    roof_type_col = next((c for c in ROOF_TYPE if c in frame.columns), None)
    out = pd.DataFrame(
        {
            "id": ids,
            "ground_m": ground,
            "roof_m": roof,
            "height_m": height,
            "roof_type": frame[roof_type_col].astype("string") if roof_type_col else None,
        }
    )
    unknown = int(height.isna().sum())
    notes = [f"height = {roof_col} - {ground_col} (metres); storeys follow from the profile's storey height"]
    if unknown:
        notes.append(f"{unknown:,} without both heights (their storeys stay unknown)")
    return Prepared(
        "heights",
        BuildingHeight,
        out,
        year if year is not None else year_from_name(path),
        0,
        0,
        notes,
        geometry_columns=(),
    )
