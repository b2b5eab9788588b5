"""FastAPI dependencies: the app state, a database connection, and who is calling (API key and role).

Reuse in a new route module (e.g. ``api/routes/maps.py``)::

    from api.deps import Reader, Connection

    @router.get("/maps/task")
    def task_map(who: Reader, conn: Connection) -> HTMLResponse: ...

``Reader`` admits every role; ``Writer`` the roles that submit proposals (municipality, coa, admin); ``Staff``
coa and admin; ``Admin`` admin only. For other sets use ``Annotated[Principal, Depends(require_roles(...))]``.
A missing or unknown key answers 401, a role not admitted 403, both as problem+json. ``who.sees_all`` is false for
municipality keys: such a caller may only see its own municipality (``who.municipality_code``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine

from api.auth import ROLES, KeyStore, Principal
from api.batch import ScoreBatcher
from api.config import ApiConfig
from api.snapshot import Snapshot
from geo.errors import PermissionDenied, Unauthenticated
from geo.settings import Settings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="an API key made with 'opvangmatch apikey create'"
)


@dataclass
class AppState:
    """Everything the routes share; one per app (``app.state.opvangmatch``)."""

    settings: Settings
    config: ApiConfig
    engine: Engine
    snapshot: Snapshot
    keys: KeyStore
    batcher: ScoreBatcher
    owns_engine: bool = True
    extra: dict = field(default_factory=dict)


async def get_state(request: Request) -> AppState:
    return request.app.state.opvangmatch


State = Annotated[AppState, Depends(get_state)]


def get_connection(state: State) -> Iterator[sa.Connection]:
    """A connection (statement timeout set); writes call ``conn.commit()`` themselves, the rest is rolled back."""
    with state.engine.connect() as conn:
        yield conn


Connection = Annotated[sa.Connection, Depends(get_connection)]


async def get_principal(state: State, key: Annotated[str | None, Security(_api_key)] = None) -> Principal:
    if not key:
        raise Unauthenticated(f"this endpoint needs an API key in the {API_KEY_HEADER} header")
    if len(key) > 200:
        raise Unauthenticated("the API key is not valid")
    principal = state.keys.resolve(key)
    if principal is None:
        raise Unauthenticated("the API key is not valid (unknown or revoked)")
    return principal


def require_roles(*roles: str):
    """A dependency admitting callers whose key has one of ``roles``."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise PermissionDenied(f"a {principal.role} key may not do this (allowed: {', '.join(roles)})")
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require_roles(*ROLES))]
Writer = Annotated[Principal, Depends(require_roles("municipality", "coa", "admin"))]
Staff = Annotated[Principal, Depends(require_roles("coa", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
