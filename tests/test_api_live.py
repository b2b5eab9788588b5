"""The API as a real server: GDAL's OAPIF driver reads it, a stopped database gives 503 and recovery, the CLI keys."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pyogrio
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_key, hash_key
from api.server import uvicorn_command
from geo.db import prepare_database
from tests.api_helpers import assert_problem, clean_up
from tests.helpers import cli_env, opvangmatch, scratch_cluster

pytestmark = pytest.mark.live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(demo_settings, demo_engine, tmp_path_factory):
    """A uvicorn server on a free port (its own process), serving the demo database."""
    key = create_key(demo_engine, "viewer", label="tests")
    port = free_port()
    server = subprocess.Popen(
        uvicorn_command(port),
        env=cli_env(demo_settings, tmp_path_factory.mktemp("home")),
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the API server did not start")
        yield url, key
    finally:
        server.terminate()
        server.wait(timeout=30)
        clean_up(demo_engine)


def _read(url: str, key: str, layer: str, tmp: Path):
    """Read a collection with GDAL's OAPIF driver, sending the key as a header as QGIS or ogr2ogr would.

    GDAL's OAPIF requests carry their own Accept header, which GDAL_HTTP_HEADERS does not add to; the header file
    (GDAL_HTTP_HEADER_FILE) is sent with every request.
    """
    headers = tmp / "headers.txt"
    headers.write_text(f"X-API-Key: {key}\n")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": str(headers)})
    try:
        return pyogrio.read_dataframe(f"OAPIF:{url}/", layer=layer)
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": None})


def test_gdal_reads_a_collection_and_gets_what_the_database_holds(live, demo_engine, tmp_path):
    url, key = live
    frame = _read(url, key, "reception_locations", tmp_path)
    with demo_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, name, capacity FROM reception_location ORDER BY id")).all()
    assert len(frame) == len(rows) > 0
    frame = frame.sort_values("name", kind="mergesort")
    assert sorted(frame["name"]) == sorted(r.name for r in rows)
    by_name = {r.name: r for r in rows}
    for name, capacity in zip(frame["name"], frame["capacity"], strict=True):
        expected = by_name[name].capacity
        assert (expected is None and (capacity is None or np.isnan(capacity))) or capacity == expected


def test_gdal_pages_through_municipalities_with_geometries(live, demo_engine, tmp_path):
    url, key = live
    frame = _read(url, key, "municipalities", tmp_path)
    with demo_engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT code, name, population, ST_Area(geom) AS area FROM municipality ORDER BY code")
        ).all()
    assert len(frame) == len(rows) == 342  # more than one page (100 per page): the next links were followed
    frame = frame.set_index("code").sort_index()
    assert list(frame.index) == [r.code for r in rows]
    assert list(frame["name"]) == [r.name for r in rows]
    assert list(frame["population"].astype("Int64")) == [r.population for r in rows]
    areas = frame.set_crs(4326, allow_override=True).to_crs(28992).area.to_numpy()
    assert np.allclose(areas, [r.area for r in rows], rtol=1e-3)


def test_gdal_without_the_key_is_refused(live):
    url, _ = live
    with pytest.raises(pyogrio.errors.DataSourceError):
        pyogrio.read_dataframe(f"OAPIF:{url}/", layer="municipalities")


def test_database_down_gives_503_and_the_service_recovers():
    with scratch_cluster(54393, "apitest") as (settings, cluster):  # a cluster of our own that we may stop
        engine = prepare_database(settings)
        key = create_key(engine, "admin")
        engine.dispose()
        with TestClient(create_app(settings)) as client:
            headers = {"X-API-Key": key}
            assert client.get("/health").status_code == 200
            assert client.get("/proposals", headers=headers).status_code == 200
            cluster.down()
            body = client.get("/health").json()
            assert client.get("/health").status_code == 503 and body["database"] == "unreachable"
            assert_problem(client.get("/proposals", headers=headers), 503, "database")
            assert_problem(client.get("/regions/provinces", headers=headers), 503)
            cluster.up()
            deadline = time.monotonic() + 20
            while client.get("/health").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get("/health").status_code == 200
            assert client.get("/proposals", headers=headers).json()["total"] == 0


def test_cli_creates_a_key_that_is_shown_once_and_stored_hashed(demo_settings, demo_engine, tmp_path):
    env = cli_env(demo_settings, tmp_path)
    made = opvangmatch(
        ["apikey", "create", "--role", "municipality", "--municipality", "GM0505", "--label", "tests"], env
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("om_") and len(key) > 40
    with demo_engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT key_hash, role, municipality_code FROM api_key WHERE key_hash = :h"), {"h": hash_key(key)}
        ).one()
        assert conn.execute(sa.text("SELECT count(*) FROM api_key WHERE key_hash = :k"), {"k": key}).scalar_one() == 0
    assert tuple(stored)[1:] == ("municipality", "GM0505")
    with TestClient(create_app(demo_settings)) as client:
        assert client.get("/proposals", headers={"X-API-Key": key}).status_code == 200
    listed = opvangmatch(["apikey", "list"], env)
    assert key not in listed.stdout and key[:10] in listed.stdout
    bad = opvangmatch(["apikey", "create", "--role", "superuser"], env)
    assert bad.returncode == 2 and "unknown role" in bad.stderr and "Traceback" not in bad.stderr
    missing = opvangmatch(["apikey", "create", "--role", "municipality", "--municipality", "GM9999"], env)
    assert missing.returncode == 2 and "GM9999" in missing.stderr
    with demo_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM api_key WHERE label = 'tests'"))
