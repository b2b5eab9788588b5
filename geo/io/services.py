"""Service points (facilities) of one category each: DUO schools, GTFS stops, CHB stations, GeoJSON points.

Categories follow the service model in DESIGN.md: gp, pharmacy, supermarket, primary_school,
secondary_school, hospital, library, train_station, bus_stop, ferry_stop, childcare.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.domain import SERVICE_CATEGORIES as CATEGORIES
from geo.errors import DataError
from geo.io._read import (
    check_unique,
    clean_geometries,
    outside_nl,
    read_table,
    read_vector,
    require_columns,
    to_rd,
    year_from_name,
)
from geo.io.write import Prepared
from geo.models import Service

NAME_FIELDS = (
    "name",
    "naam",
    "Naam",
    "naam_ziekenhuis",
    "publicname",
    "VESTIGINGSNAAM",
    "stop_name",
    "addressName",
    "Officiëlenaam",
)
ID_FIELDS = ("osm_id", "id", "identificatie", "uuid", "stopplacecode", "stop_id", "ziekenhuisnummer")
# OpenStreetMap tags -> category, for generic OSM/Overpass exports without a category column and for
# ``opvangmatch fetch osm`` (which queries exactly these tags). The first matching row wins, so metro
# and light-rail stations come before railway=station.
OSM_TAGS = {
    ("amenity", "doctors"): "gp",
    ("healthcare", "general_practitioner"): "gp",
    ("amenity", "pharmacy"): "pharmacy",
    ("healthcare", "pharmacy"): "pharmacy",
    ("shop", "supermarket"): "supermarket",
    ("amenity", "hospital"): "hospital",
    ("amenity", "library"): "library",
    ("amenity", "kindergarten"): "childcare",
    ("amenity", "childcare"): "childcare",
    ("station", "subway"): "tram_metro_stop",
    ("station", "light_rail"): "tram_metro_stop",
    ("railway", "tram_stop"): "tram_metro_stop",
    ("railway", "station"): "train_station",
    ("railway", "halt"): "train_station",
    ("highway", "bus_stop"): "bus_stop",
    ("amenity", "ferry_terminal"): "ferry_stop",
}
# amenity=school says nothing about the level; OSM's isced:level does (1 primary, 2-3 secondary).
# A school without isced:level gets no category (DUO's register is the better school source).
OSM_SCHOOL_LEVELS = {"1": "primary_school", "2": "secondary_school", "3": "secondary_school"}
DOCTORS_UNSPECIFIED = "doctors (unspecified)"


def doctors_kind(speciality: object) -> str:
    """What an ``amenity=doctors`` is, by its ``healthcare:speciality`` (``;``-separated): ``"gp"``
    when ``general`` is among them, ``"specialist"`` when it is tagged otherwise, and
    :data:`DOCTORS_UNSPECIFIED` when untagged (kept as a GP, and reported as such)."""
    text = "" if speciality is None or (isinstance(speciality, float) and speciality != speciality) else str(speciality)
    values = {part.strip().lower() for part in text.split(";") if part.strip()}
    if not values:
        return DOCTORS_UNSPECIFIED
    return "gp" if "general" in values else "specialist"


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise DataError("--category", f"unknown service category {category!r}; choose one of {', '.join(CATEGORIES)}")
    return category


def _services(
    path: Path,
    kind: str,
    frame: gpd.GeoDataFrame,
    categories: pd.Series,
    *,
    ids: pd.Series,
    names: pd.Series,
    year: int | None,
    attributes: pd.Series | None = None,
    notes: list[str] | None = None,
    skipped: int = 0,
    label: str = "feature",
) -> Prepared:
    check_unique(path, ids, field="id", label=label)
    geoms, repairs = clean_geometries(path, frame, kind="point", ids=ids, label=label)
    out = pd.DataFrame(
        {
            "category": categories.to_numpy(),
            "name": names.to_numpy(),
            "external_id": ids.to_numpy(),
            "attributes": attributes.to_numpy() if attributes is not None else None,
            "geom": geoms,
        }
    )
    notes = list(notes or [])
    counts = out["category"].value_counts().sort_index()
    notes.append("per category: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return Prepared(kind, Service, out, year if year is not None else year_from_name(path), repairs, skipped, notes)


def _first_present(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    col = next((n for n in names if n in frame.columns), None)
    if col is None:
        return pd.Series([None] * len(frame), index=frame.index, dtype="object")
    return frame[col].astype("string")


def _attributes(frame: pd.DataFrame, exclude: set[str]) -> pd.Series:
    cols = [c for c in frame.columns if c not in exclude and c != "geometry"]

    def pack(row) -> dict:
        return {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in row.items()
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA and v is not pd.NaT
        }

    return pd.Series([pack(r) for r in frame[cols].to_dict("records")], index=frame.index, dtype=object)


def _skip_outside(frame: gpd.GeoDataFrame, skip: bool, notes: list[str], id_fields=ID_FIELDS) -> gpd.GeoDataFrame:
    """With ``skip_outside``, drop (and list) points outside the Netherlands, e.g. geocoding errors."""
    if not skip:
        return frame
    outside = outside_nl(frame)
    if outside.any():
        ids = _first_present(frame, id_fields)[outside].fillna("?").tolist()
        notes.append(
            f"skipped {int(outside.sum())} point(s) outside the Netherlands (geocoding errors?): "
            + ", ".join(ids[:10])
            + (" ..." if len(ids) > 10 else "")
        )
    return frame[~outside].reset_index(drop=True)


def load_points(
    path: Path,
    *,
    category: str | None = None,
    year=None,
    crs=None,
    where=None,
    layer=None,
    name_field: str | None = None,
    id_field: str | None = None,
    skip_outside: bool = False,
) -> Prepared:
    """Generic points (GeoJSON, GeoPackage...): one ``--category`` for all, a ``category`` column,
    or OSM tags (amenity=library...) mapped by :data:`OSM_TAGS`."""
    frame = to_rd(path, read_vector(path, layer=layer, where=where), assume_crs=crs)
    notes: list[str] = []
    before = len(frame)
    frame = _skip_outside(frame, skip_outside, notes, (id_field,) if id_field else ID_FIELDS)
    skipped_outside = before - len(frame)
    if category:
        categories = pd.Series(check_category(category), index=frame.index)
    elif "category" in frame.columns:
        categories = frame["category"].astype("string")
        unknown = ~categories.isin(CATEGORIES)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(path, f"unknown category {categories.iloc[i]!r}", row=f"feature {i + 1}", field="category")
    else:
        categories = _osm_categories(frame)
        if categories.isna().all():
            raise DataError(
                path,
                "no --category given, no 'category' column and no OSM tag this loader knows "
                "(amenity=doctors, shop=supermarket...)",
                field="category",
            )
        missing = categories.isna()
        if missing.any():
            notes.append(f"skipped {int(missing.sum())} features without a known OSM tag")
        frame, categories = frame[~missing].reset_index(drop=True), categories[~missing].reset_index(drop=True)
    ids = frame[id_field].astype("string") if id_field else _first_present(frame, ID_FIELDS)
    if ids.isna().all():
        ids = pd.Series([str(i + 1) for i in range(len(frame))], dtype="string")
        notes.append("no id column: ids are feature numbers")
    names = frame[name_field].astype("string") if name_field else _first_present(frame, NAME_FIELDS)
    return _services(
        path,
        "points",
        frame,
        categories,
        ids=ids,
        names=names,
        year=year,
        attributes=_attributes(frame, set()),
        notes=notes,
        skipped=skipped_outside,
    )


def _osm_categories(frame: pd.DataFrame) -> pd.Series:
    result = pd.Series([None] * len(frame), index=frame.index, dtype="object")
    for (key, value), category in OSM_TAGS.items():
        if key in frame.columns:
            result = result.where(result.notna() | (frame[key].astype("string") != value), category)
    if "amenity" in frame.columns and "healthcare:speciality" in frame.columns:
        doctors = (frame["amenity"].astype("string") == "doctors").fillna(False).astype(bool)
        specialist = doctors & (frame["healthcare:speciality"].map(doctors_kind) == "specialist")
        result = result.where(~(specialist & (result == "gp")), None)  # a specialist is no GP
    return result


def load_schools(path: Path, *, year=None, crs=None, where=None, layer=None, skip_outside: bool = False) -> Prepared:
    """DUO 'alle vestigingen' with coordinates: layer ``bo`` = primary, ``vo`` = secondary schools.

    Rows without coordinates (not geocoded) are skipped and counted; with ``skip_outside`` also
    points outside the Netherlands (geocoding errors).
    """
    import pyogrio

    try:
        layers = [layer] if layer else [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise DataError(path, f"cannot read as a vector file: {exc}") from exc
    frames, notes, skipped = [], [], 0
    for name in layers:
        if name.lower() not in {"bo", "vo", "po"}:
            raise DataError(
                path, f"unexpected layer {name!r}; expected 'bo' (primary) and/or 'vo' (secondary)", field="layer"
            )
        frame = to_rd(path, read_vector(path, layer=name, where=where), assume_crs=crs)
        require_columns(path, frame, ("BRIN_NUMMER", "BRIN NUMMER"), "VESTIGINGSNAAM")
        empty = frame.geometry.isna() | frame.geometry.is_empty
        skipped += int(empty.sum())
        notes.append(f"layer {name}: {int((~empty).sum()):,} located, {int(empty.sum())} without coordinates skipped")
        frame = frame[~empty].reset_index(drop=True)
        before = len(frame)
        frame = _skip_outside(frame, skip_outside, notes, ("VESTIGINGSNUMMER",)).copy()
        skipped += before - len(frame)
        frame["_category"] = "secondary_school" if name.lower() == "vo" else "primary_school"
        frames.append(frame)
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    brin = _first_present(frame, ("BRIN_NUMMER", "BRIN NUMMER"))
    vest = _first_present(frame, ("VESTIGINGSNUMMER",)).fillna("")
    ids = frame["_category"].str[:1] + ":" + vest.where(vest != "", brin)
    return _services(
        path,
        "schools",
        frame,
        frame["_category"],
        ids=ids.astype("string"),
        names=frame["VESTIGINGSNAAM"].astype("string"),
        year=year,
        attributes=_attributes(frame, {"_category"}),
        notes=notes,
        skipped=skipped,
    )


def load_gtfs_stops(path: Path, *, category: str | None = None, year=None) -> Prepared:
    """GTFS ``stops.txt``: stop points (location_type empty or 0) as ``bus_stop`` unless told otherwise."""
    table = read_table(path, sep=",")
    require_columns(path, table, "stop_id", "stop_name", "stop_lat", "stop_lon")
    category = check_category(category or "bus_stop")
    kind = table["location_type"].str.strip() if "location_type" in table else pd.Series("", index=table.index)
    keep = kind.isin(["", "0"])
    skipped = int((~keep).sum())
    table = table[keep].reset_index(drop=True)
    coords = {}
    for col in ("stop_lon", "stop_lat"):
        values = pd.to_numeric(table[col].str.strip(), errors="coerce")
        if values.isna().any():
            i = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise DataError(path, f"not a coordinate: {table[col].iloc[i]!r}", row=f"line {i + 2}", field=col)
        coords[col] = values.to_numpy()
    frame = gpd.GeoDataFrame(table, geometry=shapely.points(coords["stop_lon"], coords["stop_lat"]), crs="EPSG:4326")
    frame = to_rd(path, frame)
    notes = [f"skipped {skipped} stations/entrances (location_type not 0)"] if skipped else []
    return _services(
        path,
        "gtfs-stops",
        frame,
        pd.Series(category, index=frame.index),
        ids=table["stop_id"].str.strip().astype("string"),
        names=table["stop_name"].astype("string"),
        year=year,
        attributes=_attributes(table, {"stop_lat", "stop_lon"}),
        notes=notes,
        skipped=skipped,
        label="stop",
    )


def load_chb_stations(path: Path, *, year=None) -> Prepared:
    """DOVA Centraal Haltebestand railway stations (JSON list with ``centroid_wgs84``); only available ones."""
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(path, "file not found") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"not valid JSON: {exc}") from exc
    if isinstance(records, dict):
        records = next((v for v in records.values() if isinstance(v, list)), None)
    if not isinstance(records, list) or not records:
        raise DataError(path, "expected a non-empty JSON list of stations")
    rows, geoms, skipped = [], [], 0
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise DataError(path, "expected an object", row=f"station {i}")
        for key in ("stopplacecode", "publicname", "centroid_wgs84"):
            if key not in rec:
                raise DataError(path, f"missing field {key!r}", row=f"station {i}", field=key)
        if rec.get("stopplacestatus", "available") != "available":
            skipped += 1
            continue
        point = rec["centroid_wgs84"]
        try:
            lon, lat = _lonlat(point)
        except (TypeError, ValueError, KeyError) as exc:
            raise DataError(
                path, f"cannot read coordinates {point!r}", row=f"station {i}", field="centroid_wgs84"
            ) from exc
        rows.append({k: v for k, v in rec.items() if not isinstance(v, dict | list) and not k.startswith("centroid")})
        geoms.append(shapely.Point(lon, lat))
    frame = to_rd(path, gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326"))
    return _services(
        path,
        "chb-stations",
        frame,
        pd.Series("train_station", index=frame.index),
        ids=frame["stopplacecode"].astype("string"),
        names=frame["publicname"].astype("string"),
        year=year,
        attributes=_attributes(frame, set()),
        notes=[f"skipped {skipped} stations not 'available'"] if skipped else [],
        skipped=skipped,
        label="station",
    )


def _lonlat(point) -> tuple[float, float]:
    if isinstance(point, dict):
        if "coordinates" in point:
            lon, lat = point["coordinates"][:2]
        else:
            lon = point.get("longitude", point.get("lon", point.get("x")))
            lat = point.get("latitude", point.get("lat", point.get("y")))
        return float(lon), float(lat)
    if isinstance(point, str):
        text = point.upper().replace("POINT", "").strip(" ()")
        lon, lat = text.replace(",", " ").split()[:2]
        return float(lon), float(lat)
    lon, lat = point[:2]
    return float(lon), float(lat)
