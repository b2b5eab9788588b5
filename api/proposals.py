"""Proposals: the stappenplan inventory, its location and score, and a status that moves step by step.

    submitted -> in_preparation (plan of action) -> agreement_signed -> active -> evaluated
    any open step -> withdrawn

A proposal needs a location and a capacity from the plan of action on; it is scored as soon as it has both. A
pilot runs at most two years from its start; going beyond is an explicit extension, recorded in the history.
Writes use optimistic concurrency: a change names the version it read, and a stale version is refused (409).
"""

from __future__ import annotations

import json
from datetime import date

import shapely
import sqlalchemy as sa

from api.auth import Principal
from api.errors import Conflict, Forbidden
from geo.errors import InputError, NotFoundError
from geo.models import Proposal, ProposalEvent
from geo.monitoring import lifecycle
from geo.task import PIPELINE_STATUSES

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("in_preparation", "withdrawn"),
    "in_preparation": ("agreement_signed", "withdrawn"),
    "agreement_signed": ("active", "withdrawn"),
    "active": ("evaluated", "withdrawn"),
    "evaluated": (),
    "withdrawn": (),
}
NEEDS_LOCATION = ("in_preparation", "agreement_signed", "active", "evaluated")
LOCATION_FIXED = ("agreement_signed", "active", "evaluated", "withdrawn")
MAX_YEARS = 2
INVENTORY = (
    "title",
    "description",
    "motivation",
    "target_group",
    "task_relation",
    "capacity",
    "address",
    "floor_area",
    "chain_partners",
    "minimum_standards",
)
COLUMNS = [c for c in Proposal.__table__.columns if c.name != "geom"]


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_transition(current: str, target: str, who: Principal) -> None:
    """Refuse a status change that the stappenplan or the key's role does not allow, saying why."""
    if target == current:
        return
    if who.role == "municipality" and target != "withdrawn":
        raise Forbidden(f"a municipality key may only withdraw a proposal; moving it to {target} is up to COA")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        follow = f"from {current} it can go to {' or '.join(allowed)}" if allowed else f"{current} is a final status"
        raise Conflict(f"a proposal cannot move from {current} to {target}: {follow}")


