"""How the API is served: the uvicorn factory of the environment's app, ``serve`` (``opvangmatch serve``) and the
command line that the live tests and the API benchmark start."""

from __future__ import annotations

import sys

from api.config import ApiConfig
from geo.settings import Settings


def app_from_env():
    """The app of the environment's settings, data read at start-up (uvicorn factory for ``serve``)."""
    from api.app import create_app

    settings = Settings.from_env()
    return create_app(settings, config=served_config(settings))


def served_config(settings: Settings) -> ApiConfig:
    """The served app's :class:`ApiConfig`: data read at start-up; ``settings.key_outage_seconds``
    (``OPVANGMATCH_KEY_OUTAGE_SECONDS``, default 900) bounds how long keys verified before a database outage stay
    usable during it."""
    return ApiConfig(preload=True, key_outage_seconds=settings.key_outage_seconds)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Prepare the database (start the managed cluster, migrate), then run uvicorn."""
    import uvicorn

    from geo.db import prepare_database

    prepare_database(settings).dispose()
    uvicorn.run("api.server:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="info")


def uvicorn_command(port: int, *, workers: int = 1, access_log: bool = True, log_level: str = "warning") -> list[str]:
    """The command line that serves the environment's app on 127.0.0.1:``port`` in a process of its own (the live
    tests and the API benchmark run it; the environment must name the database)."""
    command = [sys.executable, "-m", "uvicorn", "api.server:app_from_env", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", log_level]
    return command + ([] if access_log else ["--no-access-log"])
