"""Benchmark of the scoring API on a live server (not a test).

Starts ``uvicorn`` with the app of the environment's database (``make demo`` data), creates a temporary admin key,
and runs 16 concurrent clients against ``POST /score`` (random points in Doesburg and the Drechtsteden) and
``GET /candidates?limit=500`` (and ``GET /health``, which reads the database); prints requests per second and
latency percentiles. The key is deleted at the end.

The load comes from ``wrk`` (Debian package ``wrk``; a Lua script makes a random body per request) when it is
installed: a Python client would take much of the two cores itself. Without wrk, an httpx client is used and says so.

    .venv/bin/python benchmarks/api.py [--seconds 10] [--clients 16] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa

# This file is called api.py: keep its folder off the path so that ``api`` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from api.auth import create_key, hash_key  # noqa: E402
from api.server import uvicorn_command  # noqa: E402
from geo.db import prepare_database  # noqa: E402
from geo.settings import Settings  # noqa: E402

AREAS = [(6.115, 52.005, 6.155, 52.025), (4.64, 51.78, 4.72, 51.83)]  # Doesburg, Dordrecht (lon/lat)


GETS = {"candidates": "/candidates?limit=500", "health": "/health"}  # GET endpoints measured, besides POST /score


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    return subprocess.Popen(uvicorn_command(port, workers=workers, access_log=False), env=os.environ.copy())


def wait_ready(base: str, key: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/candidates?limit=1", headers={"X-API-Key": key}, timeout=30).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


def score_body(rng: np.random.Generator) -> dict:
    x0, y0, x1, y1 = AREAS[rng.integers(len(AREAS))]
    return {
        "location": {"type": "Point", "coordinates": [float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))]},
        "capacity": int(rng.integers(10, 150)),
        "target_group": ["families", "single_adults", "amv", "permit_holders"][rng.integers(4)],
    }


async def run(base: str, key: str, kind: str, clients: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}, limits=limits, timeout=30) as client:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = np.random.default_rng(seed)
            while time.perf_counter() < stop:
                started = time.perf_counter()
                if kind == "score":
                    response = await client.post("/score", json=score_body(rng))
                else:
                    response = await client.get(GETS[kind])
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        await asyncio.gather(*(worker(i) for i in range(clients)))
    return latencies, errors


WRK_SCORE = """
math.randomseed(20261128)
local areas = {AREAS}
local groups = {{"families", "single_adults", "amv", "permit_holders"}}
request = function()
  local a = areas[math.random(#areas)]
  local lon = a[1] + math.random() * (a[3] - a[1])
  local lat = a[2] + math.random() * (a[4] - a[2])
  local body = string.format(
    '{{"location":{{"type":"Point","coordinates":[%.6f,%.6f]}},"capacity":%d,"target_group":"%s"}}',
    lon, lat, math.random(10, 149), groups[math.random(#groups)])
  return wrk.format("POST", "/score", {{["Content-Type"]="application/json", ["X-API-Key"]="{key}"}}, body)
end
"""


def run_wrk(base: str, key: str, kind: str, clients: int, seconds: float) -> str:
    """One wrk run; returns its summary line (requests/s and latency percentiles)."""
    import re
    import tempfile

    areas = "{" + ", ".join("{" + ", ".join(map(str, a)) + "}" for a in AREAS) + "}"
    command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency"]
    if kind == "score":
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCORE.format(AREAS=areas, key=key))
        command += ["-s", script.name, f"{base}/score"]
    else:
        command += ["-H", f"X-API-Key: {key}", f"{base}{GETS[kind]}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
    pct = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return (
        f"{float(rate):8.1f} req/s   p50 {pct.get('50')}   p90 {pct.get('90')}   p99 {pct.get('99')}   "
        f"non-2xx {errors.group(1) if errors else 0}"
        + (f"   socket errors: {socket_errors.group(1)}" if socket_errors else "")
    )


def report(label: str, latencies: list[float], errors: int, seconds: float) -> None:
    ms = np.array(latencies) * 1000
    print(
        f"{label:<28} {len(ms) / seconds:8.1f} req/s   p50 {np.percentile(ms, 50):6.1f} ms   "
        f"p99 {np.percentile(ms, 99):6.1f} ms   max {ms.max():6.1f} ms   n={len(ms)} errors={errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = Settings.from_env()
    engine = prepare_database(settings)
    key = create_key(engine, "admin", label="benchmarks/api.py (temporary)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, args.workers)
    try:
        wait_ready(base, key)
        asyncio.run(run(base, key, "score", args.clients, 2))  # warm-up: every worker loads its data and profiles
        asyncio.run(run(base, key, "candidates", args.clients, 2))
        print(
            f"{args.clients} concurrent clients, {args.workers} server worker(s), {os.cpu_count()} CPUs, "
            f"{args.seconds:g} s each"
        )
        use_wrk = shutil.which("wrk") is not None
        print("load generator: " + ("wrk" if use_wrk else "httpx in this process (install wrk for honest figures)"))
        for kind, label in (("score", "POST /score"), *((kind, f"GET {path}") for kind, path in GETS.items())):
            if use_wrk:
                print(f"{label:<28} {run_wrk(base, key, kind, args.clients, args.seconds)}")
            else:
                latencies, errors = asyncio.run(run(base, key, kind, args.clients, args.seconds))
                report(label, latencies, errors, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        with engine.begin() as conn:  # the temporary key leaves no trace
            conn.execute(sa.text("DELETE FROM api_key WHERE key_hash = :h"), {"h": hash_key(key)})
        engine.dispose()


if __name__ == "__main__":
    main()
