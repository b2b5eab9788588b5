"""Limits and tunables of the HTTP service (the database and data settings live in :class:`geo.settings.Settings`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiConfig:
    """Limits the API enforces and how it keeps its in-memory data fresh.

    Attributes
    ----------
    max_body_bytes : largest request body accepted (413 above it).
    max_vertices : most coordinates a location geometry may have.
    statement_timeout_ms : PostgreSQL ``statement_timeout`` of every connection the app opens.
    refresh_seconds : how often the data vintage is compared with the snapshot in memory.
    key_cache_seconds : how long a verified API key is remembered.
    key_outage_seconds : while the database is unreachable, how long after its last verification a key is still
        accepted (``POST /score`` is served from memory meanwhile); then 503.
    simplify_m : tolerance (metres) of region boundaries simplified for the web.
    preload : read the scoring data (and score the candidates) at start-up instead of at first use.
    """

    max_body_bytes: int = 1_000_000
    max_vertices: int = 10_000
    statement_timeout_ms: int = 5000
    refresh_seconds: float = 30.0
    key_cache_seconds: float = 30.0
    key_outage_seconds: float = 900.0
    simplify_m: float = 20.0
    preload: bool = False
