"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

OPVANGMATCH = (
    str(Path(sys.executable).with_name("opvangmatch"))
    if Path(sys.executable).with_name("opvangmatch").exists()
    else (shutil.which("opvangmatch") or "opvangmatch")
)


def opvangmatch(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the console script as a user would, with exactly ``env``."""
    return subprocess.run([OPVANGMATCH, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def cli_env(settings, home: Path, **extra: str) -> dict[str, str]:
    """A minimal environment that points the console script at the database of ``settings``."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), **extra}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    else:
        env.update(
            OPVANGMATCH_PGDATA=str(settings.pgdata),
            OPVANGMATCH_PGPORT=str(settings.pg_port),
            OPVANGMATCH_DATABASE=settings.database,
        )
    return env


@contextlib.contextmanager
def scratch_cluster(port: int, database: str) -> Iterator[tuple]:
    """A managed cluster of its own in a new folder, that a test may stop and start; removed afterwards.

    Yields ``(settings, cluster)``. The folder is not under pytest's tmp_path: that is private to root, and
    the server runs as 'postgres'."""
    from geo.db.managed import Cluster
    from geo.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="opvangmatch-pg-"))
    folder.chmod(0o755)
    settings = Settings(pgdata=folder / "cluster", pg_port=port, database=database)
    cluster = Cluster(settings)
    try:
        yield settings, cluster
    finally:
        cluster.down()
        shutil.rmtree(folder, ignore_errors=True)
