"""API keys: created once (printed once), stored as SHA-256 hashes, each with a role.

Roles: ``viewer`` reads; ``municipality`` is bound to one municipality code and submits and sees its own
proposals (and candidates) only; ``coa`` sees all proposals and changes their status; ``admin`` may do anything.
Keys are random 32-byte tokens, so a plain SHA-256 (no salt, no slow hash) is enough to store them safely.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.errors import InputError, NotFoundError
from geo.models import ApiKey

ROLES = ("viewer", "municipality", "coa", "admin")
MUNICIPALITY_CODE = re.compile(r"^GM\d{4}$")
KEY_PREFIX = "om_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's role, its municipality (role ``municipality`` only) and a short key label."""

    role: str
    municipality_code: str | None = None
    key: str = ""

    @property
    def sees_all(self) -> bool:
        """Whether the key sees every municipality's proposals and candidates."""
        return self.role != "municipality"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_role(role: str, municipality_code: str | None) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == "municipality":
        if not municipality_code:
            raise InputError("a municipality key needs --municipality GMxxxx")
        if not MUNICIPALITY_CODE.match(municipality_code):
            raise InputError(f"municipality code must look like GM0505, got {municipality_code!r}")
    elif municipality_code:
        raise InputError(f"only municipality keys carry a municipality code, not {role} keys")


def create_key(engine: Engine, role: str, municipality_code: str | None = None, label: str | None = None) -> str:
    """Store a new key's hash with its role; returns the key itself (shown once, never stored)."""
    check_role(role, municipality_code)
    with engine.begin() as conn:
        if (
            municipality_code
            and not conn.execute(
                sa.text("SELECT 1 FROM municipality WHERE code = :c"), {"c": municipality_code}
            ).first()
        ):
            raise NotFoundError(f"municipality {municipality_code} is not loaded")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        conn.execute(
            sa.insert(ApiKey).values(
                key_hash=hash_key(key),
                prefix=key[:PREFIX_CHARS],
                role=role,
                municipality_code=municipality_code,
                label=label,
            )
        )
    return key


PREFIX_CHARS = 10  # what is stored and listed: "om_" and the key's next 7 characters
MIN_PREFIX = 8


def _key_text(text: str) -> str:
    """A key or key prefix as the operator typed it, with the ``om_`` part whether it was typed or not."""
    text = text.strip()
    return text if text.startswith(KEY_PREFIX) else KEY_PREFIX + text


def revoke_key(engine: Engine, prefix: str) -> str:
    """Revoke the one key that is ``prefix`` or starts with it; returns its listed prefix.

    ``prefix`` is the whole key or its start as ``apikey list`` shows it (``om_`` may be left out), at least
    8 characters with ``om_`` (5 after it) and at most the 10 that are stored. It must match exactly one key:
    none, or more than one, is an :class:`InputError` (nothing is revoked).
    """
    text = _key_text(prefix)
    with engine.begin() as conn:
        columns = (ApiKey.id, ApiKey.prefix, ApiKey.revoked_at, ApiKey.role, ApiKey.label)
        if len(text) > PREFIX_CHARS:
            rows = conn.execute(sa.select(*columns).where(ApiKey.key_hash == hash_key(text))).all()
            if not rows:
                raise NotFoundError(
                    f"no key is {text[:PREFIX_CHARS]}... (a whole key must match exactly; or give its first "
                    f"{MIN_PREFIX}-{PREFIX_CHARS} characters as 'apikey list' shows them)"
                )
        else:
            if len(text) < MIN_PREFIX:
                raise InputError(
                    f"give at least the first {MIN_PREFIX} characters of the key as 'apikey list' shows them "
                    f"({KEY_PREFIX} and {MIN_PREFIX - len(KEY_PREFIX)} more), got {len(text)}"
                )
            rows = conn.execute(sa.select(*columns).where(sa.func.starts_with(ApiKey.prefix, text))).all()
            if not rows:
                raise NotFoundError(f"no key starts with {text!r} (see 'opvangmatch apikey list'); nothing revoked")
        if len(rows) > 1:
            listed = ", ".join(f"{r.prefix}... ({r.role}{', revoked' if r.revoked_at else ''})" for r in rows)
            raise InputError(
                f"{text!r} matches {len(rows)} keys ({listed}); give more characters or the whole key; nothing revoked"
            )
        (row,) = rows
        if row.revoked_at is not None:
            raise InputError(f"key {row.prefix}... is already revoked (on {row.revoked_at:%Y-%m-%d})")
        conn.execute(sa.update(ApiKey).where(ApiKey.id == row.id).values(revoked_at=sa.func.now()))
    return row.prefix


def list_keys(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = (
            conn.execute(
                sa.select(
                    ApiKey.prefix,
                    ApiKey.role,
                    ApiKey.municipality_code,
                    ApiKey.label,
                    ApiKey.created_at,
                    ApiKey.revoked_at,
                ).order_by(ApiKey.id)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


class KeyStore:
    """Resolves a presented key to a :class:`Principal` (database keys, plus keys from ``OPVANGMATCH_API_KEYS``).

    A verified key is remembered for ``ttl`` seconds, so scoring requests need no database round trip; a revoked
    key stops working within that time. While the database cannot be reached, a key verified at most ``outage``
    seconds ago stays usable (so ``POST /score``, served from memory, goes on working); a key never verified, or
    verified longer ago, gets the database's 503. Once the database answers again every key is checked anew, so a
    key revoked meanwhile stops working at once.
    """

    def __init__(
        self, engine: Engine, env_keys: tuple[tuple[str, str], ...] = (), ttl: float = 30.0, outage: float = 900.0
    ):
        self.engine = engine
        self.ttl = ttl
        self.outage = outage
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._env: dict[str, Principal] = {}
        for key, role_text in env_keys:
            role, _, code = role_text.partition(":")
            check_role(role, code or None)
            self._env[hash_key(key)] = Principal(role, code or None, key[:6] + "...")

    def resolve(self, key: str) -> Principal | None:
        digest = hash_key(key)
        if digest in self._env:
            return self._env[digest]
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(ApiKey.role, ApiKey.municipality_code, ApiKey.prefix).where(
                        ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                    )
                ).first()
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError):
            if cached and now - cached[0] < self.outage:
                return cached[1]  # the database is away: the key was verified recently enough
            raise
        if row is None:
            with self._lock:
                self._cache.pop(digest, None)
            return None
        principal = Principal(row.role, row.municipality_code, row.prefix + "...")
        with self._lock:
            self._cache[digest] = (now, principal)
        return principal
