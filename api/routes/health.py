"""GET /health: is the database reachable, which data vintage is served, which version runs."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from api.deps import State
from api.errors import PROBLEM_JSON, PROBLEM_SCHEMA, problem
from api.models import Health
from api.version import app_version

HEALTH_FIELDS = {
    "database": {"type": "string", "enum": ["unreachable"]},
    "data_vintage": {"type": ["string", "null"]},
    "scoring_data": {"type": "string", "enum": ["loaded", "not loaded"]},
    "version": {"type": "string"},
}

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={
        503: {
            "description": "The database is unreachable (a problem carrying the health fields)",
            "content": {
                PROBLEM_JSON: {
                    "schema": {**PROBLEM_SCHEMA, "properties": {**PROBLEM_SCHEMA["properties"], **HEALTH_FIELDS}}
                }
            },
        }
    },
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
        extra = {k: v for k, v in body.items() if k != "status"}
        return problem(
            503,
            "Database unavailable",
            "the database cannot be reached just now",
            **{**extra, "database": "unreachable"},
        )
    return body
