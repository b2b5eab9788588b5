"""Proposals in the database: read (with history), list, create, change, and the places in the pipeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.domain import PIPELINE_STATUSES, SRID_RD
from geo.errors import ConflictError, InputError, NotFoundError, SchemaError
from geo.models import Proposal, ProposalEvent
from geo.monitoring import lifecycle
from geo.proposals.rules import INVENTORY, Actor, actor_label, check_submission, plan_change, visible_municipality

COLUMNS = [c for c in Proposal.__table__.columns if c.name != "geom"]
HISTORY = (
    ProposalEvent.at,
    ProposalEvent.actor,
    ProposalEvent.kind,
    ProposalEvent.from_status,
    ProposalEvent.to_status,
    ProposalEvent.note,
    ProposalEvent.changes,
)
Scorer = Callable[[shapely.Geometry, int, str, float | None], dict]
"""Scores a location: ``(geometry EPSG:28992, capacity, target group, floor area) -> explanation``."""


def _select(conn: sa.Connection, proposal_id: int, who: Actor | None, *, lock: bool = False) -> dict:
    query = sa.select(*COLUMNS, sa.func.ST_AsBinary(Proposal.geom).label("geom_wkb")).where(Proposal.id == proposal_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None or (who is not None and not who.sees_all and row["municipality_code"] != who.municipality_code):
        raise NotFoundError(f"proposal {proposal_id} does not exist (or is not visible to this key)")
    out = dict(row)
    wkb = out.pop("geom_wkb")
    out["geom"] = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
    return out


def read(conn: sa.Connection, proposal_id: int, who: Actor | None, *, history: bool = True) -> dict:
    """A proposal as ``who`` may see it (``None``: unrestricted), with its history of events."""
    row = _select(conn, proposal_id, who)
    if history:
        events = conn.execute(
            sa.select(*HISTORY).where(ProposalEvent.proposal_id == proposal_id).order_by(ProposalEvent.id)
        )
        row["history"] = [dict(e) for e in events.mappings()]
    row["warnings"] = lifecycle.warnings(row["status"], row["end_date"], date.today())
    return row


def located(engine: Engine, proposal_id: int) -> dict:
    """A proposal that can be scored and mapped: it has a location and a capacity (else a clear error)."""
    with engine.connect() as conn:
        row = read(conn, proposal_id, None, history=False)
    if row["geom"] is None:
        raise InputError(f"proposal {proposal_id} has no location yet (inventory step); a map needs its geometry")
    if not row["capacity"]:
        raise InputError(f"proposal {proposal_id} has no capacity yet; a map needs it to score the location")
    return row


def listing(
    conn: sa.Connection, who: Actor, *, status: str | None, municipality: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    """A page of the proposals ``who`` may see, and how many there are in all."""
    municipality = visible_municipality(who, municipality)
    where = []
    if municipality:
        where.append(Proposal.municipality_code == municipality)
    if status:
        where.append(Proposal.status == status)
    total = conn.execute(sa.select(sa.func.count()).select_from(Proposal).where(*where)).scalar_one()
    ids = conn.execute(sa.select(Proposal.id).where(*where).order_by(Proposal.id).limit(limit).offset(offset)).scalars()
    return [read(conn, i, who, history=False) for i in ids], total


def _check_municipality(conn: sa.Connection, code: str) -> None:
    if not conn.execute(sa.text("SELECT 1 FROM municipality WHERE code = :c"), {"c": code}).first():
        raise InputError(f"municipality {code} is not known (not loaded)")


def _score(scorer: Scorer, row: dict) -> dict | None:
    """The proposal's score when it has a location and a capacity; checks the location lies in its municipality."""
    if row.get("geom") is None or not row.get("capacity"):
        return None
    result = scorer(row["geom"], int(row["capacity"]), row["target_group"], row.get("floor_area"))
    found = result["task"]["municipality"]
    if found != row["municipality_code"]:
        where = f"in {found}" if found else "in no loaded municipality"
        raise InputError(f"the location lies {where}, not in the proposal's municipality {row['municipality_code']}")
    return result


def _event(conn: sa.Connection, proposal_id: int, who: Actor, kind: str, **values) -> None:
    conn.execute(sa.insert(ProposalEvent).values(proposal_id=proposal_id, actor=actor_label(who), kind=kind, **values))


def _geom_value(shape):
    return None if shape is None else sa.func.ST_GeomFromWKB(shapely.to_wkb(shape), SRID_RD)


def create(conn: sa.Connection, who: Actor, fields: dict, shape, scorer: Scorer, intake_closes: str | None) -> int:
    """Store a new proposal (status submitted) with its score when it has a location; returns its id."""
    fields = dict(fields)
    code = check_submission(who, fields.pop("municipality_code", None), intake_closes, date.today())
    _check_municipality(conn, code)
    row = {**fields, "municipality_code": code, "geom": shape}
    row["score"] = _score(scorer, row)
    values = {k: v for k, v in row.items() if k != "geom" and v is not None}
    proposal_id = conn.execute(
        sa.insert(Proposal)
        .values(**values, geom=_geom_value(shape), created_by=actor_label(who))
        .returning(Proposal.id)
    ).scalar_one()
    _event(conn, proposal_id, who, "created", to_status="submitted")
    return proposal_id


def update(conn: sa.Connection, who: Actor, proposal_id: int, patch: dict, shape, scorer: Scorer) -> bool:
    """Apply a change (see :func:`geo.proposals.rules.plan_change`); returns whether the task's pipeline may have
    changed (the status or capacity of a pipeline proposal)."""
    row = _select(conn, proposal_id, who, lock=True)
    change = plan_change(row, who, patch, shape)
    lifecycle.check_events(conn, proposal_id, change.events)  # monitoring's rules: evaluated, extension
    new = change.new
    if change.rescore:
        new["score"] = _score(scorer, new)
    values = {k: new[k] for k in (*INVENTORY, "status", "start_date", "end_date", "extended", "score")}
    result = conn.execute(
        sa.update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.version == row["version"])
        .values(**values, geom=_geom_value(new["geom"]), version=Proposal.version + 1, updated_at=sa.func.now())
    )
    if result.rowcount != 1:
        raise ConflictError(f"proposal {proposal_id} was changed meanwhile; read it again and retry")
    for kind, event in change.recorded_events():
        _event(conn, proposal_id, who, kind, note=change.note, **event)
    return change.pipeline_changed


def pipeline_places(engine: Engine) -> pd.Series:
    """Places in proposals that are in preparation or have a signed agreement, per municipality code."""
    query = sa.text(
        "SELECT municipality_code AS code, sum(capacity)::bigint AS places FROM proposal "
        "WHERE status = ANY(:statuses) AND municipality_code IS NOT NULL GROUP BY municipality_code"
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query, {"statuses": list(PIPELINE_STATUSES)}).all()
    except sa.exc.ProgrammingError as exc:  # no table or a column missing: the database is not migrated
        raise SchemaError(
            f"table 'proposal' lacks what the pipeline needs ({str(exc.orig).strip().splitlines()[0]}); "
            "run 'opvangmatch db up' to migrate"
        ) from exc
    return pd.Series({code: int(places or 0) for code, places in rows}, dtype=np.int64)
