"""One error hierarchy for the whole project.

Every error a user can cause subclasses :class:`OpvangmatchError` and a matching builtin, so callers
may catch either. The CLI prints ``str(error)``; the API maps each class to one HTTP status.
"""

from __future__ import annotations


class OpvangmatchError(Exception):
    """Base class of all errors raised on purpose by opvangmatch."""


class ConfigError(OpvangmatchError, ValueError):
    """A setting is missing or wrong (environment variable, option, profile file)."""


class DatabaseError(OpvangmatchError, RuntimeError):
    """The database cannot be reached, started or prepared."""


class NotFoundError(OpvangmatchError, LookupError):
    """A requested object (candidate, proposal, region, source) does not exist."""


class InputError(OpvangmatchError, ValueError):
    """A request or argument is invalid (bad geometry, capacity, transition...)."""


class OutsideError(InputError):
    """A location lies in no Dutch municipality (abroad, also inside the Dutch outlines, or at sea)."""


class DataError(OpvangmatchError, ValueError):
    """A data file cannot be loaded. Names the file and, where known, the row and field."""

    def __init__(self, path: object, problem: str, *, row: object = None, field: str | None = None):
        self.path = str(path)
        self.problem = problem
        self.row = row
        self.field = field
        where = self.path
        if row is not None:
            where += f", {row}" if isinstance(row, str) else f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {problem}")
