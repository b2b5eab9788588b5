"""The rules of the stappenplan, without the database: who may move a proposal where, dates and extensions.

A change (:func:`plan_change`) is worked out in steps a reader can follow, each of which refuses with the reason:
the version must be the one read; the caller may change proposals; the fields and the location may still change;
the status moves one allowed step; the start and end dates keep the two-year limit; an extension is explicit.
Every refusal is a domain error (:class:`ConflictError`, :class:`PermissionDenied`, :class:`InputError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import shapely

from geo.domain import PIPELINE_STATUSES
from geo.errors import ConflictError, InputError, PermissionDenied

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
FINAL = ("evaluated", "withdrawn")
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
SCORED_BY = ("geom", "capacity", "target_group", "floor_area")


class Actor(Protocol):
    """Who acts: a role (viewer, municipality, coa, admin), a municipality for role municipality, a short label."""

    role: str
    municipality_code: str | None
    key: str

    @property
    def sees_all(self) -> bool: ...


def actor_label(who: Actor) -> str:
    return f"{who.role}:{who.key}"


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_transition(current: str, target: str, who: Actor) -> None:
    """Refuse a status change that the stappenplan or the caller's role does not allow, saying why."""
    if target == current:
        return
    if who.role == "municipality" and target != "withdrawn":
        raise PermissionDenied(f"a municipality key may only withdraw a proposal; moving it to {target} is up to COA")
    allowed = TRANSITIONS[current]
    if target not in allowed:
        follow = f"from {current} it can go to {' or '.join(allowed)}" if allowed else f"{current} is a final status"
        raise ConflictError(f"a proposal cannot move from {current} to {target}: {follow}")


def check_submission(who: Actor, code: str | None, intake_closes: str | None, today: date) -> str:
    """The municipality a new proposal is for, once the intake is open and the caller may submit for it."""
    if intake_closes and today > date.fromisoformat(intake_closes):
        raise ConflictError(f"the intake round closed on {intake_closes}; no new proposals are accepted")
    if who.role == "municipality":
        if code and code != who.municipality_code:
            raise PermissionDenied(f"a municipality key submits proposals for {who.municipality_code} only, not {code}")
        code = who.municipality_code
    if not code:
        raise InputError("municipality_code is required (only municipality keys may leave it out)")
    return code


def visible_municipality(who: Actor, municipality: str | None) -> str | None:
    """The municipality a listing is limited to: the caller's own for a municipality key."""
    if who.sees_all:
        return municipality
    if municipality and municipality != who.municipality_code:
        raise PermissionDenied(f"a municipality key sees proposals of {who.municipality_code} only")
    return who.municipality_code


@dataclass
class Change:
    """A change being worked out: the row as read, the row as it will be, and the events to record."""

    row: dict
    new: dict
    who: Actor
    note: str | None = None
    changes: dict = field(default_factory=dict)
    events: list[tuple[str, dict]] = field(default_factory=list)
    dates_given: bool = False

    @property
    def rescore(self) -> bool:
        """Whether the score must be computed again (a scored field changed, or it can be scored for the first time)."""
        new = self.new
        return any(k in self.changes for k in SCORED_BY) or (
            new["score"] is None and new["geom"] is not None and bool(new["capacity"])
        )

    @property
    def pipeline_changed(self) -> bool:
        """Whether the task's pipeline may have changed (the status or capacity of a pipeline proposal)."""
        current, target = self.row["status"], self.new["status"]
        touches = current in PIPELINE_STATUSES or target in PIPELINE_STATUSES
        return touches and (current != target or "capacity" in self.changes)

    def recorded_events(self) -> list[tuple[str, dict]]:
        """The history entries of this change (a change of dates alone is recorded as such)."""
        if self.events:
            return self.events
        new = self.new
        return [("dates", {"changes": {"start_date": str(new["start_date"]), "end_date": str(new["end_date"])}})]


def plan_change(row: dict, who: Actor, patch: dict, shape) -> Change:
    """Work out a change of the proposal ``row`` (read under lock); refuse it with the reason if it is not allowed.

    ``patch`` holds ``version`` and any of the inventory fields, ``status``, ``start_date``, ``end_date``,
    ``extend_until`` and ``note``; ``shape`` is the new location (EPSG:28992) or ``None``.
    """
    patch = dict(patch)
    version = patch.pop("version")
    change = Change(row=row, new=dict(row), who=who, note=patch.pop("note", None))
    target = patch.pop("status", None)
    extend_until = patch.pop("extend_until", None)
    start, end = patch.pop("start_date", None), patch.pop("end_date", None)
    change.dates_given = bool(start or end)

    _check_version(row, version)
    _check_may_change(who)
    _take_fields(change, patch, shape)
    _move_status(change, target)
    _set_dates(change, start, end, extend_until)
    _extend(change, extend_until)
    if change.changes:
        shown = {k: (json.loads(shapely.to_geojson(v)) if k == "geom" else v) for k, v in change.changes.items()}
        change.events.insert(0, ("changed", {"changes": json.loads(json.dumps(shown, default=str))}))
    if not change.events and not change.dates_given:
        raise InputError("the change is empty: give at least one field, a status, dates or extend_until")
    return change


