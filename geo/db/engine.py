"""Engines and database preparation for both modes (managed and external ``DATABASE_URL``)."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.db.managed import Cluster
from geo.errors import DatabaseError
from geo.settings import Settings


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL of the database these settings point at."""
    return settings.database_url or Cluster(settings).url


def make_engine(settings_or_url: Settings | str, **kwargs) -> Engine:
    """An engine for the settings' database (or a URL). Does not connect yet.

    Its errors never carry the statement's parameters (``hide_parameters``): they are data (request values, rows
    being loaded) and error messages end up in logs."""
    url = settings_or_url if isinstance(settings_or_url, str) else database_url(settings_or_url)
    kwargs.setdefault("hide_parameters", True)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def ensure_postgis(engine: Engine) -> None:
    """Create the ``postgis`` extension if it is missing and we may; fail clearly otherwise."""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except sa.exc.OperationalError as exc:
        raise DatabaseError(f"cannot connect to {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from exc
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(
            "the PostGIS extension is not available in this database and could not be created "
            f"({str(exc.orig).strip()}). Install it (Debian: apt-get install postgresql-15-postgis-3) "
            "or ask the database owner to run CREATE EXTENSION postgis."
        ) from exc


def prepare_database(settings: Settings) -> Engine:
    """Start the managed cluster if needed, create PostGIS, run migrations; return an engine."""
    if settings.managed:
        Cluster(settings).up()
    engine = make_engine(settings)
    ensure_postgis(engine)
    from geo.db.migrate import upgrade

    upgrade(engine)
    return engine


@contextlib.contextmanager
def scratch_copy(settings: Settings, prefix: str = "opvangmatch_scratch") -> Iterator[Settings]:
    """A copy of the database of ``settings`` (``CREATE DATABASE ... TEMPLATE``) for work that must not touch it,
    e.g. a benchmark adding SYNTHETIC rows; yields the copy's settings and drops the copy afterwards."""
    source = make_engine(settings)
    url = source.url
    source.dispose()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
        try:
            yield dataclasses.replace(
                settings, database_url=url.set(database=name).render_as_string(hide_password=False)
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
