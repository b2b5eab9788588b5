"""Write a prepared dataset atomically: replace that source's rows in one transaction, with COPY."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.db.copy import binary_forms, copy_binary, copy_frame
from geo.errors import DataError
from geo.models import SRID, Dataset

Progress = Callable[[str], None]
# From this many rows on, a table's indexes other than its keys are dropped before COPY and built again after
# it (in the same transaction: readers wait for the commit, and a failed load leaves the indexes as they were),
# and a table holding only the loaded source is truncated rather than deleted from.
REBUILD_INDEX_FROM = 100_000
INDEX_BUILD_MEMORY = "256MB"  # maintenance_work_mem while the indexes are built again (sorts stay in memory)


@dataclass
class Phases:
    """Seconds spent per named phase of a load (read, build, write ...), in the order first seen."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


@dataclass
class Prepared:
    """A validated frame ready to be written to ``table`` (columns named as in the table)."""

    kind: str
    table: type
    frame: pd.DataFrame
    year: int | None
    repairs: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    geometry_columns: tuple[str, ...] = ("geom",)  # shapely geometries, or EWKB bytes (geo.db.copy.ewkb_values)
    # Further tables written in the same transaction: (model, frame, geometry columns), e.g. network nodes.
    also: list[tuple[type, pd.DataFrame, tuple[str, ...]]] = field(default_factory=list)
    coverage: dict | None = None  # service layers: {category: {area code: complete|partial|none}}
    phases: Phases = field(default_factory=Phases)  # seconds per reading phase (readers that time theirs)


@dataclass(frozen=True)
class LoadReport:
    source: str
    kind: str
    table: str
    rows: int
    replaced: int
    repairs: int
    skipped: int
    year: int | None
    notes: tuple[str, ...]
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, reading and writing

    def __str__(self) -> str:
        text = f"{self.source}: {self.rows:,} rows into {self.table} (replaced {self.replaced:,})"
        if self.repairs:
            text += f", {self.repairs} geometries repaired"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text + "".join(f"\n  - {note}" for note in self.notes)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write(
    engine: Engine | sa.Connection, prepared: Prepared, *, source: str, path: Path, progress: Progress | None = None
) -> LoadReport:
    """Replace ``source``'s rows in the target table, and record the dataset, in one transaction.

    Given a connection instead of an engine, the write joins that connection's transaction (so several
    files can be loaded all or nothing)."""
    table = prepared.table.__table__
    phases = Phases(dict(prepared.phases.seconds))
    with phases("format rows for COPY"):
        frame = _frame_for(table, prepared.frame, prepared.geometry_columns, source, prepared.year)
        also = [(m.__table__, _frame_for(m.__table__, f, g, source, prepared.year)) for m, f, g in prepared.also]
    say = progress or (lambda _msg: None)
    with engine.begin() if isinstance(engine, Engine) else contextlib.nullcontext(engine) as conn:
        replaced = 0
        for target, rows in [(table, frame), *also]:
            bulk = len(rows) >= REBUILD_INDEX_FROM
            with phases(f"remove the source's old rows {target.name}"):
                removed = _remove(conn, target, source, bulk)
                replaced = removed if target is table else replaced
            say(f"writing {len(rows):,} rows into {target.name} ...")
            with phases(f"drop indexes {target.name}"):
                rebuild = _drop_indexes(conn, target.name) if bulk else []
            with phases(f"COPY {target.name}"):
                _copy(conn, target, rows, path=path, say=say)
            with phases(f"build indexes {target.name}"):
                if rebuild:
                    conn.execute(sa.text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
                for definition in rebuild:  # one bulk build beats inserting row by row into each index
                    conn.execute(sa.text(definition))
            with phases(f"ANALYZE {target.name}"):
                conn.execute(sa.text(f'ANALYZE "{target.name}"'))  # fresh statistics: good plans right after a load
        with phases("dataset record (file sha256)"):
            conn.execute(sa.delete(Dataset).where(Dataset.source == source))
            conn.execute(
                sa.insert(Dataset).values(
                    source=source,
                    kind=prepared.kind,
                    path=str(path),
                    sha256=file_sha256(path),
                    rows=len(frame),
                    repairs=prepared.repairs,
                    year=prepared.year,
                    notes="\n".join(prepared.notes) or None,
                    coverage=prepared.coverage,
                )
            )
        committing = time.perf_counter()
    phases.add("commit", time.perf_counter() - committing)
    return LoadReport(
        source,
        prepared.kind,
        table.name,
        len(frame),
        replaced,
        prepared.repairs,
        prepared.skipped,
        prepared.year,
        tuple(prepared.notes),
        phases.seconds,
    )


def _remove(conn: sa.Connection, table: sa.Table, source: str, bulk: bool) -> int:
    """Delete ``source``'s rows from ``table``; returns how many. Before a bulk load into a table that holds
    no other source, the table is truncated instead (in the transaction: a failed load brings the rows back),
    which leaves no dead rows for the COPY and the index builds to wade through."""
    if bulk and not conn.execute(sa.select(sa.exists().where(table.c.source != source))).scalar():
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        conn.execute(sa.text(f'TRUNCATE "{table.name}"'))
        return count
    return conn.execute(table.delete().where(table.c.source == source)).rowcount


def _drop_indexes(conn: sa.Connection, table: str) -> list[str]:
    """Drop ``table``'s indexes that enforce nothing (not primary key, not unique); returns their definitions
    to build them again."""
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = quote_ident(:t)::regclass AND NOT i.indisunique AND NOT i.indisprimary "
            "ORDER BY c.relname"
        ),
        {"t": table},
    ).all()
    for name, _ in rows:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in rows]


