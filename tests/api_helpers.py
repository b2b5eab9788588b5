"""Shared pieces of the API tests: an app on the demo database with one key per role."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.auth import create_key

DOESBURG = [6.1375, 52.0128]  # lon, lat: inside Doesburg (GM0221)
DORDRECHT = [4.6755, 51.8105]  # inside Dordrecht (GM0505)
PROBLEM = "application/problem+json"


def make_keys(engine) -> dict[str, str]:
    return {
        "viewer": create_key(engine, "viewer", label="tests"),
        "coa": create_key(engine, "coa", label="tests"),
        "admin": create_key(engine, "admin", label="tests"),
        "dordrecht": create_key(engine, "municipality", "GM0505", label="tests"),
        "doesburg": create_key(engine, "municipality", "GM0221", label="tests"),
    }


def clean_up(engine) -> None:
    """Remove what API tests wrote (proposals count in the pipeline of the task other tests read)."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM proposal_event"))
        conn.execute(sa.text("DELETE FROM proposal"))
        conn.execute(sa.text("DELETE FROM api_key WHERE label = 'tests'"))


def assert_problem(response, status: int | tuple[int, ...], *words: str) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    body = response.json()
    assert body["status"] == response.status_code and body["detail"]
    text = response.text.lower()
    for leak in ("traceback", "psycopg", "sqlalchemy", "select ", "postgres"):
        assert leak not in text, f"{leak!r} leaked: {response.text[:300]}"
    for word in words:
        assert word.lower() in text, f"{word!r} not in {response.text[:400]}"
    return body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(env: dict, log_path: Path, log_level: str = "warning") -> Iterator[str]:
    """A uvicorn server of the environment's app on a free port, in its own process, logging into ``log_path``;
    yields its base URL once ``/health`` answers 200."""
    from api.server import uvicorn_command

    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            uvicorn_command(port, log_level=log_level),
            env=env,
            cwd=str(Path(__file__).resolve().parents[1]),
            stdout=log,
            stderr=subprocess.STDOUT,
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
                raise AssertionError(f"the API server did not start: {log_path.read_text()[-2000:]}")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def h(keys: dict[str, str], role: str) -> dict[str, str]:
    """The header that sends ``role``'s key."""
    return {"X-API-Key": keys[role]}
