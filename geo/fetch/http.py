"""One polite HTTP client for every download: retries, timeouts, a rate limit and an on-disk cache.

The cache is keyed by a hash of the request (method, URL, query parameters and body), so a re-run
with the same request reads the file instead of the network; ``refresh=True`` bypasses it (and
rewrites the entry). Only complete, parsed JSON answers that the caller's ``check`` accepted are
cached: a truncated, failed or rejected answer (an Overpass error remark, a page whose counts
disagree) never is, and a cached answer that fails the check is dropped and fetched again.
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


Check = Callable[[object], None]


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

    def get_json(
        self, url: str, params: Mapping[str, object] | None = None, *, what: str = "", check: Check | None = None
    ) -> object:
        """GET ``url`` with ``params`` and return the parsed JSON (from the cache when present).

        ``check(parsed)`` raises :class:`FetchError` for an answer that must not be used or cached."""
        return self._json("GET", url, params, None, what, check=check)

    def post_json(
        self,
        url: str,
        data: Mapping[str, str],
        *,
        what: str = "",
        check: Check | None = None,
        timeout: float | None = None,
        wait_on_429: Callable[[], float] | None = None,
    ) -> object:
        """POST a form (e.g. an Overpass query) and return the parsed JSON.

        ``timeout`` overrides the client's read timeout for this request; ``wait_on_429()`` returns the
        seconds to wait after an HTTP 429 (e.g. from the service's status page) instead of Retry-After."""
        return self._json("POST", url, None, data, what, check=check, timeout=timeout, wait_on_429=wait_on_429)

    def get_text(self, url: str, *, what: str = "", timeout: float | None = None) -> str:
        """GET a small text page (never cached, one attempt), e.g. a service's status page."""
        client = self._http()
        self._wait_turn()
        self.network_requests += 1
        try:
            response = client.get(url, timeout=timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise FetchError(f"{_label(what, 'GET', url, None)}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise FetchError(f"{_label(what, 'GET', url, None)}: HTTP {response.status_code}{_detail(response)}")
        return response.text

    def cache_path(self, method: str, url: str, params=None, data=None) -> Path:
        return self.cache_dir / "http" / f"{request_key(method, url, params, data)}.json"

    def _json(
        self, method: str, url: str, params, data, what: str, *, check=None, timeout=None, wait_on_429=None
    ) -> object:
        path = self.cache_path(method, url, params, data)
        if not self.refresh and path.exists():
            cached = json.loads(path.read_bytes())
            try:
                if check is not None:
                    check(cached)
                self.cache_hits += 1
                return cached
            except FetchError as exc:
                self.progress(f"  dropped a cached answer that is not acceptable ({exc}); asking again")
                path.unlink(missing_ok=True)
        body = self._request(method, url, params, data, what, timeout=timeout, wait_on_429=wait_on_429)
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(
                f"{_label(what, method, url, params)}: the answer is not complete JSON "
                f"({len(body):,} bytes; {exc}): a truncated or broken response, try again later"
            ) from exc
        if check is not None:
            check(parsed)  # raises before anything is written: the cache holds accepted answers only
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(body)
        os.replace(tmp, path)
        return parsed

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                headers={"User-Agent": USER_AGENT, "Accept": "application/json, application/geo+json"},
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=True,
            )
        return self._client

    def _request(self, method: str, url: str, params, data, what: str, *, timeout=None, wait_on_429=None) -> bytes:
        client = self._http()
        read_timeout = timeout or self.timeout
        label = _label(what, method, url, params)
        problem = ""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            self.network_requests += 1
            wait = self.backoff * 2**attempt
            try:
                response = client.request(
                    method, url, params=params, data=data, timeout=httpx.Timeout(read_timeout, connect=self.timeout)
                )
                status = response.status_code
                if status == 200:
                    return response.content
                if status not in RETRY_STATUSES:
                    raise FetchError(
                        f"{label}: HTTP {status} {response.reason_phrase}{_detail(response)}", upstream_status=status
                    )
                problem = f"HTTP {status} {response.reason_phrase}"
                if status == 429 and wait_on_429 is not None:
                    wait = wait_on_429() if attempt < self.retries else 0
                else:
                    wait = retry_after(response.headers.get("Retry-After"), default=wait)
            except httpx.TimeoutException:
                problem = f"no answer within {read_timeout:g} s (timeout)"
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
