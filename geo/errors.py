"""One error hierarchy for the whole project, and its one mapping to HTTP status and CLI exit code.

Every error raised on purpose subclasses :class:`OpvangmatchError` (and a matching builtin, so callers may catch
either). Each class says once how it is answered: ``status`` and ``title`` for the API's problem+json
(``api/errors.py`` writes the body), ``exit_code`` for the command line (``cli/main.py`` prints ``str(error)``).
``public`` says whether the message may be shown to an HTTP client (a server fault's text stays in the log).

=====================  ======  ====  =============================================================
class                  status  exit  meaning
=====================  ======  ====  =============================================================
InputError              422     2    a request or argument is invalid
OutsideError            422     2    a location lies in no Dutch municipality (an InputError)
DataError               422     2    a data file cannot be loaded (names file, row, field)
NotFoundError           404     2    a requested object does not exist
PermissionDenied        403     2    the caller's role may not do this
Unauthenticated         401     2    no or an unknown credential
ConflictError           409     2    the request clashes with the object's state
MalformedRequest        400     2    the request cannot be read at all
PayloadTooLarge         413     2    the request body is over the limit
UnsupportedMediaType    415     2    the request body is not of a type the endpoint reads
ConfigError             500     2    a setting or a shipped profile is wrong (a server fault)
SchemaError             500     2    the database lacks a table or column the code needs (a server fault)
SolverError             500     2    the optimiser failed on a valid problem (a server fault)
DatabaseError           503     2    the database cannot be reached, started or prepared
FetchError              502     2    a download from an open-data service failed
=====================  ======  ====  =============================================================
"""

from __future__ import annotations


class OpvangmatchError(Exception):
    """Base class of all errors raised on purpose by opvangmatch."""

    status = 500
    title = "Internal error"
    exit_code = 2
    public = True

    def __init__(self, message: str = "", **extra):
        super().__init__(message)
        self.detail = message
        self.extra = extra  # further members of the problem+json body (e.g. current_version)


class InputError(OpvangmatchError, ValueError):
    """A request or argument is invalid (bad geometry, capacity, option, transition...)."""

    status, title = 422, "Invalid input"


class OutsideError(InputError):
    """A location lies in no Dutch municipality (abroad, also inside the Dutch outlines, or at sea)."""


class DataError(OpvangmatchError, ValueError):
    """A data file cannot be loaded. Names the file and, where known, the row and field."""

    status, title = 422, "Invalid data"

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


class NotFoundError(OpvangmatchError, LookupError):
    """A requested object (candidate, proposal, region, source) does not exist."""

    status, title = 404, "Not found"


class PermissionDenied(OpvangmatchError, PermissionError):  # noqa: N818  (named as the builtin it extends)
    """The caller's role may not do this (a municipality key on another municipality's proposal, say)."""

    status, title = 403, "Not allowed for this key"


class Unauthenticated(OpvangmatchError, PermissionError):  # noqa: N818
    """No credential, or one that is unknown or revoked."""

    status, title = 401, "API key required"


class ConflictError(OpvangmatchError, RuntimeError):
    """The request clashes with the object's current state (a stale version, a transition not allowed)."""

    status, title = 409, "Conflict"


class MalformedRequest(OpvangmatchError, ValueError):  # noqa: N818
    """The request cannot be read at all (not JSON, say)."""

    status, title = 400, "Bad request"


class PayloadTooLarge(OpvangmatchError, ValueError):  # noqa: N818
    """The request body is larger than the service accepts."""

    status, title = 413, "Request body too large"


class UnsupportedMediaType(OpvangmatchError, ValueError):  # noqa: N818
    """The request body is not of a media type the endpoint reads (e.g. a CSV import sent as JSON)."""

    status, title = 415, "Unsupported media type"


class ConfigError(OpvangmatchError, ValueError):
    """A setting is missing or wrong (environment variable, shipped profile file): the operator's to fix."""

    status, title, public = 500, "Server misconfigured", False


class SchemaError(OpvangmatchError, RuntimeError):
    """The database lacks a table or column that the code needs (a migration was not run)."""

    status, title, public = 500, "Database schema out of date", False


class SolverError(OpvangmatchError, RuntimeError):
    """The optimiser failed on a problem that was valid (not the input's fault)."""

    status, title, public = 500, "Optimisation failed", False


class DatabaseError(OpvangmatchError, RuntimeError):
    """The database cannot be reached, started or prepared."""

    status, title, public = 503, "Database unavailable", False


class FetchError(OpvangmatchError, ConnectionError):
    """A download from an open-data service failed (after retries), or its answer is not what was expected.

    ``upstream_status`` is the HTTP status the service refused the request with (``None`` for network problems
    and bad answers)."""

    status, title = 502, "Upstream service failed"

    def __init__(self, message: str, *, upstream_status: int | None = None):
        super().__init__(message)
        self.upstream_status = upstream_status


def http_status(error: OpvangmatchError) -> int:
    """The HTTP status that answers ``error``."""
    return error.status


def exit_code(error: OpvangmatchError) -> int:
    """The exit code of the command line that ends with ``error``."""
    return error.exit_code
