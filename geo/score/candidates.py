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

IN_USE = ("Pand in gebruik", "Pand in gebruik (niet ingemeten)", "Verbouwing pand")


CANDIDATE_QUERY = """
    WITH vbo AS (
        SELECT unnest(building_ids) AS building_id, floor_area / cardinality(building_ids) AS area, use
        FROM residence WHERE floor_area IS NOT NULL)
    SELECT b.id, ST_X(b.point) AS x, ST_Y(b.point) AS y, b.status, ST_Area(b.geom) AS footprint_m2,
           b.storeys, coalesce(v.area, b.floor_area) AS floor_area_bag, coalesce(v.uses, b.use) AS use
    FROM building b
    LEFT JOIN (SELECT building_id, sum(area) AS area, string_agg(DISTINCT use, ',') AS uses
               FROM vbo GROUP BY building_id) v ON v.building_id = b.id
    {where}
    ORDER BY b.id"""
COLUMNS = {
    "id": str,
    "x": float,
    "y": float,
    "status": str,
    "footprint_m2": float,
    "storeys": float,
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
    if scope is not None and len(frame):
        shapely.prepare(scope)
        inside = shapely.dwithin(scope, shapely.points(frame[["x", "y"]].to_numpy()), BOUNDARY_TOLERANCE_M)
        frame = frame[inside].reset_index(drop=True)
    return frame


def _scope_geometry(engine: Engine, municipality: str | None, province: str | None) -> shapely.Geometry | None:
    """The municipality's boundary, or the union of the province's municipalities (where the task counts it)."""
    if municipality:
        return find_region(engine, "municipality", municipality).outline
    if province:
        return municipalities_outline(engine, province)
    return None


def estimate_capacity(candidates: pd.DataFrame, profile: Profile) -> pd.DataFrame:
    """Places a building could hold: floor area / m2 per place, capped at the small-scale maximum.

    Floor area comes from BAG verblijfsobjecten when loaded, else the footprint times the storeys
    (one storey when unknown). Adds ``floor_area``, ``capacity_estimate``, ``capacity`` and
    ``capacity_method``.
    """
    out = candidates.copy()
    bag = pd.to_numeric(out["floor_area_bag"], errors="coerce").to_numpy(dtype=float)
    storeys = pd.to_numeric(out["storeys"], errors="coerce").to_numpy(dtype=float)
    footprint = out["footprint_m2"].to_numpy(dtype=float)
    from_bag = np.isfinite(bag)
    floor = np.where(from_bag, bag, footprint * np.where(np.isfinite(storeys), storeys, 1.0))
    method = np.where(
        from_bag, "bag_floor_area", np.where(np.isfinite(storeys), "footprint_x_storeys", "footprint_1_storey_assumed")
    )
    estimate = np.floor(floor / profile.m2_per_place)
    out["floor_area"] = floor
    out["capacity_estimate"] = estimate.astype(np.int64)
    out["capacity"] = np.minimum(estimate, profile.max_places).astype(np.int64)
    out["capacity_method"] = method
    return out


def capacity_flags(candidates: pd.DataFrame, profile: Profile) -> dict[str, np.ndarray]:
    """Flags for what :func:`estimate_capacity` assumed or clipped, so that none of it is silent:

    * ``capacity_estimated``: the capacity is floor area / m2 per place, not a given number;
    * ``one_storey_assumed``: the floor area is the footprint, one storey assumed (no BAG floor area, no storeys);
    * ``capacity_capped``: the estimate exceeds the profile's maximum; the building is scored with the maximum
      (part of it used), the full estimate stays in the measures (``capacity_estimate``).
    """
    method = candidates["capacity_method"].to_numpy()
    return {
        "capacity_estimated": np.ones(len(candidates), dtype=bool),
        "one_storey_assumed": method == "footprint_1_storey_assumed",
        "capacity_capped": candidates["capacity_estimate"].to_numpy() > profile.max_places,
    }
