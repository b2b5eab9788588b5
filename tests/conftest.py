"""Shared fixtures: a real PostGIS (managed cluster, or the server of DATABASE_URL) for the whole run.

Each run works in databases of its own (``opvangmatch_test_<run>_*``), created here and dropped at the end; with
pytest-xdist (``-n 2``) every worker has its own (``opvangmatch_test_<run>_gw0_*``), and the run's first process
that needs the demo loads it once into a template the others copy (under an advisory lock on the server).
A skipped test fails the run: the suite must not pass without PostGIS.

With ``OPVANGMATCH_TEST_DEMO_CACHE=1`` (``make test-fast``) that template is kept on the server between runs,
``opvangmatch_demo_<hash>``, named by a hash of everything it is made from (the shipped data and the checkout it
is read from, the loaders, the migrations and models): a change to any of them makes a new one, loaded the ordinary
way once. ``make test`` loads the demo afresh every run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from geo.db import database_url as database_url_of
from geo.db import make_engine, prepare_database
from geo.db.managed import Cluster
from geo.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

# The API, the loaders, the maps and the models are imported by the fixtures that use them: under xdist the run's
# main process only starts the workers and drops the run's databases, and need not pay their import.

DATA = PROJECT_ROOT / "data"
OUTPUT = PROJECT_ROOT / "tests" / "output"
# One id per run, shared by the xdist workers (they inherit the environment of the process that starts them).
RUN_ID = os.environ.setdefault("OPVANGMATCH_TEST_RUN", uuid.uuid4().hex[:8])
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... under xdist, else None
RUN_PREFIX = f"opvangmatch_test_{RUN_ID}_"


class Databases:
    """Creates and drops databases on the server the settings point at."""

    def __init__(self, base: Settings):
        self.base = base
        if base.managed:
            with _folder_lock(base.pgdata):  # xdist workers start at once: one initdb, one server
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
        """A new database of this process, empty or a copy of ``template``."""
        name = RUN_PREFIX + (f"{WORKER}_" if WORKER else "") + label
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        for attempt in range(20):
            try:
                self._admin(statement)
                break
            except sa.exc.OperationalError as exc:  # ObjectInUse: another run has a session on the template
                if "being accessed by other users" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.25)
        self.created.append(name)
        # The test databases are thrown away: a commit need not wait for the disk (these databases only).
        self._admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return self.settings_for(name)

    def exists(self, name: str) -> bool:
        admin = sa.create_engine(self.admin_url)
        with admin.connect() as conn:
            found = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        admin.dispose()
        return found is not None

    @contextlib.contextmanager
    def locked(self, name: str):
        """Holds a server-wide advisory lock named ``name`` (other workers and other runs wait for it)."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        admin.dispose()

    def keep_as_template(self, settings: Settings, template: str) -> None:
        """Copy a loaded database to ``template``."""
        source = make_url(database_url_of(settings)).database
        self._admin(f'CREATE DATABASE "{template}" TEMPLATE "{source}"')

    def _admin(self, statement: str) -> None:
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
        admin.dispose()

    def drop(self, names: list[str]) -> None:
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def of_this_run(self) -> list[str]:
        """Every database of this run, of every worker (also those a crashed worker left)."""
        admin = sa.create_engine(self.admin_url, poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database")).scalars().all()
        admin.dispose()
        return [name for name in names if name.startswith(RUN_PREFIX)]


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """An exclusive lock on ``folder`` (made if missing) among the processes of this machine."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@pytest.fixture(scope="session")
def databases():
    base = Settings.from_env()
    dbs = Databases(base)
    yield dbs
    dbs.drop(dbs.created)


def pytest_sessionfinish(session, exitstatus):
    if not hasattr(session.config, "workerinput"):  # the run's main process, after every xdist worker ended
        _drop_run_databases()
    if _skipped and os.environ.get("OPVANGMATCH_ALLOW_SKIPS") != "1":
        session.exitstatus = 1
        print(f"\n{len(_skipped)} test(s) skipped; a skipped test fails the run: {_skipped[:5]}")


def _drop_run_databases() -> None:
    """Drops what the workers left: the run's demo template, and the databases of a worker that crashed."""
    base = Settings.from_env()
    if base.managed and not (Cluster(base).is_initialised() and Cluster(base).is_running()):
        return  # nothing was made (e.g. --collect-only), or the cluster was stopped
    with contextlib.suppress(sa.exc.OperationalError):  # server unreachable: the run has failed already
        dbs = Databases(base)
        dbs.drop(dbs.of_this_run())


def demo_key() -> str:
    """A hash of everything the demo database is made from: the shipped data and where it is read from (the dataset
    log keeps each file's path), loaders, migrations, models, constants, the overview's boundary cleaning."""
    digest = hashlib.sha256(str(DATA).encode() + b"\0")
    sources = [DATA, PROJECT_ROOT / "geo" / "io", PROJECT_ROOT / "geo" / "db", PROJECT_ROOT / "geo" / "migrations"]
    files = [PROJECT_ROOT / "geo" / "models.py", PROJECT_ROOT / "geo" / "domain.py"]
    files += [PROJECT_ROOT / "geo" / "maps" / name for name in ("geodata.py", "overview.py")]  # boundaries prepared
    for folder in sources:
        files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def demo_settings(databases) -> Settings:
    """Settings of a database with the schema migrated and the whole demo loaded (once per run).

    Alone, the process loads it into its own database. Under xdist, or with the cache, the first process loads it
    and keeps a copy as a template (the run's, dropped at the end, or the cache's, kept); the others copy that.
    """
    if os.environ.get("OPVANGMATCH_TEST_DEMO_CACHE") == "1":
        template = f"opvangmatch_demo_{demo_key()}"
    elif WORKER:
        template = RUN_PREFIX + "demo"
    else:
        return _load_demo(databases.create("demo"))
    with databases.locked(template):
        if databases.exists(template):
            return databases.create("demo", template=template)
        settings = _load_demo(databases.create("demo"))
        databases.keep_as_template(settings, template)
        return settings


def _load_demo(settings: Settings) -> Settings:
    """The demo as ``opvangmatch load demo`` leaves it (the overview's boundaries prepared too)."""
    from geo.io.demo import load_demo
    from geo.maps.overview import prepare_overview_areas

    engine = prepare_database(settings)
    load_demo(engine, DATA)
    prepare_overview_areas(engine)
    engine.dispose()
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
    from tests.api_helpers import clean_up, make_keys

    made = make_keys(demo_engine)
    yield made
    clean_up(demo_engine)


@pytest.fixture(scope="module")
def client(demo_settings, keys) -> Iterator[TestClient]:
    """The API app on the demo database, in process, for one test module."""
    from fastapi.testclient import TestClient

    from api.app import create_app

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
    from geo.models import DATA_TABLES, Dataset

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


def row_versions(engine) -> tuple:
    """Per data table (and the dataset log): the number of rows and the sum of the ids of the transactions that wrote
    them (``xmin``). An insert, update or delete since makes it differ (a new row version has a newer transaction
    id than every row that was there); equal means the very same row versions, so the same content."""
    from geo.models import DATA_TABLES, Dataset

    parts = [
        f'SELECT {i}, count(*), coalesce(sum(xmin::text::bigint), 0) FROM "{model.__table__.name}"'
        for i, model in enumerate([*DATA_TABLES, Dataset])
    ]
    with engine.connect() as conn:
        return tuple(tuple(row) for row in conn.execute(sa.text(" UNION ALL ".join(parts) + " ORDER BY 1")))


_contents: dict[tuple, dict[str, str]] = {}  # fingerprint per set of row versions (the demo's, mostly)


@pytest.fixture()
def unchanged(demo_engine):
    """Asserts, after the test, that the demo database is exactly as before it.

    When no row was written the row versions are the same and that is enough; else every row is compared (a test may
    rewrite rows with what they held). The content of a set of row versions is hashed once per process."""
    before = row_versions(demo_engine)
    if before not in _contents:
        _contents[before] = fingerprint(demo_engine)
    yield
    if row_versions(demo_engine) != before:
        assert fingerprint(demo_engine) == _contents[before]


_skipped: list[str] = []
_busy: dict[str, list[float]] = {}  # per xdist worker: tests run, seconds in setup, call and teardown


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)
    node = getattr(report, "node", None)  # set on the reports a worker sends to the main process
    if node is not None:
        busy = _busy.setdefault(node.gateway.id, [0, 0.0])
        busy[0] += report.when == "call"
        busy[1] += report.duration


def pytest_terminal_summary(terminalreporter):
    for worker, (tests, seconds) in sorted(_busy.items()):
        terminalreporter.write_line(f"{worker}: {tests} tests, {seconds:.1f} s in setup, call and teardown")
