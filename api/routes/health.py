"""GET /health: is the database reachable, which data vintage is served, which version runs."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import State
from api.models import Health
from api.version import app_version

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is unreachable"}},
    summary="Service health (no key needed)",
)
def health(state: State):
    from geo.db.status import data_vintage

    snapshot = state.snapshot
    body = {
        "status": "ok",
        "database": "ok",
        "data_vintage": None,
        "scoring_data": "loaded" if snapshot.loaded else "not loaded",
        "version": app_version(),
    }
    try:
        body["data_vintage"] = data_vintage(state.engine)["id"]
    except sa.exc.SQLAlchemyError:
        body.update(status="unavailable", database="unreachable")
        return JSONResponse(body, status_code=503)
    return body