def _select(conn: sa.Connection, proposal_id: int, who: Principal, *, lock: bool = False) -> dict:
    query = sa.select(*COLUMNS, sa.func.ST_AsBinary(Proposal.geom).label("geom_wkb")).where(Proposal.id == proposal_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None or (not who.sees_all and row["municipality_code"] != who.municipality_code):
        raise NotFoundError(f"proposal {proposal_id} does not exist (or is not visible to this key)")
    out = dict(row)
    wkb = out.pop("geom_wkb")
    out["geom"] = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
    return out


def read(conn: sa.Connection, proposal_id: int, who: Principal, *, history: bool = True) -> dict:
    row = _select(conn, proposal_id, who)
    if history:
        events = conn.execute(
            sa.select(
                ProposalEvent.at,
                ProposalEvent.actor,
                ProposalEvent.kind,
                ProposalEvent.from_status,
                ProposalEvent.to_status,
                ProposalEvent.note,
                ProposalEvent.changes,
            )
            .where(ProposalEvent.proposal_id == proposal_id)
            .order_by(ProposalEvent.id)
        ).mappings()
        row["history"] = [dict(e) for e in events]
    row["warnings"] = lifecycle.warnings(row["status"], row["end_date"], date.today())
    return row


def listing(
    conn: sa.Connection, who: Principal, *, status: str | None, municipality: str | None, limit: int, offset: int
) -> tuple[list[dict], int]:
    where = []
    if not who.sees_all:
        if municipality and municipality != who.municipality_code:
            raise Forbidden(f"a municipality key sees proposals of {who.municipality_code} only")
        municipality = who.municipality_code
    if municipality:
        where.append(Proposal.municipality_code == municipality)
    if status:
        where.append(Proposal.status == status)
    total = conn.execute(sa.select(sa.func.count()).select_from(Proposal).where(*where)).scalar_one()
    ids = conn.execute(sa.select(Proposal.id).where(*where).order_by(Proposal.id).limit(limit).offset(offset)).scalars()
    return [read(conn, i, who, history=False) for i in ids], total


def _municipality_of(conn: sa.Connection, code: str) -> None:
    if not conn.execute(sa.text("SELECT 1 FROM municipality WHERE code = :c"), {"c": code}).first():
        raise InputError(f"municipality {code} is not known (not loaded)")


def _score(scorer, row: dict) -> dict | None:
    """The proposal's score when it has a location and a capacity; checks the location lies in its municipality."""
    if row.get("geom") is None or not row.get("capacity"):
        return None
    result = scorer(row["geom"], int(row["capacity"]), row["target_group"], row.get("floor_area"))
    found = result["task"]["municipality"]
    if found != row["municipality_code"]:
        where = f"in {found}" if found else "in no loaded municipality"
        raise InputError(f"the location lies {where}, not in the proposal's municipality {row['municipality_code']}")
    return result


def _event(conn, proposal_id: int, who: Principal, kind: str, **values) -> None:
    conn.execute(
        sa.insert(ProposalEvent).values(proposal_id=proposal_id, actor=f"{who.role}:{who.key}", kind=kind, **values)
    )


def _geom_value(shape):
    return None if shape is None else sa.func.ST_GeomFromWKB(shapely.to_wkb(shape), 28992)


def create(conn: sa.Connection, who: Principal, fields: dict, shape, scorer, intake_closes: str | None) -> int:
    """Store a new proposal (status submitted) with its score when it has a location; returns its id."""
    if intake_closes and date.today() > date.fromisoformat(intake_closes):
        raise Conflict(f"the intake round closed on {intake_closes}; no new proposals are accepted")
    code = fields.pop("municipality_code", None)
    if who.role == "municipality":
        if code and code != who.municipality_code:
            raise Forbidden(f"a municipality key submits proposals for {who.municipality_code} only, not {code}")
        code = who.municipality_code
    if not code:
        raise InputError("municipality_code is required (only municipality keys may leave it out)")
    _municipality_of(conn, code)
    row = {**fields, "municipality_code": code, "geom": shape}
    row["score"] = _score(scorer, row)
    values = {k: v for k, v in row.items() if k != "geom" and v is not None}
    proposal_id = conn.execute(
        sa.insert(Proposal)
        .values(**values, geom=_geom_value(shape), created_by=f"{who.role}:{who.key}")
        .returning(Proposal.id)
    ).scalar_one()
    _event(conn, proposal_id, who, "created", to_status="submitted")
    return proposal_id


def update(conn: sa.Connection, who: Principal, proposal_id: int, patch: dict, shape, scorer) -> bool:
    """Apply a change; returns whether the pipeline (status or capacity of a pipeline proposal) may have changed."""
    version = patch.pop("version")
    note = patch.pop("note", None)
    target = patch.pop("status", None)
    extend_until = patch.pop("extend_until", None)
    start, end = patch.pop("start_date", None), patch.pop("end_date", None)
    row = _select(conn, proposal_id, who, lock=True)
    if row["version"] != version:
        raise Conflict(
            f"proposal {proposal_id} is at version {row['version']}, not {version}: it was changed meanwhile; "
            "read it again and retry",
            current_version=row["version"],
        )
    if who.role == "viewer":
        raise Forbidden("a viewer key may not change proposals")
    current = row["status"]
    changes = {k: v for k, v in patch.items() if k in INVENTORY and v is not None}
    if shape is not None:
        if current in LOCATION_FIXED:
            raise Conflict(f"the location of a proposal in status {current} can no longer change")
        changes["geom"] = shape
    if changes and current in ("evaluated", "withdrawn"):
        raise Conflict(f"a proposal in status {current} can no longer change")
    new = {**row, **changes}
    events = []
    if target and target != current:
        check_transition(current, target, who)
        if target in NEEDS_LOCATION and (new["geom"] is None or not new["capacity"]):
            raise Conflict(
                f"a proposal needs a location and a capacity before it moves to {target} (the plan of action)"
            )
        events.append(("status", {"from_status": current, "to_status": target}))
        new["status"] = target
    if start or end:
        if who.role == "municipality":
            raise Forbidden("start and end dates are set by COA")
        if new["status"] not in ("agreement_signed", "active"):
            raise Conflict("start and end dates are set when the agreement is signed or the pilot starts")
    if start:
        new["start_date"] = start
    if new["status"] == "active" and current != "active" and new["start_date"] is None:
        raise Conflict("a pilot that becomes active needs its start_date")
    if new["start_date"] is not None:
        limit = years_later(new["start_date"], MAX_YEARS)
        if end:
            new["end_date"] = end
        elif new["end_date"] is None:
            new["end_date"] = limit
        if new["end_date"] <= new["start_date"]:
            raise InputError("end_date must be after start_date")
        if new["end_date"] > limit and not (row["extended"] or extend_until):
            raise InputError(
                f"a pilot runs at most {MAX_YEARS} years from its start ({new['start_date']} to {limit}); "
                "longer needs an explicit extension (extend_until)"
            )
    if extend_until:
        if who.role == "municipality":
            raise Forbidden("an extension is decided with COA (coa or admin key)")
        if new["status"] not in ("active", "evaluated"):
            raise Conflict(f"only an active or evaluated pilot can be extended, not one in status {new['status']}")
        if not note:
            raise InputError("an extension needs a note saying why (e.g. the positive evaluation)")
        if new["end_date"] is None or extend_until <= new["end_date"]:
            raise InputError(f"extend_until must be after the current end date {new['end_date']}")
        if extend_until > years_later(new["end_date"], MAX_YEARS):
            raise InputError(f"an extension runs at most {MAX_YEARS} more years")
        events.append(
            (
                "extension",
                {
                    "from_status": new["status"],
                    "to_status": "active",
                    "changes": {"end_date": [str(new["end_date"]), str(extend_until)]},
                },
            )
        )
        new.update(end_date=extend_until, extended=True, status="active")
    if any(k in changes for k in ("geom", "capacity", "target_group", "floor_area")) or (
        new["score"] is None and new["geom"] is not None and new["capacity"]
    ):
        new["score"] = _score(scorer, new)
    if changes:
        shown = {k: (json.loads(shapely.to_geojson(v)) if k == "geom" else v) for k, v in changes.items()}
        events.insert(0, ("changed", {"changes": json.loads(json.dumps(shown, default=str))}))
    if not events and not (start or end):
        raise InputError("the change is empty: give at least one field, a status, dates or extend_until")
    lifecycle.check_events(conn, proposal_id, events)  # monitoring's rules: evaluated, extension
    values = {k: new[k] for k in (*INVENTORY, "status", "start_date", "end_date", "extended", "score")}
    result = conn.execute(
        sa.update(Proposal)
        .where(Proposal.id == proposal_id, Proposal.version == version)
        .values(**values, geom=_geom_value(new["geom"]), version=Proposal.version + 1, updated_at=sa.func.now())
    )
    if result.rowcount != 1:
        raise Conflict(f"proposal {proposal_id} was changed meanwhile; read it again and retry")
    for kind, values in events or [
        ("dates", {"changes": {"start_date": str(new["start_date"]), "end_date": str(new["end_date"])}})
    ]:
        _event(conn, proposal_id, who, kind, note=note, **values)
    in_pipeline = {current in PIPELINE_STATUSES, new["status"] in PIPELINE_STATUSES}
    return True in in_pipeline and (current != new["status"] or "capacity" in changes)
