"""One polite HTTP client for every download: retries, timeouts, a rate limit and an on-disk cache.

The cache is keyed by a hash of the request (method, URL, query parameters and body), so a re-run
with the same request reads the file instead of the network; ``refresh=True`` bypasses it (and
rewrites the entry). Only complete, parsed JSON answers are cached: a truncated or failed answer
never is.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from geo.errors import FetchError

USER_AGENT = "opvangmatch/0.1 (+https://github.com/opvangmatch)"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After is an outage, not a hiccup


@dataclass
class HttpClient:
    """GET/POST JSON with retries on 429/5xx (honouring ``Retry-After``), timeouts and a cache.

    Parameters
    ----------
    cache_dir : folder for cached answers (one file per request hash).
    refresh : ignore cached answers and fetch again.
    timeout : seconds to wait for connecting and for each read.
    retries : extra attempts after a retryable status, a timeout or a broken connection.
    min_interval : seconds between two requests to the network (a simple rate limit).
    backoff : first wait without ``Retry-After``; doubles per attempt.
    progress : callback for one-line messages (stderr in the CLI).
    """

    cache_dir: Path
    refresh: bool = False
    timeout: float = 60.0
    retries: int = 4
    min_interval: float = 0.2
    backoff: float = 1.0
    progress: Callable[[str], None] = field(default=lambda _msg: None)
    network_requests: int = 0
    cache_hits: int = 0
    _last: float = 0.0
    _client: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_json(self, url: str, params: Mapping[str, object] | None = None, *, what: str = "") -> object:
        """GET ``url`` with ``params`` and return the parsed JSON (from the cache when present)."""
        return self._json("GET", url, params, None, what)

    def post_json(self, url: str, data: Mapping[str, str], *, what: str = "") -> object:
        """POST a form (e.g. an Overpass query) and return the parsed JSON."""
        return self._json("POST", url, None, data, what)

    def cache_path(self, method: str, url: str, params=None, data=None) -> Path:
        return self.cache_dir / "http" / f"{request_key(method, url, params, data)}.json"

    def _json(self, method: str, url: str, params, data, what: str) -> object:
        path = self.cache_path(method, url, params, data)
        if not self.refresh and path.exists():
            self.cache_hits += 1
            return json.loads(path.read_bytes())
        body = self._request(method, url, params, data, what)
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(
                f"{_label(what, method, url, params)}: the answer is not complete JSON "
                f"({len(body):,} bytes; {exc}): a truncated or broken response, try again later"
            ) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        return parsed

    def _request(self, method: str, url: str, params, data, what: str) -> bytes:
        if self._client is None:
            self._client = httpx.Client(
                headers={"User-Agent": USER_AGENT, "Accept": "application/json, application/geo+json"},
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=True,
            )
        label = _label(what, method, url, params)
        problem = ""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.network_requests += 1
            wait = self.backoff * 2**attempt
            try:
                response = self._client.request(method, url, params=params, data=data)
                status = response.status_code
                if status == 200:
                    return response.content
                if status not in RETRY_STATUSES:
                    raise FetchError(f"{label}: HTTP {status} {response.reason_phrase}{_detail(response)}")
                problem = f"HTTP {status} {response.reason_phrase}"
                wait = retry_after(response.headers.get("Retry-After"), default=wait)
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout:g} s (timeout)"
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                problem = f"the connection broke off mid-answer (truncated response: {exc})"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({type(exc).__name__}: {exc})"
            if attempt < self.retries:
                self.progress(f"  {problem}; retry {attempt + 1}/{self.retries} in {wait:g} s: {label}")
                time.sleep(wait)
        raise FetchError(f"{label}: {problem}, after {self.retries + 1} attempts")

    def _wait_turn(self) -> None:
        pause = self._last + self.min_interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self._last = time.monotonic()


def request_key(method: str, url: str, params=None, data=None) -> str:
    """SHA-256 of the request: method, URL, sorted query parameters and sorted form body."""
    canonical = json.dumps(
        [
            method.upper(),
            url,
            sorted((str(k), str(v)) for k, v in (params or {}).items()),
            sorted((str(k), str(v)) for k, v in (data or {}).items()),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def retry_after(value: str | None, *, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (delay seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return default
    return min(max(when - time.time(), 0.0), MAX_RETRY_AFTER)


def _label(what: str, method: str, url: str, params) -> str:
    shown = str(httpx.URL(url, params=params)) if params else url
    return f"{what + ': ' if what else ''}{method} {shown}"


def _detail(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return f" ({text[:200]})" if text else ""
