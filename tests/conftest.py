"""Shared fixtures: a real PostGIS (managed cluster, or the server of DATABASE_URL) for the whole run.

Each run works in databases of its own (``opvangmatch_test_*``), created here and dropped at the end.
A skipped test fails the run: the suite must not pass without PostGIS.

With ``OPVANGMATCH_TEST_DEMO_CACHE=1`` (``make test-fast``) the demo database is copied from a template kept on the
server, ``opvangmatch_demo_<hash>``, named by a hash of everything it is made from (the shipped data, the loaders,
the migrations and models): a change to any of them makes a new one, loaded the ordinary way once. ``make test``
loads the demo afresh every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from geo.db import database_url as database_url_of
from geo.db import make_engine, prepare_database
from geo.db.managed import Cluster
from geo.io.demo import load_demo
from geo.models import DATA_TABLES, Dataset
from geo.settings import PROJECT_ROOT, Settings
from tests.api_helpers import clean_up, make_keys

DATA = PROJECT_ROOT / "data"
OUTPUT = PROJECT_ROOT / "tests" / "output"
RUN_ID = uuid.uuid4().hex[:8]


class Databases:
    """Creates and drops databases on the server the settings point at."""

    def __init__(self, base: Settings):
        self.base = base
        if base.managed:
            Cluster(base).up()
            self.admin_url = Cluster(base).admin_url()
        else:
            self.admin_url = make_url(base.database_url).set(database="postgres").render_as_string(False)
        self.created: list[str] = []

    def settings_for(self, name: str) -> Settings:
        if self.base.managed:
            return Settings(
                pgdata=self.base.pgdata, pg_port=self.base.pg_port, database=name, data_dir=self.base.data_dir
            )
        url = make_url(self.base.database_url).set(database=name).render_as_string(False)
        return Settings(database_url=url, data_dir=self.base.data_dir)

    def create(self, label: str, template: str | None = None) -> Settings:
        name = f"opvangmatch_test_{RUN_ID}_{label}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return self.settings_for(name)

    def exists(self, name: str) -> bool:
        admin = sa.create_engine(self.admin_url)
        with admin.connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        admin.dispose()
        return found is not None

    def keep_as_template(self, settings: Settings, template: str) -> None:
        """Copy a loaded database to ``template`` (kept after the run); another run making it at once is fine."""
        source = make_url(database_url_of(settings)).database
        with contextlib.suppress(sa.exc.ProgrammingError):  # DuplicateDatabase: made meanwhile by another run
            self._admin(f'CREATE DATABASE "{template}" TEMPLATE "{source}"')

    def _admin(self, statement: str) -> None:
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
        admin.dispose()

    def drop_all(self) -> None:
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases():
    base = Settings.from_env()
    dbs = Databases(base)
    yield dbs
    dbs.drop_all()


def demo_key() -> str:
    """A hash of everything the demo database is made from: shipped data, loaders, migrations, models, constants."""
    digest = hashlib.sha256()
    sources = [DATA, PROJECT_ROOT / "geo" / "io", PROJECT_ROOT / "geo" / "db", PROJECT_ROOT / "geo" / "migrations"]
    files = [PROJECT_ROOT / "geo" / "models.py", PROJECT_ROOT / "geo" / "domain.py"]
    for folder in sources:
        files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def demo_settings(databases) -> Settings:
    """Settings of a database with the schema migrated and the whole demo loaded (once per run)."""
    template = f"opvangmatch_demo_{demo_key()}" if os.environ.get("OPVANGMATCH_TEST_DEMO_CACHE") == "1" else None
    if template and databases.exists(template):
        return databases.create("demo", template=template)
    settings = databases.create("demo")
    engine = prepare_database(settings)
    load_demo(engine, DATA)
    engine.dispose()
    if template:
        databases.keep_as_template(settings, template)
    return settings


@pytest.fixture(scope="session")
def demo_engine(demo_settings):
    engine = make_engine(demo_settings)
    yield engine
    engine.dispose()


@pytest.fixture()
def empty_settings(databases) -> Settings:
    """A fresh database without schema."""
    return databases.create(f"empty{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def keys(demo_engine) -> Iterator[dict[str, str]]:
    """One API key per role on the demo database, for one test module; removed with what the module wrote."""
    made = make_keys(demo_engine)
    yield made
    clean_up(demo_engine)


@pytest.fixture(scope="module")
def client(demo_settings, keys) -> Iterator[TestClient]:
    """The API app on the demo database, in process, for one test module."""
    with TestClient(create_app(demo_settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def fingerprint(engine) -> dict[str, str]:
    """A hash of every row of every data table (and the dataset log): equal means unchanged.

    Generated keys (serial ids) and load times are left out: reloading a file gives new ones.
    """
    out = {}
    with engine.connect() as conn:
        for model in [*DATA_TABLES, Dataset]:
            table = model.__table__
            columns = [c.name for c in table.columns if c.name != "loaded_at" and c.autoincrement is not True]
            row = "ROW(" + ", ".join(f'"{c}"' for c in columns) + ")::text"
            digest = conn.execute(
                sa.text(f"SELECT md5(coalesce(string_agg({row}, '|' ORDER BY {row}), '')) FROM \"{table.name}\"")
            ).scalar_one()
            out[table.name] = digest
    return out


@pytest.fixture()
def unchanged(demo_engine):
    """Asserts, after the test, that the demo database is exactly as before it."""
    before = fingerprint(demo_engine)
    yield
    assert fingerprint(demo_engine) == before


_skipped: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _skipped and os.environ.get("OPVANGMATCH_ALLOW_SKIPS") != "1":
        session.exitstatus = 1
        print(f"\n{len(_skipped)} test(s) skipped; a skipped test fails the run: {_skipped[:5]}")
