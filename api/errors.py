"""Every error the API answers with, as ``application/problem+json`` (RFC 9457), written in this one place.

The status and title of each error class are decided once, in :mod:`geo.errors`; a public error keeps its message
(it is written for users), a server fault (configuration, schema, solver) and an unreachable database are answered
without their text, which goes to the log; anything unforeseen becomes a bare 500 that reveals nothing.
"""

from __future__ import annotations

import logging
import traceback

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import DatabaseError, OpvangmatchError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("opvangmatch.api")


PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["title", "status", "detail"],
}
PROBLEM_TEXTS = {
    400: "Malformed request (the body is not JSON, or Content-Length is not a number)",
    401: "No or unknown API key",
    403: "The key's role may not do this",
    404: "Not found (or not visible to this key)",
    409: "Conflict: a stale version, a status move the stappenplan does not allow, the intake round closed, or a "
    "pilot lifecycle rule (an extension needs positive evaluations; evaluated needs one; records need an active pilot)",
    413: "Request body too large",
    415: "Unsupported media type (the body is not of the type the endpoint reads)",
    422: "Invalid input (every field it names)",
    500: "Internal error (a server fault: configuration, database schema or solver; logged, not shown)",
    503: "Database unavailable or busy",
}
PROBLEM_RESPONSES = {
    code: {"description": text, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for code, text in PROBLEM_TEXTS.items()
}
KEYED = (401, 403, 422, 503)  # every route that needs a key and reads parameters or data


def problems(*codes: int) -> dict:
    """The documented problem+json responses of a route (OpenAPI ``responses``)."""
    return {code: PROBLEM_RESPONSES[code] for code in sorted(set(codes))}


UNREACHABLE = "the database cannot be reached just now; try again shortly"
INTERNAL = "the request failed inside the service; it has been logged"


def problem_body(status: int, title: str, detail: str, **extra) -> dict:
    """The members of a problem+json body."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, **extra) -> JSONResponse:
    """A problem+json response."""
    return _response(problem_body(status, title, detail, **extra))


def _response(body: dict) -> JSONResponse:
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if body["status"] == 401 else None
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def error_body(exc: OpvangmatchError) -> dict:
    """The problem+json body of a domain error: its class's status and title; its message when it is public."""
    if exc.public:
        return problem_body(exc.status, exc.title, str(exc), **exc.extra)
    if isinstance(exc, DatabaseError):
        log.warning("database unavailable: %s", exc)
        return problem_body(exc.status, exc.title, UNREACHABLE)
    log.error("%s: %s", type(exc).__name__, exc)
    return problem_body(exc.status, exc.title, INTERNAL)


def error_response(exc: OpvangmatchError) -> JSONResponse:
    """The problem+json response of a domain error."""
    return _response(error_body(exc))


NUL_PATTERN = r"^[^\x00]*$"  # request strings (api.models.Text): PostgreSQL text cannot hold NUL
STRICT_TYPES = ("int_type", "float_type")


def _message(error: dict) -> str:
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NUL_PATTERN:
        return "must not contain NUL characters (\\u0000)"
    message = str(error.get("msg", "invalid"))
    if kind in STRICT_TYPES and error.get("loc", ("",))[0] == "body":
        return f"{message} (send a JSON number, not text or true/false)"
    return message


def _validation_errors(exc: RequestValidationError) -> tuple[int, str, list[dict]]:
    errors = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            return 400, f"the body is not valid JSON ({ctx.get('error', 'cannot be parsed')})", []
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        errors.append({"field": where, "problem": _message(error)})
    summary = "; ".join(f"{e['field']}: {e['problem']}" if e["field"] else e["problem"] for e in errors[:5])
    return 422, summary or "the request is invalid", errors


def log_failure(what: str, scope: dict, exc: BaseException) -> None:
    """Log an unforeseen failure with its route and stack, never its message: messages of database and other
    errors may quote the request's values (SQL parameters, rows, the text sent)."""
    orig = getattr(exc, "orig", None)
    cause = f" from {type(orig).__name__} (SQLSTATE {getattr(orig, 'sqlstate', None)})" if orig is not None else ""
    route = getattr(scope.get("route"), "path", None) or "(no route)"
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s: %s%s in %s %s\n%s", what, type(exc).__name__, cause, scope.get("method"), route, stack)


def _database_problem(exc: sa_exc.SQLAlchemyError) -> JSONResponse:
    orig = getattr(exc, "orig", None)
    if orig is not None and type(orig).__name__ == "QueryCanceled":
        return problem(503, "Database busy", "the query took longer than the statement timeout; try again or narrow it")
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(503, "Database unavailable", UNREACHABLE)


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping of every error class to a problem+json response."""

    @app.exception_handler(OpvangmatchError)
    async def _domain(request: Request, exc: OpvangmatchError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, detail, errors = _validation_errors(exc)
        if status == 400:
            return problem(400, "Malformed JSON", detail)
        return problem(status, "Invalid input", detail, **({"errors": errors} if errors else {}))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return problem(exc.status_code, detail, detail)

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError) or (
            isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
        ):
            return _database_problem(exc)
        log_failure("database error", request.scope, exc)
        return problem(500, "Internal error", INTERNAL)


class CatchAll:
    """The last resort, as ASGI middleware: an unforeseen error becomes a bare problem+json 500, logged by
    :func:`log_failure` (Starlette's own handler for ``Exception`` re-raises, and the server would then log the
    exception's message, which may hold the request's values)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_failure("unexpected error", scope, exc)
            if not started:
                response = problem(500, "Internal error", INTERNAL)
                await response(scope, receive, send)