def _check_version(row: dict, version: int) -> None:
    if row["version"] != version:
        raise ConflictError(
            f"proposal {row['id']} is at version {row['version']}, not {version}: it was changed meanwhile; "
            "read it again and retry",
            current_version=row["version"],
        )


def _check_may_change(who: Actor) -> None:
    if who.role == "viewer":
        raise PermissionDenied("a viewer key may not change proposals")


def _take_fields(change: Change, patch: dict, shape) -> None:
    """The inventory fields and the location: open until the agreement is signed (the location) or the end."""
    current = change.row["status"]
    change.changes = {k: v for k, v in patch.items() if k in INVENTORY and v is not None}
    if shape is not None:
        if current in LOCATION_FIXED:
            raise ConflictError(f"the location of a proposal in status {current} can no longer change")
        change.changes["geom"] = shape
    if change.changes and current in FINAL:
        raise ConflictError(f"a proposal in status {current} can no longer change")
    change.new.update(change.changes)


def _move_status(change: Change, target: str | None) -> None:
    """One allowed step of the stappenplan; from the plan of action on, a location and a capacity are needed."""
    current, new = change.row["status"], change.new
    if not target or target == current:
        return
    check_transition(current, target, change.who)
    if target in NEEDS_LOCATION and (new["geom"] is None or not new["capacity"]):
        raise ConflictError(
            f"a proposal needs a location and a capacity before it moves to {target} (the plan of action)"
        )
    change.events.append(("status", {"from_status": current, "to_status": target}))
    new["status"] = target


def _set_dates(change: Change, start: date | None, end: date | None, extend_until: date | None) -> None:
    """Start and end are set by COA once the agreement is signed; a pilot runs at most MAX_YEARS from its start."""
    current, new = change.row["status"], change.new
    if start or end:
        if change.who.role == "municipality":
            raise PermissionDenied("start and end dates are set by COA")
        if new["status"] not in ("agreement_signed", "active"):
            raise ConflictError("start and end dates are set when the agreement is signed or the pilot starts")
    if start:
        new["start_date"] = start
    if new["status"] == "active" and current != "active" and new["start_date"] is None:
        raise ConflictError("a pilot that becomes active needs its start_date")
    if new["start_date"] is None:
        return
    limit = years_later(new["start_date"], MAX_YEARS)
    if end:
        new["end_date"] = end
    elif new["end_date"] is None:
        new["end_date"] = limit
    if new["end_date"] <= new["start_date"]:
        raise InputError("end_date must be after start_date")
    if new["end_date"] > limit and not (change.row["extended"] or extend_until):
        raise InputError(
            f"a pilot runs at most {MAX_YEARS} years from its start ({new['start_date']} to {limit}); "
            "longer needs an explicit extension (extend_until)"
        )


def _extend(change: Change, extend_until: date | None) -> None:
    """An extension (COA, with a note saying why) of an active or evaluated pilot, by at most MAX_YEARS."""
    if not extend_until:
        return
    new = change.new
    if change.who.role == "municipality":
        raise PermissionDenied("an extension is decided with COA (coa or admin key)")
    if new["status"] not in ("active", "evaluated"):
        raise ConflictError(f"only an active or evaluated pilot can be extended, not one in status {new['status']}")
    if not change.note:
        raise InputError("an extension needs a note saying why (e.g. the positive evaluation)")
    if new["end_date"] is None or extend_until <= new["end_date"]:
        raise InputError(f"extend_until must be after the current end date {new['end_date']}")
    if extend_until > years_later(new["end_date"], MAX_YEARS):
        raise InputError(f"an extension runs at most {MAX_YEARS} more years")
    extension = {
        "from_status": new["status"],
        "to_status": "active",
        "changes": {"end_date": [str(new["end_date"]), str(extend_until)]},
    }
    change.events.append(("extension", extension))
    new.update(end_date=extend_until, extended=True, status="active")
