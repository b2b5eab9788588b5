"""The pilot lifecycle rules that depend on monitoring and evaluation, called by the proposal state machine.

- an active pilot warns from three months before its end date (:func:`end_warning`);
- an extension needs a positive evaluation recorded by both COA and the municipality (:func:`check_extension`);
- ``evaluated`` needs an evaluation record (:func:`check_transition`).

Evaluations count from the pilot's last extension on: the judgement that extended a pilot does not extend it again.
"""

from __future__ import annotations

import calendar
from datetime import date

import sqlalchemy as sa

from geo.errors import ConflictError, InputError, PermissionDenied
from geo.models import ProposalEvent
from geo.monitoring.indicators import OUTCOMES, PARTIES
from geo.monitoring.models import PilotEvaluation
from geo.monitoring.records import label, pilot

WARN_MONTHS = 3
DAYS_PER_MONTH = 365.25 / 12


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_left(end_date: date | None, today: date) -> float | None:
    """Months (of 30.44 days) until the end date; negative once it has passed; ``None`` without an end date."""
    if end_date is None:
        return None
    return round((end_date - today).days / DAYS_PER_MONTH, 1)


def end_warning(status: str, end_date: date | None, today: date, months: int = WARN_MONTHS) -> str | None:
    """The warning an active pilot carries from ``months`` before its end date, else ``None``."""
    if status != "active" or end_date is None or today < add_months(end_date, -months):
        return None
    days = (end_date - today).days
    when = f"ended on {end_date} ({-days} days ago)" if days < 0 else f"ends on {end_date} (in {days} days)"
    return (
        f"the pilot {when}: evaluate it and decide; an extension needs a positive evaluation recorded by both COA "
        "and the municipality"
    )


def warnings(status: str, end_date: date | None, today: date) -> list[str]:
    """The lifecycle warnings a proposal carries (for the API, CLI and maps)."""
    return [w for w in (end_warning(status, end_date, today),) if w]


def _since_last_extension(proposal_id: int):
    return (
        sa.select(sa.func.max(ProposalEvent.at))
        .where(ProposalEvent.proposal_id == proposal_id, ProposalEvent.kind == "extension")
        .scalar_subquery()
    )


def current_evaluations(conn: sa.Connection, proposal_id: int) -> dict[str, dict]:
    """Each party's latest evaluation since the pilot's last extension (or its start)."""
    since = _since_last_extension(proposal_id)
    rows = conn.execute(
        sa.select(PilotEvaluation.__table__)
        .where(
            PilotEvaluation.proposal_id == proposal_id,
            sa.or_(since.is_(None), PilotEvaluation.recorded_at > since),
        )
        .order_by(PilotEvaluation.recorded_at, PilotEvaluation.id)
    )
    latest = {}
    for r in rows:
        latest[r.party] = {"id": r.id, "outcome": r.outcome, "recorded_at": r.recorded_at, "by": r.recorded_by}
    return latest


def check_extension(conn: sa.Connection, proposal_id: int) -> None:
    """Refuse an extension unless COA and the municipality both recorded a positive evaluation (latest counts)."""
    latest = current_evaluations(conn, proposal_id)
    missing = [
        f"{party} has {'recorded a negative evaluation' if party in latest else 'recorded no evaluation'}"
        for party in PARTIES
        if latest.get(party, {}).get("outcome") != "positive"
    ]
    if missing:
        raise ConflictError(
            "an extension needs a positive evaluation recorded by both COA and the municipality "
            f"(since the last extension): {'; '.join(missing)} (POST /proposals/{proposal_id}/evaluations)"
        )


def check_transition(conn: sa.Connection, proposal_id: int, target: str) -> None:
    """Refuse ``evaluated`` without an evaluation record (since the last extension)."""
    if target == "evaluated" and not current_evaluations(conn, proposal_id):
        raise ConflictError(
            f"a pilot becomes evaluated only with an evaluation on record: record one first "
            f"(POST /proposals/{proposal_id}/evaluations)"
        )


def check_events(conn: sa.Connection, proposal_id: int, events: list[tuple[str, dict]]) -> None:
    """The state machine's hook: check a change's events (``("status", {"to_status": ...})``, ``("extension", ...)``)
    against these rules before the change is written."""
    for kind, values in events:
        if kind == "extension":
            check_extension(conn, proposal_id)
        elif kind == "status":
            check_transition(conn, proposal_id, values.get("to_status"))


def record_evaluation(
    conn: sa.Connection, who, proposal_id: int, outcome: str, summary: str, *, party: str | None, source: str | None
) -> int:
    """Record a party's judgement of an active (or evaluated) pilot; returns its id.

    A municipality key records the municipality's judgement of its own pilot, a coa key COA's; an admin key names
    the party.
    """
    pilot(conn, proposal_id, who, write=True)
    own = {"municipality": "municipality", "coa": "coa"}.get(who.role)
    if own and party not in (None, own):
        raise PermissionDenied(f"a {who.role} key records the {own} evaluation, not the {party} one")
    party = party or own
    if party not in PARTIES:
        raise InputError(f"party: name the party whose evaluation this is ({' or '.join(PARTIES)})")
    if outcome not in OUTCOMES:
        raise InputError(f"outcome: {' or '.join(OUTCOMES)}, got {str(outcome)[:20]!r}")
    if not summary or not summary.strip():
        raise InputError("summary: say what the evaluation found")
    return conn.execute(
        sa.insert(PilotEvaluation)
        .values(
            proposal_id=proposal_id,
            party=party,
            outcome=outcome,
            summary=summary.strip(),
            source=source,
            recorded_by=label(who),
        )
        .returning(PilotEvaluation.id)
    ).scalar_one()


def evaluations(conn: sa.Connection, who, proposal_id: int) -> list[dict]:
    pilot(conn, proposal_id, who)
    rows = conn.execute(
        sa.select(PilotEvaluation.__table__)
        .where(PilotEvaluation.proposal_id == proposal_id)
        .order_by(PilotEvaluation.id)
    )
    current = {v["id"] for v in current_evaluations(conn, proposal_id).values()}
    return [
        {
            "id": r.id,
            "party": r.party,
            "outcome": r.outcome,
            "summary": r.summary,
            "source": r.source,
            "recorded_by": r.recorded_by,
            "recorded_at": r.recorded_at,
            "current": r.id in current,
        }
        for r in rows
    ]
