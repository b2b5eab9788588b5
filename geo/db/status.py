"""What is in the database: row counts per table and source, and the data vintage."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.models import DATA_TABLES, Dataset


def row_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """(table, source, rows) for every data table, sorted."""
    out = []
    with engine.connect() as conn:
        for model in DATA_TABLES:
            table = model.__table__
            query = sa.select(table.c.source, sa.func.count()).group_by(table.c.source).order_by(table.c.source)
            out.extend((table.name, source, n) for source, n in conn.execute(query))
    return out


def service_counts(engine: Engine) -> dict[str, int]:
    from geo.models import Service

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Service.category, sa.func.count()).group_by(Service.category).order_by(Service.category)
        )
        return dict(rows.all())


def data_vintage(engine: Engine) -> dict:
    """A fingerprint of the loaded data: the datasets, their years and file hashes."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Dataset.source, Dataset.year, Dataset.sha256, Dataset.loaded_at).order_by(Dataset.source)
        ).all()
    digest = hashlib.sha256("".join(f"{s}:{h};" for s, _y, h, _t in rows).encode()).hexdigest()[:12]
    return {
        "id": digest,
        "datasets": {s: y for s, y, _h, _t in rows},
        "loaded_at": max((t for *_, t in rows), default=None),
    }
