"""Candidate buildings in a scope, with a capacity estimate and how it was made."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from sqlalchemy.engine import Engine

from geo.errors import InputError
from geo.scope import find_region, municipalities_outline
from geo.score.data import BOUNDARY_TOLERANCE_M
from geo.score.profile import Profile
from geo.score.use import COLUMNS as USE_COLUMNS_ALL
from geo.score.use import building_use

IN_USE = (
    "Pand in gebruik",
    "Pand in gebruik (niet ingemeten)",
    "Verbouwing pand",
    "Pand buiten gebruik",
    "Sloopvergunning verleend",
)
"""BAG pand statuses of a standing building that can be a candidate (not yet built ones cannot)."""
AVAILABILITY = {"building_out_of_use": "Pand buiten gebruik", "under_conversion": "Verbouwing pand"}
"""Pand statuses that point at vacancy or conversion: flags that can raise a candidate within its band."""
DEMOLITION = "Sloopvergunning verleend"


CANDIDATE_QUERY = """
    SELECT b.id, ST_X(b.point) AS x, ST_Y(b.point) AS y, b.status, ST_Area(b.geom) AS footprint_m2,
           b.storeys, h.height_m, b.floor_area AS floor_area_bag, b.use
    FROM building b
    LEFT JOIN building_height h ON h.id = b.id
    {where}
    ORDER BY b.id"""
# The verblijfsobjecten linked to the candidates (their use mix is computed by geo.score.use.building_use).
UNITS_QUERY = """
    SELECT r.id, r.building_ids, r.use, r.floor_area, r.status FROM residence r
    WHERE r.building_ids && (SELECT coalesce(array_agg(b.id), '{{}}') FROM building b {where})
    ORDER BY r.id"""
COLUMNS = {
    "id": str,
    "x": float,
    "y": float,
    "status": str,
    "footprint_m2": float,
    "storeys": float,
    "height_m": float,
    "floor_area_bag": float,
    "use": str,
}


def read_candidates(engine: Engine, *, municipality: str | None = None, province: str | None = None) -> pd.DataFrame:
    """Buildings whose representative point lies in (or within the boundary tolerance of) the scope,
    with floor area where BAG gives it. A building just across a generalised boundary is kept in the
    scope, and scored with the area its point falls in.

    Columns: ``id, x, y, status, footprint_m2, storeys, floor_area_bag, use``. Floor area of a
    verblijfsobject spread over several panden is split equally between them. Rows are streamed with
    COPY; the scope is cut by bounding box in SQL and exactly (prepared geometry) in memory.
    """
    if municipality and province:
        raise InputError("give --municipality or --province, not both")
    scope = _scope_geometry(engine, municipality, province)
    where = sql.SQL("")
    if scope is not None:
        xmin, ymin, xmax, ymax = scope.buffer(0).bounds
        t = BOUNDARY_TOLERANCE_M
        where = sql.SQL("WHERE b.point && ST_MakeEnvelope({}, {}, {}, {}, 28992)").format(
            *(sql.Literal(float(v)) for v in (xmin - t, ymin - t, xmax + t, ymax + t))
        )
    query = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)").format(
        sql.SQL(CANDIDATE_QUERY).format(where=where)
    )
    buffer = io.BytesIO()
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(query) as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    frame = pd.read_csv(
        buffer, dtype=COLUMNS, keep_default_na=False, na_values={c: [""] for c in COLUMNS if COLUMNS[c] is float}
    )
    for col in ("status", "use"):
        frame[col] = frame[col].replace("", None)
    frame = _with_use(engine, frame, where)
    if scope is not None and len(frame):
        shapely.prepare(scope)
        inside = shapely.dwithin(scope, shapely.points(frame[["x", "y"]].to_numpy()), BOUNDARY_TOLERANCE_M)
        frame = frame[inside].reset_index(drop=True)
    return frame


def _with_use(engine: Engine, frame: pd.DataFrame, where: sql.Composable) -> pd.DataFrame:
    """Join each pand's use (:func:`geo.score.use.building_use`) from the verblijfsobjecten linked to it; where any
    are linked their usable floor area replaces a floor area stored on the pand."""
    with engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(sql.SQL(UNITS_QUERY).format(where=where))
        units = pd.DataFrame(cursor.fetchall(), columns=["id", "building_ids", "use", "floor_area", "status"])
    use = building_use(units).reindex(frame["id"].to_numpy())
    out = frame.copy()
    for column in USE_COLUMNS_ALL:
        values = use[column].to_numpy()
        out[column] = (
            values
            if column != "units" and column != "units_out_of_use"
            else np.nan_to_num(values.astype(float)).astype(np.int64)
        )
    known = out["units"].to_numpy() > 0
    out["floor_area_bag"] = np.where(known, out["usable_floor_area"], out["floor_area_bag"])
    out["use"] = np.where(known, out["use_mix"], out["use"])
    return out


def _scope_geometry(engine: Engine, municipality: str | None, province: str | None) -> shapely.Geometry | None:
    """The municipality's boundary, or the union of the province's municipalities (where the task counts it)."""
    if municipality:
        return find_region(engine, "municipality", municipality).outline
    if province:
        return municipalities_outline(engine, province)
    return None


def estimate_capacity(candidates: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Places a building could hold: floor area / m2 per place; a larger building is scored with the upper end of the
    profile's preferred band (part of it used, flagged ``capacity_capped``), never beyond the small-scale maximum.

    Floor area, best source first: the usable floor area of the BAG verblijfsobjecten linked to the pand
    (``bag_floor_area``); the footprint times the storeys that follow from the 3D BAG height
    (``footprint_x_storeys_from_height``: floor(height / storey height), at least 1); the footprint times storeys
    stored on the pand (``footprint_x_storeys``); the footprint, one storey assumed (the flagged last resort).
    Adds ``storeys_used``, ``floor_area``, ``capacity_estimate``, ``capacity`` and ``capacity_method``.
    """
    out = candidates.copy()
    bag = pd.to_numeric(out["floor_area_bag"], errors="coerce").to_numpy(dtype=float)
    stored = pd.to_numeric(out["storeys"], errors="coerce").to_numpy(dtype=float)
    height = pd.to_numeric(out.get("height_m", pd.Series(np.nan, index=out.index)), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        from_height = np.where(np.isfinite(height), np.maximum(np.floor(height / profile.storey_height_m), 1.0), np.nan)
    footprint = out["footprint_m2"].to_numpy(dtype=float)
    from_bag = np.isfinite(bag)
    storeys = np.where(np.isfinite(from_height), from_height, np.where(np.isfinite(stored), stored, 1.0))
    floor = np.where(from_bag, bag, footprint * storeys)
    method = np.select(
        [from_bag, np.isfinite(from_height), np.isfinite(stored)],
        ["bag_floor_area", "footprint_x_storeys_from_height", "footprint_x_storeys"],
        "footprint_1_storey_assumed",
    )
    estimate = np.floor(floor / profile.m2_per_place)
    out["storeys_used"] = np.where(from_bag, np.nan, storeys)
    out["floor_area"] = floor
    out["capacity_estimate"] = estimate.astype(np.int64)
    out["capacity"] = np.minimum(estimate, profile.size.high).astype(np.int64)
    out["capacity_method"] = method
    return out


def capacity_flags(candidates: pd.DataFrame, profile: Profile) -> dict[str, np.ndarray]:
    """Flags for what :func:`estimate_capacity` assumed or clipped, so that none of it is silent:

    * ``capacity_estimated``: the capacity is floor area / m2 per place, not a given number;
    * ``one_storey_assumed``: the floor area is the footprint, one storey assumed (no BAG floor area, no storeys);
    * ``capacity_capped``: the estimate exceeds the upper end of the profile's preferred band; the building is scored
      with that (part of it used), the full estimate stays in the measures (``capacity_estimate``).
    """
    method = candidates["capacity_method"].to_numpy()
    return {
        "capacity_estimated": np.ones(len(candidates), dtype=bool),
        "one_storey_assumed": method == "footprint_1_storey_assumed",
        "capacity_capped": candidates["capacity_estimate"].to_numpy() > candidates["capacity"].to_numpy(),
    }
