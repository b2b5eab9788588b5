"""Region boundaries (simplified for the web) with population and placement-task figures."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Connection, Reader, State
from api.errors import KEYED, problems
from api.geometry import feature_collection
from api.models import FeatureCollectionOut, ProvinceCode
from api.responses import GEOJSON, GeoJSONResponse

router = APIRouter(prefix="/regions", tags=["regions"], responses=problems(*KEYED))
TASK_FIELDS = ("population", "required", "required_basis", "realised", "pipeline", "gap")


def _collection(rows, tasks) -> bytes:
    features = []
    for code, name, province, geometry in rows:
        figures = {}
        if code in tasks.index:
            task = tasks.loc[code]
            figures = {k: (int(task[k]) if isinstance(task[k], int | np.integer) else task[k]) for k in TASK_FIELDS}
        properties = {"code": code, "name": name, **({"province_code": province} if province else {}), **figures}
        features.append(
            '{"type":"Feature","id":'
            + json.dumps(code)
            + ',"geometry":'
            + (geometry or "null")
            + ',"properties":'
            + json.dumps(properties, ensure_ascii=False)
            + "}"
        )
    return feature_collection(features)


@router.get(
    "/provinces",
    response_model=FeatureCollectionOut,
    response_class=GeoJSONResponse,
    summary="Provinces with population and task figures",
)
def provinces(who: Reader, state: State, conn: Connection):
    tasks = state.snapshot.data().tasks
    rows = conn.execute(
        sa.text(
            "SELECT code, name, NULL, ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(geom, :tol), 4326), 5) "
            "FROM province ORDER BY code"
        ),
        {"tol": state.config.simplify_m},
    ).all()
    return Response(_collection(rows, tasks), media_type=GEOJSON)


@router.get(
    "/municipalities",
    response_model=FeatureCollectionOut,
    response_class=GeoJSONResponse,
    summary="Municipalities (of one province) with population and task figures",
)
def municipalities(who: Reader, state: State, conn: Connection, province: ProvinceCode | None = None):
    tasks = state.snapshot.data().tasks
    rows = conn.execute(
        sa.text(
            "SELECT m.code, m.name, mp.province_code, "
            "ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(m.geom, :tol), 4326), 5) "
            "FROM municipality m LEFT JOIN municipality_province mp ON mp.municipality_code = m.code "
            "WHERE CAST(:province AS text) IS NULL OR mp.province_code = :province ORDER BY m.code"
        ),
        {"tol": state.config.simplify_m, "province": province},
    ).all()
    return Response(_collection(rows, tasks), media_type=GEOJSON)
