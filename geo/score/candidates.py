"""Candidate buildings in a scope, with a capacity estimate and how it was made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.errors import InputError, NotFoundError
from geo.score.data import BOUNDARY_TOLERANCE_M
from geo.score.profile import Profile

IN_USE = ("Pand in gebruik", "Pand in gebruik (niet ingemeten)", "Verbouwing pand")


def read_candidates(engine: Engine, *, municipality: str | None = None, province: str | None = None) -> pd.DataFrame:
    """Buildings whose representative point lies in (or within the boundary tolerance of) the scope,
    with floor area where BAG gives it. A building just across a generalised boundary is kept in the
    scope, and scored with the area its point falls in.

    Columns: ``id, x, y, status, footprint_m2, storeys, floor_area_bag, use``. Floor area of a
    verblijfsobject spread over several panden is split equally between them.
    """
    if municipality and province:
        raise InputError("give --municipality or --province, not both")
    where, params = "", {}
    with engine.connect() as conn:
        if municipality:
            if not conn.execute(sa.text("SELECT 1 FROM municipality WHERE code = :c"), {"c": municipality}).first():
                raise NotFoundError(f"municipality {municipality} is not loaded")
            where = "WHERE ST_DWithin(b.point, (SELECT geom FROM municipality WHERE code = :scope), :tolerance)"
            params = {"scope": municipality}
        elif province:
            if not conn.execute(
                sa.text("SELECT 1 FROM municipality_province WHERE province_code = :c"), {"c": province}
            ).first():
                raise NotFoundError(f"province {province} is not loaded (or has no municipalities)")
            where = """WHERE EXISTS (SELECT 1 FROM municipality m JOIN municipality_province mp
                       ON mp.municipality_code = m.code WHERE mp.province_code = :scope
                       AND ST_DWithin(b.point, m.geom, :tolerance))"""
            params = {"scope": province}
        params["tolerance"] = BOUNDARY_TOLERANCE_M
        rows = conn.execute(
            sa.text(f"""
            WITH vbo AS (
                SELECT unnest(building_ids) AS building_id, floor_area / cardinality(building_ids) AS area,
                       use FROM residence WHERE floor_area IS NOT NULL)
            SELECT b.id, ST_X(b.point) AS x, ST_Y(b.point) AS y, b.status, ST_Area(b.geom) AS footprint_m2,
                   b.storeys, coalesce(v.area, b.floor_area) AS floor_area_bag,
                   coalesce(v.uses, b.use) AS use
            FROM building b
            LEFT JOIN (SELECT building_id, sum(area) AS area, string_agg(DISTINCT use, ',') AS uses
                       FROM vbo GROUP BY building_id) v ON v.building_id = b.id
            {where}
            ORDER BY b.id"""),
            params,
        ).all()
    return pd.DataFrame(rows, columns=["id", "x", "y", "status", "footprint_m2", "storeys", "floor_area_bag", "use"])


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
