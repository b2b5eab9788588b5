"""What every command group receives: the settings, the database engine (prepared on first use), a way to talk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from geo.settings import Settings

Period = Annotated[str | None, typer.Option(help="task period (default: the setting OPVANGMATCH_TASK_PERIOD)")]


@dataclass
class Context:
    """One per run of the command line, built by :func:`cli.main.main` and passed to each command group."""

    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    def engine(self) -> Engine:
        """The database engine: starts the managed cluster, creates PostGIS and migrates, once per run."""
        if self._engine is None:
            from geo.db import prepare_database

            self._engine = prepare_database(self.settings)
        return self._engine

    def close(self) -> None:
        """Dispose of the engine, if one was made (its connections close; a later :meth:`engine` makes a new one)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @staticmethod
    def say(message: str) -> None:
        """A progress or status line, on standard error (standard output carries the results)."""
        typer.echo(message, err=True)
