"""A project-local PostgreSQL + PostGIS cluster run with the machine's own PostgreSQL binaries.

The cluster lives in ``settings.pgdata`` (data in ``data/``, socket in ``run/``, log in ``server.log``).
PostgreSQL refuses to run as root, so when we are root the server binaries run as the ``postgres``
user (``runuser``), which owns the folder.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from geo.errors import DatabaseError
from geo.settings import Settings

SUPERUSER = "opvangmatch"
SERVER_USER = "postgres"


def find_bindir(chosen: Path | None = None) -> Path:
    """``chosen`` (``Settings.pg_bindir``), else the newest PostgreSQL ``bin`` folder (Debian layout or ``PATH``)."""
    candidates = [str(chosen)] if chosen else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major)
    for folder in reversed(candidates):
        if folder and (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise DatabaseError(
        "no PostgreSQL server binaries found (initdb). Install them, e.g. "
        "'apt-get install postgresql-15 postgresql-15-postgis-3', or set DATABASE_URL."
    )


def _major(folder: str) -> int:
    try:
        return int(Path(folder).parent.name)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Cluster:
    """Paths and commands of the managed cluster described by ``settings``."""

    settings: Settings

    @property
    def root(self) -> Path:
        return self.settings.pgdata

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socketdir(self) -> Path:
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return (
            f"postgresql+psycopg://{SUPERUSER}@/{self.settings.database}"
            f"?host={self.socketdir}&port={self.settings.pg_port}"
        )

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socketdir}&port={self.settings.pg_port}"

    def _as_server_user(self, args: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return args
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise DatabaseError(
                f"running as root, and there is no '{SERVER_USER}' user to run PostgreSQL as; "
                "create one or run opvangmatch as an ordinary user"
            ) from exc
        return ["runuser", "-u", SERVER_USER, "--", *args]

    def _run(self, args: list[str], what: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._as_server_user(args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DatabaseError(f"{what} failed: " + " | ".join(detail))
        return proc

    def _prepare_folder(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socketdir.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.socketdir):
                os.chown(path, user.pw_uid, user.pw_gid)
            blocked = [p for p in [*self.root.parents][::-1] if not _traversable(p, user.pw_uid, user.pw_gid)]
            if blocked:
                raise DatabaseError(
                    f"the '{SERVER_USER}' user cannot reach {self.root} ({blocked[0]} is not searchable "
                    "for it); set OPVANGMATCH_PGDATA to a folder outside it, e.g. /var/tmp/opvangmatch"
                )
        socket = self.socketdir / f".s.PGSQL.{self.settings.pg_port}"
        if len(str(socket)) > 103:
            raise DatabaseError(
                f"the socket path {socket} is too long for a Unix socket; set OPVANGMATCH_PGDATA to a shorter folder"
            )

    def is_initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        bindir = find_bindir(self.settings.pg_bindir)
        proc = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", str(self.socketdir), "-p", str(self.settings.pg_port)],
            check=False,
        )
        return proc.returncode == 0

    def up(self) -> list[str]:
        """Create (once) and start (if stopped) the cluster. Returns what was done."""
        done: list[str] = []
        bindir = find_bindir(self.settings.pg_bindir)
        self._prepare_folder()
        if not self.is_initialised():
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                "initdb",
            )
            done.append(f"created cluster in {self.datadir}")
        if not self.is_running():
            listen = "127.0.0.1" if self.settings.pg_listen_tcp else ""
            opts = (
                f"-c listen_addresses='{listen}' -c unix_socket_directories='{self.socketdir}' "
                f"-p {self.settings.pg_port} -c fsync=off -c full_page_writes=off "
                "-c synchronous_commit=off -c max_connections=50 -c shared_buffers=256MB"
            )
            if os.geteuid() == 0 and not self.logfile.exists():
                self.logfile.touch()
                user = pwd.getpwnam(SERVER_USER)
                os.chown(self.logfile, user.pw_uid, user.pw_gid)
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.logfile),
                    "-o",
                    opts,
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
                f"starting PostgreSQL (log: {self.logfile})",
            )
            done.append(
                f"started PostgreSQL on {self.socketdir}"
                + (f" and 127.0.0.1:{self.settings.pg_port}" if listen else "")
            )
        self._ensure_database()
        return done

    def _ensure_database(self) -> None:
        import psycopg

        for _ in range(50):
            try:
                conn = psycopg.connect(
                    host=str(self.socketdir),
                    port=self.settings.pg_port,
                    user=SUPERUSER,
                    dbname="postgres",
                    autocommit=True,
                )
                break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            raise DatabaseError(f"the managed cluster does not answer on {self.socketdir}")
        with conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.settings.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.settings.database}"')

    def down(self) -> bool:
        """Stop the cluster if it runs. Returns whether it was running."""
        if not self.is_initialised() or not self.is_running():
            return False
        bindir = find_bindir(self.settings.pg_bindir)
        self._run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"], "stopping PostgreSQL")
        return True


def _traversable(path: Path, uid: int, gid: int) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)