def _frame_for(table, frame: pd.DataFrame, geometry_columns, source: str, year: int | None) -> pd.DataFrame:
    """``frame`` with source and year, ready for COPY: as it is when every column has a binary COPY form
    (:func:`geo.db.copy.binary_forms`), else with geometries as EWKB hex and dicts/lists as text (CSV)."""
    frame = frame.copy()
    frame["source"] = source
    frame["year"] = year
    unknown = set(frame.columns) - set(table.columns.keys())
    if unknown:
        raise AssertionError(f"columns not in {table.name}: {sorted(unknown)}")
    if binary_forms(table, frame.columns):
        return frame
    for name in geometry_columns:
        frame[name] = _ewkb(frame[name].to_numpy())
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(_text)
    return frame


def _ewkb(geoms: np.ndarray) -> list[str | None]:
    """Shapely geometries (or EWKB bytes already) as EWKB hex."""
    values = np.asarray(geoms, dtype=object)
    given = values[pd.notna(values)]
    if len(given) and isinstance(given[0], bytes):
        return [None if v is None else v.hex() for v in values]
    present = ~shapely.is_missing(values)
    out: list[str | None] = [None] * len(values)
    if present.any():
        with_srid = shapely.set_srid(values[present], SRID)
        encoded = shapely.to_wkb(with_srid, hex=True, include_srid=True)
        for i, text in zip(np.flatnonzero(present), encoded, strict=True):
            out[i] = text
    return out


def _text(value):
    """Dicts as JSON and lists as PostgreSQL array literals, for COPY; other values unchanged."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, list | tuple):
        return "{" + ",".join('"' + str(v).replace('"', '\\"') + '"' for v in value) + "}"
    return value


def _copy(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, *, path: Path, say: Progress) -> None:
    import psycopg

    try:
        if binary_forms(table, frame.columns):
            copy_binary(conn, table, frame, SRID, progress=say)
        else:
            copy_frame(conn, table.name, frame, progress=say)
    except psycopg.errors.UniqueViolation as exc:
        detail = exc.diag.message_detail or str(exc)
        raise DataError(
            path,
            f"already in {table.name} from another source: {detail} "
            "(unload that source first, or load this file under the same --source)",
        ) from exc
    except ValueError as exc:  # a value the binary form cannot hold
        raise DataError(path, f"the rows for {table.name} do not fit its columns: {exc}") from exc
    except psycopg.Error as exc:
        message = exc.diag.message_primary or exc
        raise DataError(path, f"the database refused the rows for {table.name}: {message}") from exc
