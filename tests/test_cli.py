"""The console script, and the tests' way of running its commands in the test process (tests/helpers.py).

The other test modules run ``opvangmatch`` commands with ``opvangmatch()``, which calls ``cli.main.main(args, env)``
in the test process; here the same commands run both ways, and the results must be the same.
"""

from __future__ import annotations

import os
import sys

import sqlalchemy as sa

from tests.helpers import cli_env, console_script, run_in_process


def _both(args: list[str], env: dict[str, str]):
    return console_script(args, env), run_in_process(args, env)


def test_in_process_gives_the_console_scripts_output_and_exit_code(demo_settings, tmp_path, unchanged):
    env = cli_env(demo_settings, tmp_path)
    cases = {
        "a result on standard output": ["db", "url"],
        "a domain error: one line, exit code 2": ["task", "--province", "PV99"],
        "a usage error of the parser: exit code 2": ["task", "--national-total", "many"],
        "an unforeseen error: one line, exit code 1": ["task", "--output", str(tmp_path / "no" / "such" / "t.txt")],
    }
    for what, args in cases.items():
        real, here = _both(args, env)
        assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr), what
        assert "Traceback" not in real.stderr, what
    assert real.returncode == 1 and "unexpected error: FileNotFoundError" in real.stderr


def test_in_process_shows_the_traceback_the_console_script_shows(demo_settings, tmp_path):
    """With OPVANGMATCH_DEBUG an unforeseen error escapes ``main``: Python's traceback, exit code 1, both ways (the
    frames above ``main`` differ), so the tests that assert "no traceback" see one."""
    env = {**cli_env(demo_settings, tmp_path), "OPVANGMATCH_DEBUG": "1"}
    real, here = _both(["task", "--output", str(tmp_path / "no" / "such" / "t.txt")], env)
    for run in (real, here):
        assert run.returncode == 1
        assert run.stderr.count("Traceback (most recent call last):") == 1
        assert run.stderr.rstrip().splitlines()[-1].startswith("FileNotFoundError: [Errno 2] No such file or directory")
    assert real.stderr.split("cli/main.py", 1)[1] == here.stderr.split("cli/main.py", 1)[1]


def test_in_process_leaves_no_connection_environment_directory_or_stream_behind(demo_settings, demo_engine, tmp_path):
    def connections() -> int:
        with demo_engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            ).scalar_one()

    environ, cwd, streams, before = dict(os.environ), os.getcwd(), (sys.stdout, sys.stderr), connections()
    env = {**cli_env(demo_settings, tmp_path), "OPVANGMATCH_TASK_PERIOD": "2024"}
    run = run_in_process(["task", "--province", "PV25", "--format", "csv"], env)
    assert run.returncode == 0 and run.stdout.startswith("region_code,level,")
    assert dict(os.environ) == environ and os.getcwd() == cwd and (sys.stdout, sys.stderr) == streams
    assert connections() == before  # the command's engine was disposed
