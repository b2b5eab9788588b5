"""The API as a real server: GDAL's OAPIF driver reads it, a stopped database gives 503 and recovery, the CLI keys."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pyogrio
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_key, hash_key
from api.config import ApiConfig
from geo.db import prepare_database
from tests.api_helpers import assert_problem, clean_up, live_server
from tests.helpers import cli_env, opvangmatch, scratch_cluster

pytestmark = pytest.mark.live
LOGS: dict[str, Path] = {}


@pytest.fixture(scope="module")
def live(demo_settings, demo_engine, tmp_path_factory):
    """A uvicorn server on a free port (its own process, logging at info level with access lines into
    ``LOGS[url]``), serving the demo database."""
    key = create_key(demo_engine, "viewer", label="tests")
    home = tmp_path_factory.mktemp("home")
    try:
        with live_server(cli_env(demo_settings, home), home / "server.log", log_level="info") as url:
            LOGS[url] = home / "server.log"
            yield url, key
    finally:
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
            down = client.get("/health")
            assert_problem(down, 503, "database")  # problem+json, with the health fields
            assert down.json()["database"] == "unreachable" and down.json()["version"]
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


def test_cli_revokes_exactly_one_key_by_its_listed_prefix_and_refuses_ambiguity(demo_settings, demo_engine, tmp_path):
    env = cli_env(demo_settings, tmp_path)
    keys = [create_key(demo_engine, "viewer", label="tests") for _ in range(2)]
    first, second = keys
    try:
        with demo_engine.begin() as conn:  # a second key whose listed prefix shares 8 characters with the first
            conn.execute(
                sa.text("UPDATE api_key SET prefix = :p WHERE key_hash = :h"),
                {"p": first[:8] + "zz", "h": hash_key(second)},
            )
        shared = opvangmatch(["apikey", "revoke", first[:8]], env)
        assert shared.returncode != 0 and "matches 2 keys" in shared.stderr and "nothing revoked" in shared.stderr
        none = opvangmatch(["apikey", "revoke", "om_00000000"[:9]], env)
        assert none.returncode != 0 and "no key starts with" in none.stderr
        short = opvangmatch(["apikey", "revoke", first[:7]], env)
        assert short.returncode != 0 and "at least the first 8" in short.stderr
        with TestClient(create_app(demo_settings)) as client:
            assert client.get("/conformance", headers={"X-API-Key": first}).status_code == 200
            for length in (8, 9):  # without and with om_: what 'apikey list' shows, cut at 8 or 9 characters
                other = create_key(demo_engine, "viewer", label="tests")
                typed = other[:length] if length == 8 else other[3:length]
                done = opvangmatch(["apikey", "revoke", typed], env)
                assert done.returncode == 0, done.stderr
                assert done.stdout.strip() == f"revoked key {other[:10]}..."
                with demo_engine.connect() as conn:
                    revoked = conn.execute(
                        sa.text("SELECT revoked_at IS NOT NULL FROM api_key WHERE key_hash = :h"),
                        {"h": hash_key(other)},
                    ).scalar_one()
                assert revoked
                again = opvangmatch(["apikey", "revoke", typed], env)
                assert again.returncode != 0 and "already revoked" in again.stderr
            whole = opvangmatch(["apikey", "revoke", first], env)  # the whole key matches by its hash
            assert whole.returncode == 0 and first[:10] in whole.stdout
        with demo_engine.connect() as conn:
            states = conn.execute(
                sa.text("SELECT key_hash, revoked_at IS NOT NULL FROM api_key WHERE key_hash IN (:a, :b)"),
                {"a": hash_key(first), "b": hash_key(second)},
            ).all()
        assert dict(states) == {hash_key(first): True, hash_key(second): False}
    finally:
        clean_up(demo_engine)


TEXT_FIELDS = ("title", "description", "motivation", "task_relation", "address")


def test_nul_in_any_text_is_a_422_naming_it_and_the_server_log_never_holds_a_request_value(live, demo_engine):
    url, _ = live
    secret = "zq7secret" + uuid.uuid4().hex[:8]
    municipality = create_key(demo_engine, "municipality", "GM0505", label="tests")
    headers = {"X-API-Key": municipality}
    base = {"title": "t", "description": "d", "target_group": "families"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        nul = f"{secret}\u0000"
        bodies = {field: {**base, field: nul} for field in TEXT_FIELDS}
        bodies["chain_partners.0"] = {**base, "chain_partners": [nul]}
        bodies["minimum_standards.safety"] = {**base, "minimum_standards": {"safety": nul}}
        for field, body in bodies.items():
            refused = assert_problem(client.post("/proposals", json=body), 422, "NUL")
            assert [e["field"] for e in refused["errors"]] == [field]
        made = client.post("/proposals", json=base)
        assert made.status_code == 201, made.text
        proposal_id, version = made.json()["id"], made.json()["version"]
        for field in (*TEXT_FIELDS, "note"):
            patch = client.patch(f"/proposals/{proposal_id}", json={"version": version, field: nul})
            assert assert_problem(patch, 422, "NUL")["errors"][0]["field"] == field
        for path in (
            f"/candidates?bbox={secret}%00",
            f"/proposals?municipality=GM%00{secret}",
            f"/candidates/{secret}%00",
            f"/collections/{secret}%00/items",
            f"/collections/services/items/{secret}%00",
            f"/maps/region?province=PV%00{secret}",
        ):
            assert_problem(client.get(path), 422)
        # A failure inside the database (a constraint added for this test) is a 500 whose log line names the route
        # and the error class, never the SQL parameters or the row PostgreSQL quotes.
        with demo_engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE proposal ADD CONSTRAINT test_no_secret CHECK (title <> '{secret}')"))
        try:
            failed = client.post("/proposals", json={**base, "title": secret, "address": secret})
            assert_problem(failed, 500)
            assert secret not in failed.text
        finally:
            with demo_engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE proposal DROP CONSTRAINT test_no_secret"))
    time.sleep(0.5)  # let the server flush its log
    log = LOGS[url].read_text(errors="replace")
    assert "database error: IntegrityError from CheckViolation (SQLSTATE 23514) in POST /proposals" in log, log[-2000:]
    for line in ('"POST /proposals HTTP/1.1" 422', '"GET /candidates/%7Bcandidate_id%7D HTTP/1.1" 422'):
        assert line in log  # access lines name the route
    assert secret not in log, [line for line in log.splitlines() if secret in line][:3]


def _load_scoring_minimum(engine) -> None:
    """The demo files scoring in Doesburg needs (boundaries, provinces, proximity, a few service layers)."""
    from geo.io import load
    from geo.io.demo import DEMO
    from geo.settings import PROJECT_ROOT

    for item in DEMO[:6] + DEMO[-2:]:
        load(engine, item.kind, PROJECT_ROOT / "data" / item.path, **item.options)


def test_keys_verified_before_an_outage_keep_scoring_for_a_bounded_time_and_revoked_keys_stop_after_it():
    with scratch_cluster(54395, "outage") as (settings, cluster):  # a real PostGIS of our own that we stop
        engine = prepare_database(settings)
        _load_scoring_minimum(engine)
        verified, revoked, unseen = (create_key(engine, "viewer") for _ in range(3))
        config = ApiConfig(key_cache_seconds=0.5, key_outage_seconds=6)
        body = {
            "location": {"type": "Point", "coordinates": [6.1375, 52.0128]},
            "capacity": 40,
            "target_group": "families",
        }
        with TestClient(create_app(settings, config=config)) as client:
            for key in (verified, revoked):
                assert client.post("/score", json=body, headers={"X-API-Key": key}).status_code == 200
            cluster.down()
            down_at = time.monotonic()
            time.sleep(1)  # past the key cache: each request asks the database, which is away
            for key in (verified, revoked):  # within the bound: served from memory
                answer = client.post("/score", json=body, headers={"X-API-Key": key})
                assert answer.status_code == 200, answer.text
            assert_problem(client.post("/score", json=body, headers={"X-API-Key": unseen}), 503, "database")
            assert_problem(client.get("/proposals", headers={"X-API-Key": verified}), 503, "database")
            time.sleep(max(0.0, down_at + 6.5 - time.monotonic()))
            assert_problem(client.post("/score", json=body, headers={"X-API-Key": verified}), 503, "database")
            cluster.up()
            with engine.begin() as conn:  # revoked while the service could not see it
                conn.execute(
                    sa.text("UPDATE api_key SET revoked_at = now() WHERE key_hash = :h"), {"h": hash_key(revoked)}
                )
            deadline = time.monotonic() + 20
            while client.get("/health").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.post("/score", json=body, headers={"X-API-Key": verified}).status_code == 200
            assert_problem(client.post("/score", json=body, headers={"X-API-Key": revoked}), 401, "revoked")
        engine.dispose()
