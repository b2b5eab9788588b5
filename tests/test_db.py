"""The database layer against a real PostGIS: managed cluster, migrations, model/schema drift."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers

from geo.db import make_engine, prepare_database
from geo.db.managed import Cluster
from geo.db.migrate import downgrade, upgrade
from geo.errors import DatabaseError
from geo.models import DATA_TABLES, Base
from geo.monitoring import models as _monitoring  # noqa: F401  (its tables join Base.metadata)
from geo.settings import Settings
from tests.helpers import OPVANGMATCH, cli_env, opvangmatch, scratch_cluster


def _include(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in {"spatial_ref_sys", "alembic_version"}:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def test_migrations_match_the_models(empty_settings):
    engine = prepare_database(empty_settings)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _include, "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_geometry_is_rd_new_with_a_gist_index(empty_settings):
    engine = prepare_database(empty_settings)
    with engine.connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = 'public'"
            )
        ).all()
        indexes = conn.execute(
            sa.text("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '%gist%'")
        ).all()
    engine.dispose()
    assert columns, "no geometry columns"
    assert {srid for _, _, srid in columns} == {28992}
    for table, column, _ in columns:
        assert any(t == table and f"({column})" in d for t, d in indexes), f"no GiST index on {table}.{column}"


def test_every_data_table_has_source_and_year():
    for model in DATA_TABLES:
        assert {"source", "year"} <= set(model.__table__.columns.keys()), model.__table__.name


def test_downgrade_and_upgrade_round_trip(empty_settings):
    engine = prepare_database(empty_settings)
    downgrade(engine, "base")
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("municipality")
    upgrade(engine)
    with engine.connect() as conn:
        assert sa.inspect(conn).has_table("municipality")
    engine.dispose()


def test_postgis_answers(demo_engine):
    with demo_engine.connect() as conn:
        version = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
        distance = conn.execute(
            sa.text(
                "SELECT ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint(4.67, 51.81), 4326), 28992), "
                "ST_Transform(ST_SetSRID(ST_MakePoint(4.68, 51.81), 4326), 28992))"
            )
        ).scalar_one()
    assert version.startswith("3.")
    assert 680 < distance < 700  # 0.01 degree of longitude at 51.8 N is about 688 m


def test_managed_cluster_is_idempotent(databases):
    if not databases.base.managed:
        # In external mode the managed cluster is exercised on its own folder.
        settings = Settings(pgdata=databases.base.pgdata, pg_port=databases.base.pg_port)
    else:
        settings = databases.base
    cluster = Cluster(settings)
    cluster.up()
    started = time.perf_counter()
    assert cluster.up() == []  # already created and running: nothing to do
    assert time.perf_counter() - started < 10
    assert cluster.is_running()
    engine = make_engine(cluster.admin_url())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_managed_cluster_in_a_new_folder_starts_stops_and_restarts():
    with scratch_cluster(54391, "scratch") as (settings, cluster):
        done = cluster.up()
        assert any("created cluster" in step for step in done)
        engine = prepare_database(settings)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one() == 0
        engine.dispose()
        assert cluster.down() is True
        assert not cluster.is_running()
        assert cluster.up() == ["started PostgreSQL on " + str(cluster.socketdir)]


def test_a_folder_the_server_user_cannot_reach_is_explained(tmp_path):
    if os.geteuid() != 0:
        return  # only root hands the cluster to another user
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with pytest.raises(DatabaseError, match="cannot reach"):
        Cluster(Settings(pgdata=private / "cluster")).up()


def test_cli_db_url_and_status(demo_settings, tmp_path):
    env = cli_env(demo_settings, tmp_path)
    url = opvangmatch(["db", "url"], env)
    assert url.returncode == 0 and demo_settings.database in url.stdout
    status = opvangmatch(["db", "status"], env)
    assert status.returncode == 0, status.stderr
    assert "municipalities:gemeenten_2024_kwb" in status.stdout
    assert "342" in status.stdout
    assert "services per category:" in status.stdout


def test_cli_without_server_binaries_says_what_to_install(tmp_path):
    env = {
        "PATH": "/nonexistent",
        "HOME": str(tmp_path),
        "OPVANGMATCH_PGDATA": str(tmp_path / "pg"),
        "OPVANGMATCH_PG_BINDIR": str(tmp_path / "nothing"),
    }
    result = opvangmatch(["db", "up"], env)
    assert result.returncode == 2
    assert "no PostgreSQL server binaries" in result.stderr
    assert "Traceback" not in result.stderr


def test_external_url_is_normalised_to_psycopg():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"})
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert not settings.managed


def test_subprocess_helper_finds_the_console_script():
    assert subprocess.run([OPVANGMATCH, "--help"], capture_output=True, check=False).returncode == 0
