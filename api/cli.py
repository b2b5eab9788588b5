"""What ``opvangmatch serve`` and ``opvangmatch apikey ...`` run (registered in geo/cli.py, imported lazily)."""

from __future__ import annotations

import os
import sys

from api.config import ApiConfig
from geo.errors import ConfigError
from geo.settings import Settings


def app_from_env():
    """The app of the environment's settings, data read at start-up (uvicorn factory for ``serve``)."""
    from api.app import create_app

    return create_app(Settings.from_env(), config=config_from_env())


def config_from_env(environ=None) -> ApiConfig:
    """The served app's :class:`ApiConfig`: data read at start-up; ``OPVANGMATCH_KEY_OUTAGE_SECONDS`` (default 900)
    bounds how long keys verified before a database outage stay usable during it."""
    environ = os.environ if environ is None else environ
    text = environ.get("OPVANGMATCH_KEY_OUTAGE_SECONDS", "900")
    try:
        outage = float(text)
    except ValueError:
        outage = -1.0
    if not 0 <= outage <= 86_400:
        raise ConfigError(f"OPVANGMATCH_KEY_OUTAGE_SECONDS must be a number of seconds from 0 to 86400, got {text!r}")
    return ApiConfig(preload=True, key_outage_seconds=outage)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Prepare the database (start the managed cluster, migrate), then run uvicorn."""
    import uvicorn

    from geo.db import prepare_database

    prepare_database(settings).dispose()
    uvicorn.run("api.cli:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="info")


def uvicorn_command(port: int, *, workers: int = 1, access_log: bool = True, log_level: str = "warning") -> list[str]:
    """The command line that serves the environment's app on 127.0.0.1:``port`` in a process of its own (the live
    tests and the API benchmark run it; the environment must name the database)."""
    command = [sys.executable, "-m", "uvicorn", "api.cli:app_from_env", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", log_level]
    return command + ([] if access_log else ["--no-access-log"])
