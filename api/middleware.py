"""A request body size limit, as plain ASGI middleware (before any parsing)."""

from __future__ import annotations

import json

from api.errors import PROBLEM_JSON, error_body
from geo.errors import MalformedRequest, OpvangmatchError, PayloadTooLarge


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` with 413, whether announced by Content-Length or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                announced = int(length)
            except ValueError:
                await self._refuse(send, MalformedRequest("Content-Length is not a number"))
                return
            if announced > self.max_bytes:
                await self._refuse(send, PayloadTooLarge(self._detail(announced)))
                return
        # Read the body here (bounded), then hand it on: a streamed body cannot slip past the limit.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send, PayloadTooLarge(self._detail(size, at_least=True)))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _detail(self, size: int, at_least: bool = False) -> str:
        return (
            f"the request body is {'over ' if at_least else ''}{size:,} bytes; the limit is {self.max_bytes:,} bytes "
            "(simplify the geometry or send fewer vertices)"
        )

    @staticmethod
    async def _refuse(send, error: OpvangmatchError) -> None:
        """Answer with the error's problem+json body, built as every other error's (:func:`api.errors.error_body`)."""
        problem = error_body(error)
        body = json.dumps(problem).encode()
        await send(
            {
                "type": "http.response.start",
                "status": problem["status"],
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RouteInAccessLog:
    """The server's access log names the route (``/proposals/{proposal_id}``), never the path or query sent: they
    may hold a request's values. The server reads the scope's path when the response starts (uvicorn does), so the
    scope is told the route's template then, when routing is over."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_then_hide(message):
            if message["type"] == "http.response.start":
                route = scope.get("route")
                scope["path"] = getattr(route, "path", None) or "(no route)"
                scope["query_string"] = b""
            await send(message)

        await self.app(scope, receive, send_then_hide)
