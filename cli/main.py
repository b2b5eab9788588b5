"""The ``opvangmatch`` app: settings read once, one :class:`Context` for every command group, errors to exit codes.

>>> app = build_app(Context(Settings()))  # doctest: +SKIP
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

import typer

from cli import db, fetch, maps, monitoring, score, serve, task
from cli.context import Context
from geo.errors import OpvangmatchError, exit_code
from geo.settings import Settings

GROUPS = (db, fetch, task, score, serve, maps, monitoring)  # the order of the commands in --help


def build_app(ctx: Context) -> typer.Typer:
    """The command line with every group's commands, all bound to ``ctx``."""
    app = typer.Typer(
        help="opvangmatch: location matching for small-scale asylum reception.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    for group in GROUPS:
        group.add_commands(app, ctx)
    return app


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    """The console script: run the app; a domain error is one line on standard error and its exit code.

    ``argv`` are the arguments after the program name (default ``sys.argv[1:]``) and ``env`` the environment the
    settings are read from (default ``os.environ``): with both, a caller runs a command in its own process exactly as
    the console script would (the tests do). Ends with ``SystemExit``, as the console script does; the engine of
    the run is disposed at the end."""
    settings = None
    ctx = None
    try:
        settings = Settings.from_env(env)
        ctx = Context(settings)
        typer.main.get_command(build_app(ctx)).main(args=argv, prog_name="opvangmatch")
    except OpvangmatchError as exc:
        typer.echo(f"opvangmatch: error: {exc}", err=True)
        sys.exit(exit_code(exc))
    except KeyboardInterrupt:
        typer.echo("opvangmatch: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen input: say what, keep the traceback for debugging
        if settings is None or settings.debug:
            raise
        typer.echo(
            f"opvangmatch: unexpected error: {type(exc).__name__}: {exc} (set OPVANGMATCH_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    finally:
        if ctx is not None:
            ctx.close()
