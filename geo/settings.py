"""Settings: the one place where the environment is read, once, by the entry point; passed in from there.

Nothing else in ``geo``, ``api`` or ``cli`` reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PDOK_URL = "https://api.pdok.nl"
OVERPASS_URL = "https://overpass-api.de/api/interpreter"
THREEDBAG_URL = "https://api.3dbag.nl"


def _default_home() -> Path:
    """The project checkout when running from one, else the current directory."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT
    return Path.cwd()


@dataclass(frozen=True)
class Settings:
    """Everything opvangmatch needs to know about its environment.

    Attributes
    ----------
    database_url : SQLAlchemy URL of an external PostGIS server; ``None`` means managed mode.
    pgdata : folder of the managed PostgreSQL cluster (data, socket, log).
    pg_port : port number of the managed cluster (its socket file name; TCP only if ``pg_listen_tcp``).
    pg_listen_tcp : also listen on 127.0.0.1 in managed mode.
    database : database name inside the managed cluster.
    data_dir : folder with the shipped demo data.
    api_keys : API keys and their roles, ``key:role`` pairs (see api/README section in README.md).
    intake_closes : closing date of the proposal intake round (ISO date) or ``None`` for open.
    cost_reference : the regular-place cost reference for pilot evaluations as ``EUR:YEAR:SOURCE`` (``None``: EUR
        27,100 per place per year, 2022; see :class:`geo.monitoring.indicators.CostReference`).
    task_period : the placement-task period used where none is given (``OPVANGMATCH_TASK_PERIOD``).
    pg_bindir : folder of the PostgreSQL server binaries for the managed cluster; ``None`` = the newest installed.
    chromium : the headless browser that opens maps in tests and the benchmark (``OPVANGMATCH_CHROMIUM``).
    pdok_url, overpass_url, threedbag_url : base URLs that ``opvangmatch fetch`` downloads from
        (``OPVANGMATCH_PDOK_URL``, ``..._OVERPASS_URL``, ``..._3DBAG_URL``).
    fetch_cache : folder for cached downloads of ``opvangmatch fetch``.
    out_dir : where the notebooks' figures and tables are exported (``OPVANGMATCH_OUT``).
    debug : let the command line show the traceback of an unforeseen error (``OPVANGMATCH_DEBUG``).
    key_outage_seconds : while the database is unreachable, how long after its last verification an API key stays
        usable (``OPVANGMATCH_KEY_OUTAGE_SECONDS``, 0 to 86400).
    login : the login name from ``LOGNAME``, ``USER``, ``LNAME`` or ``USERNAME`` (the first set, as
        :func:`getpass.getuser` reads them), or ``None``: who enters monitoring records when no one is named.
    """

    database_url: str | None = None
    pgdata: Path = field(default_factory=lambda: _default_home() / ".pgdata")
    pg_port: int = 54329
    pg_listen_tcp: bool = False
    database: str = "opvangmatch"
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "data")
    api_keys: tuple[tuple[str, str], ...] = ()
    intake_closes: str | None = None
    cost_reference: str | None = None
    task_period: str = DEFAULT_TASK_PERIOD
    pg_bindir: Path | None = None
    chromium: Path = Path("/usr/bin/chromium")
    pdok_url: str = PDOK_URL
    overpass_url: str = OVERPASS_URL
    threedbag_url: str = THREEDBAG_URL
    fetch_cache: Path = field(default_factory=lambda: PROJECT_ROOT / ".cache" / "fetch")
    out_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "out")
    debug: bool = False
    key_outage_seconds: float = 900.0
    login: str | None = None

    @property
    def managed(self) -> bool:
        return self.database_url is None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from ``OPVANGMATCH_*`` and ``DATABASE_URL`` environment variables."""
        env = dict(os.environ if env is None else env)
        values: dict = {}
        if env.get("DATABASE_URL"):
            values["database_url"] = normalise_url(env["DATABASE_URL"])
        if env.get("OPVANGMATCH_PGDATA"):
            values["pgdata"] = Path(env["OPVANGMATCH_PGDATA"]).expanduser().resolve()
        if env.get("OPVANGMATCH_PGPORT"):
            try:
                values["pg_port"] = int(env["OPVANGMATCH_PGPORT"])
            except ValueError as exc:
                raise ConfigError("OPVANGMATCH_PGPORT must be a port number") from exc
        if env.get("OPVANGMATCH_PG_LISTEN_TCP", "").lower() in {"1", "true", "yes"}:
            values["pg_listen_tcp"] = True
        if env.get("OPVANGMATCH_DATABASE"):
            values["database"] = env["OPVANGMATCH_DATABASE"]
        if env.get("OPVANGMATCH_DATA_DIR"):
            values["data_dir"] = Path(env["OPVANGMATCH_DATA_DIR"]).expanduser().resolve()
        if env.get("OPVANGMATCH_API_KEYS"):
            values["api_keys"] = parse_api_keys(env["OPVANGMATCH_API_KEYS"])
        if env.get("OPVANGMATCH_INTAKE_CLOSES"):
            values["intake_closes"] = env["OPVANGMATCH_INTAKE_CLOSES"]
        if env.get("OPVANGMATCH_COST_REFERENCE"):
            values["cost_reference"] = env["OPVANGMATCH_COST_REFERENCE"]
        if env.get("OPVANGMATCH_TASK_PERIOD"):
            values["task_period"] = env["OPVANGMATCH_TASK_PERIOD"]
        if env.get("OPVANGMATCH_PG_BINDIR"):
            values["pg_bindir"] = Path(env["OPVANGMATCH_PG_BINDIR"])
        if env.get("OPVANGMATCH_CHROMIUM"):
            values["chromium"] = Path(env["OPVANGMATCH_CHROMIUM"])
        for name, key in (
            ("pdok_url", "OPVANGMATCH_PDOK_URL"),
            ("overpass_url", "OPVANGMATCH_OVERPASS_URL"),
            ("threedbag_url", "OPVANGMATCH_3DBAG_URL"),
        ):
            if env.get(key):
                if not env[key].startswith(("http://", "https://")):
                    raise ConfigError(f"{key} must be an http(s) URL, got {env[key]!r}")
                values[name] = env[key].rstrip("/")
        if env.get("OPVANGMATCH_FETCH_CACHE"):
            values["fetch_cache"] = Path(env["OPVANGMATCH_FETCH_CACHE"]).expanduser().resolve()
        if env.get("OPVANGMATCH_OUT"):
            values["out_dir"] = Path(env["OPVANGMATCH_OUT"]).expanduser().resolve()
        if env.get("OPVANGMATCH_DEBUG"):
            values["debug"] = True
        if env.get(key := "OPVANGMATCH_KEY_OUTAGE_SECONDS"):
            values["key_outage_seconds"] = _seconds(key, env[key])
        values["login"] = next((env[key] for key in ("LOGNAME", "USER", "LNAME", "USERNAME") if env.get(key)), None)
        values.update(overrides)
        return cls(**values)


def _seconds(name: str, text: str, most: float = 86_400) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:  # NaN fails too
        raise ConfigError(f"{name} must be a number of seconds from 0 to {most:.0f}, got {text!r}")
    return value


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.startswith("postgresql"):
        raise ConfigError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")
    return url


def parse_api_keys(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``key1:role1,key2:role2``."""
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, role = item.partition(":")
        if not sep or not key or not role:
            raise ConfigError(f"OPVANGMATCH_API_KEYS: expected key:role, got {item!r}")
        pairs.append((key, role))
    return tuple(pairs)
