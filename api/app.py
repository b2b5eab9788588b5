"""The FastAPI app factory. Nothing happens at import: settings (and optionally an engine) are passed in.

>>> from geo.settings import Settings
>>> app = create_app(Settings.from_env())  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from api.auth import KeyStore
from api.batch import ScoreBatcher
from api.config import ApiConfig
from api.deps import AppState
from api.errors import CatchAll, install_error_handlers
from api.middleware import BodySizeLimit, RouteInAccessLog
from api.snapshot import Snapshot
from api.version import app_version
from geo.db import make_engine
from geo.errors import ConfigError
from geo.settings import Settings


def _engine_for(settings: Settings, config: ApiConfig) -> Engine:
    return make_engine(
        settings,
        # As many kept connections as concurrent requests in flight: overflow connections are closed after each
        # use, and opening one per request made /health's p99 1.5 s at 16 clients.
        pool_size=16,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"options": f"-c statement_timeout={int(config.statement_timeout_ms)}", "connect_timeout": 5},
    )


def _set_timeout_on_checkout(engine: Engine, timeout_ms: int) -> None:
    """For an engine made elsewhere: set the statement timeout once on each of its connections."""

    @sa.event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, connection_record, connection_proxy):
        if connection_record.info.get("opvangmatch_timeout") != timeout_ms:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
            dbapi_connection.commit()
            connection_record.info["opvangmatch_timeout"] = timeout_ms


def _check_settings(settings: Settings) -> None:
    from geo.monitoring.indicators import CostReference

    CostReference.from_settings(settings)  # a malformed OPVANGMATCH_COST_REFERENCE fails at start, not per request
    if settings.intake_closes:
        from datetime import date

        try:
            date.fromisoformat(settings.intake_closes)
        except ValueError as exc:
            raise ConfigError(
                f"OPVANGMATCH_INTAKE_CLOSES must be an ISO date (YYYY-MM-DD), got {settings.intake_closes!r}"
            ) from exc


def create_app(settings: Settings, engine: Engine | None = None, config: ApiConfig | None = None) -> FastAPI:
    """Build the scoring API.

    Parameters
    ----------
    settings : where the database is, the intake closing date, API keys from the environment.
    engine : an engine to use instead of one made from ``settings`` (the app then sets its statement timeout on
        each connection it checks out, and leaves disposing it to the caller).
    config : limits and tunables (:class:`ApiConfig`).
    """
    config = config or ApiConfig()
    _check_settings(settings)
    owns = engine is None
    if engine is None:
        engine = _engine_for(settings, config)
    else:
        _set_timeout_on_checkout(engine, config.statement_timeout_ms)
    state = AppState(
        settings=settings,
        config=config,
        engine=engine,
        snapshot=Snapshot(engine, settings.task_period, config.refresh_seconds),
        keys=KeyStore(engine, settings.api_keys, config.key_cache_seconds, config.key_outage_seconds),
        batcher=None,
        owns_engine=owns,
    )
    state.batcher = ScoreBatcher(state.snapshot)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if config.preload:
            from geo.score import load_profile

            # Without the database now, the data is loaded at first use; /health says so.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                state.snapshot.candidates(load_profile("default"))
        yield
        state.batcher.close()
        if state.owns_engine:
            state.engine.dispose()

    app = FastAPI(
        title="opvangmatch scoring API",
        version=app_version(),
        description=(
            "Score and store location proposals for small-scale asylum reception, and read candidates, regions and "
            "the placement task. Every endpoint but /health and the docs needs an API key in the X-API-Key header. "
            "Geometries are GeoJSON in EPSG:4326 (longitude, latitude). Errors are application/problem+json."
        ),
        lifespan=lifespan,
    )
    app.state.opvangmatch = state
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(CatchAll)  # also catches what the body limit or a route let through
    app.add_middleware(RouteInAccessLog)  # outermost of ours

    from api.routes import candidates, features, health, proposals, regions, score, task

    for module in (health, score, proposals, candidates, regions, task, features):
        app.include_router(module.router)
    from api.routes import maps, monitoring  # GET /maps/... (geo/maps); pilot monitoring and evaluation

    app.include_router(maps.router)
    app.include_router(monitoring.router)
    return app
