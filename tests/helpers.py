"""Small helpers shared by tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

OPVANGMATCH = (
    str(Path(sys.executable).with_name("opvangmatch"))
    if Path(sys.executable).with_name("opvangmatch").exists()
    else (shutil.which("opvangmatch") or "opvangmatch")
)


# Commands that start or stop a server (the API, the managed cluster): always the console script, in a process of
# their own, as a user runs them.
OWN_PROCESS = (("serve",), ("db", "up"), ("db", "down"))


def opvangmatch(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run an ``opvangmatch`` command as the console script would, with exactly ``env``; its output and exit code.

    In this process (:func:`run_in_process`), which saves the half second or more each start of the console script
    costs, except the commands of ``OWN_PROCESS``: those run the console script (:func:`console_script`). ``timeout``
    applies to the console script only."""
    if tuple(args[:2]) in OWN_PROCESS or tuple(args[:1]) in OWN_PROCESS:
        return console_script(args, env, timeout)
    return run_in_process(args, env)


def console_script(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the console script as a user would, with exactly ``env``, in a process of its own."""
    return subprocess.run([OPVANGMATCH, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def run_in_process(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``cli.main.main(args, env)`` here as the console script's process would run it.

    What is written to file descriptors 1 and 2 (Python's ``sys.stdout``/``sys.stderr`` and any library writing to
    the descriptors) is captured; the exit code is that of the ``SystemExit`` that ends the command; an exception that
    escapes ``main`` is printed as Python prints it ("Traceback (most recent call last): ...") with exit code 1.
    ``os.environ`` and the working directory are not touched; processes the command starts (``pg_isready``) inherit
    this process's environment, not ``env``."""
    from cli.main import main

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        with _descriptors_to(out, err):
            try:
                main(list(args), dict(env))
                code = 0  # main ends with SystemExit; ending without it is exit code 0 for Python too
            except SystemExit as exc:
                code = _exit_code(exc)
            except Exception:  # uncaught: what Python prints (KeyboardInterrupt stops the test run instead)
                traceback.print_exc()
                code = 1
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return subprocess.CompletedProcess(["opvangmatch", *args], code, stdout, stderr)


def _exit_code(exc: SystemExit) -> int:
    """The exit code Python gives ``SystemExit``; a message instead of a number is printed and gives 1."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _descriptors_to(out, err) -> Iterator[None]:
    """File descriptors 1 and 2, and ``sys.stdout``/``sys.stderr`` writing to them, go to the files ``out``, ``err``."""
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    sys.stdout = open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115
    try:
        yield
    finally:
        sys.stdout.close()  # flushes; the descriptors stay open (closefd=False)
        sys.stderr.close()
        sys.stdout, sys.stderr = streams
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


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


@contextlib.contextmanager
def offline_chromium(allow: str | None = None) -> Iterator:
    """The maps' headless Chromium with every network request refused and recorded in ``context.refused`` (tiles
    and CDN scripts must not be needed), except requests under ``allow`` (a test's own server)."""
    import re

    from geo.maps.browser import chromium
    from geo.settings import Settings

    with chromium(Settings.from_env().chromium) as context:
        refused: list[str] = []

        def route(r):
            if allow and r.request.url.startswith(allow):
                r.continue_()
            else:
                refused.append(r.request.url)
                r.abort()

        context.route(re.compile(r"^(https?|wss?)://"), route)
        context.refused = refused
        yield context
