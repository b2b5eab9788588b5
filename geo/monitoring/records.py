"""Monitoring records: who may write which pilot's records, writing them (API or CSV), reading them back.

``who`` is any object with ``role`` (viewer, municipality, coa, admin), ``municipality_code`` and ``key`` (a short
label), such as the API's principal or :class:`Actor` for the command line. A municipality writes its own pilots'
records only, COA and admin all; viewers read. A pilot another municipality's key cannot see is answered as not
found, as proposals are.

CSV layout (UTF-8, comma separated, header required, one value per row; see README "Pilot monitoring")::

    proposal_id,period,indicator,breakdown,partner,value,source
    12,2025-Q1,residents,families,,28,COA bewonersregistratie 2025-03-31

Rows are counted from the header (row 1). An import is validated whole before anything is written and is written
in one transaction: any error leaves the database as it was. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from geo.errors import ConflictError, DataError, InputError, NotFoundError, PermissionDenied
from geo.models import Proposal
from geo.monitoring.indicators import FieldError, Period, check_value, period
from geo.monitoring.models import MonitoringValue

PILOT_COLUMNS = (  # what monitoring and evaluation read of a pilot's proposal
    Proposal.id,
    Proposal.title,
    Proposal.municipality_code,
    Proposal.target_group,
    Proposal.capacity,
    Proposal.status,
    Proposal.start_date,
    Proposal.end_date,
    Proposal.extended,
)

RECORDED_STATUSES = ("active", "evaluated")
CSV_COLUMNS = ("proposal_id", "period", "indicator", "breakdown", "partner", "value", "source")
CSV_REQUIRED = ("proposal_id", "period", "indicator", "value", "source")
MAX_ROWS = 100_000


@dataclass(frozen=True)
class Actor:
    """Who acts from the command line (operators with database access act as admin)."""

    role: str = "admin"
    municipality_code: str | None = None
    key: str = "cli"

    @property
    def sees_all(self) -> bool:
        return self.role != "municipality"


def label(who) -> str:
    return f"{who.role}:{who.key}"[:60]


def pilot(conn: sa.Connection, proposal_id: int, who, *, write: bool = False) -> dict:
    """The pilot (proposal) as the key may see it; with ``write`` also checks the key may write its records."""
    row = conn.execute(sa.select(*PILOT_COLUMNS).where(Proposal.id == proposal_id)).mappings().first()
    if row is None or (who.role == "municipality" and row["municipality_code"] != who.municipality_code):
        raise NotFoundError(f"pilot {proposal_id} does not exist (or is not visible to this key)")
    if write:
        if who.role not in ("municipality", "coa", "admin"):
            raise PermissionDenied(f"a {who.role} key reads monitoring records but may not write them")
        if row["status"] not in RECORDED_STATUSES:
            raise ConflictError(
                f"proposal {proposal_id} is {row['status']}: monitoring records are kept for pilots that are active "
                "(or evaluated, to complete their last periods)"
            )
    return dict(row)


def _check_period(row: dict, when: Period) -> None:
    start, end = row["start_date"], row["end_date"]
    if start is None or when.end < start or (end is not None and when.start > end):
        raise FieldError("period", f"{when.label} lies outside pilot {row['id']}'s run ({start} to {end})")


def _granularity(conn: sa.Connection, proposal_id: int) -> str | None:
    first = conn.execute(
        sa.select(MonitoringValue.period).where(MonitoringValue.proposal_id == proposal_id).limit(1)
    ).scalar()
    return None if first is None else ("quarter" if "Q" in first else "month")


def _upsert(conn: sa.Connection, rows: list[dict]) -> int:
    """Insert or update values; a row equal to the stored one is left alone. Returns how many rows changed."""
    if not rows:
        return 0
    stmt = insert(MonitoringValue).values(rows)
    changed = (
        (MonitoringValue.value != stmt.excluded.value)
        | (MonitoringValue.source != stmt.excluded.source)
        | MonitoringValue.partner.is_distinct_from(stmt.excluded.partner)
    )
    stmt = stmt.on_conflict_do_update(
        constraint="uq_monitoring_value",
        set_={
            "value": stmt.excluded.value,
            "source": stmt.excluded.source,
            "partner": stmt.excluded.partner,
            "entered_by": stmt.excluded.entered_by,
            "entered_at": sa.func.now(),
        },
        where=changed,
    )
    return len(conn.execute(stmt.returning(MonitoringValue.id)).all())


def _value_row(pilot_row: dict, when: Period, item: dict, who_label: str) -> dict:
    dimension, indicator, breakdown, value, partner, source = check_value(
        item.get("indicator"), item.get("breakdown"), item.get("value"), item.get("partner"), item.get("source")
    )
    return {
        "proposal_id": pilot_row["id"],
        "period": when.label,
        "period_start": when.start,
        "period_end": when.end,
        "dimension": dimension,
        "indicator": indicator,
        "breakdown": breakdown,
        "partner": partner,
        "value": value,
        "source": source,
        "entered_by": who_label,
    }


def _check_kinds(conn: sa.Connection, rows: list[dict], where) -> None:
    """One pilot keeps one period kind (quarters or months), so periods never overlap in the evaluation."""
    kinds: dict[int, str] = {}
    for n, row in enumerate(rows):
        kind = "quarter" if "Q" in row["period"] else "month"
        known = kinds.get(row["proposal_id"]) or _granularity(conn, row["proposal_id"])
        if known and known != kind:
            raise where(n, "period", f"pilot {row['proposal_id']} is monitored per {known}; {row['period']} is not one")
        kinds[row["proposal_id"]] = known or kind


def record(conn: sa.Connection, who, proposal_id: int, period_text: str, values: Iterable[dict]) -> int:
    """Write one period's values for a pilot (each a dict of indicator, breakdown, partner, value, source).

    Errors name the value: ``values[2].value: ...``. Returns how many values were written or changed.
    """
    row = pilot(conn, proposal_id, who, write=True)
    try:
        when = period(period_text)
        _check_period(row, when)
    except FieldError as exc:
        raise InputError(f"period: {exc.problem}") from None
    except InputError as exc:
        raise InputError(f"period: {exc}") from None
    rows, seen = [], {}
    for n, item in enumerate(values):
        try:
            value_row = _value_row(row, when, item, label(who))
        except FieldError as exc:
            raise InputError(f"values[{n}].{exc.field}: {exc.problem}") from None
        key = (value_row["indicator"], value_row["breakdown"])
        if key in seen:
            raise InputError(f"values[{n}]: {key[0]} {key[1]} is given twice (also values[{seen[key]}])".strip())
        seen[key] = n
        rows.append(value_row)
    if not rows:
        raise InputError("values: give at least one value")

    def where(n, field, problem):
        return InputError(f"values[{n}].{field}: {problem}")

    _check_kinds(conn, rows, where)
    return _upsert(conn, rows)


def read(conn: sa.Connection, who, proposal_id: int, period_text: str | None = None) -> dict:
    """A pilot's records per period (each value with source, who entered it and when)."""
    row = pilot(conn, proposal_id, who)
    query = sa.select(MonitoringValue.__table__).where(MonitoringValue.proposal_id == proposal_id)
    if period_text:
        query = query.where(MonitoringValue.period == period(period_text).label)
    query = query.order_by(
        MonitoringValue.period_start, MonitoringValue.dimension, MonitoringValue.indicator, MonitoringValue.breakdown
    )
    periods: dict[str, dict] = {}
    for v in conn.execute(query):
        entry = periods.setdefault(
            v.period, {"period": v.period, "start": v.period_start, "end": v.period_end, "values": []}
        )
        entry["values"].append(
            {
                "dimension": v.dimension,
                "indicator": v.indicator,
                "breakdown": v.breakdown,
                "partner": v.partner,
                "value": v.value,
                "source": v.source,
                "entered_by": v.entered_by,
                "entered_at": v.entered_at,
            }
        )
    return {"pilot": row, "periods": list(periods.values())}


# --- CSV import -----------------------------------------------------------------------------------------------------


def parse_csv(data: bytes | str, name: str) -> list[tuple[int, dict]]:
    """Rows of a monitoring CSV as ``(row number, fields)``; layout errors name the file, row and field."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(name, f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(data, newline=""), strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise DataError(name, f"not a readable CSV ({exc})", row=1) from None
    if not header:
        raise DataError(name, "empty file: a header row is needed (" + ",".join(CSV_COLUMNS) + ")")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise DataError(name, f"unknown column {unknown[0][:40]!r}; columns are {', '.join(CSV_COLUMNS)}", row=1)
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise DataError(name, f"column {missing[0]!r} is missing", row=1, field=missing[0])
    if len(set(header)) != len(header):
        raise DataError(name, "a column name appears twice", row=1)
    reader.fieldnames = header
    rows = []
    try:
        for fields in reader:
            if None in fields:
                raise DataError(
                    name, f"{len(header) + len(fields[None])} fields, the header has {len(header)}", row=reader.line_num
                )
            if not any((v or "").strip() for v in fields.values()):
                continue
            rows.append((reader.line_num, fields))
            if len(rows) > MAX_ROWS:
                raise DataError(name, f"more than {MAX_ROWS:,} rows; split the file")
    except csv.Error as exc:
        raise DataError(name, f"not a readable CSV ({exc})", row=reader.line_num) from None
    if not rows:
        raise DataError(name, "no data rows after the header")
    return rows


def import_csv(conn: sa.Connection, who, data: bytes | str, name: str) -> dict:
    """Validate every row of a monitoring CSV, then write them all (upsert). Run inside a transaction.

    Raises :class:`DataError` naming the file, row and field of the first problem (and how many rows have one)
    before anything is written. Returns counts: rows read, values written or changed, values already so.
    """
    rows = parse_csv(data, name)
    pilots: dict[int, dict | Exception] = {}
    out, errors, seen = [], [], {}
    for line, fields in rows:
        try:
            proposal_id = _proposal_id(fields.get("proposal_id"))
            if proposal_id not in pilots:
                try:
                    pilots[proposal_id] = pilot(conn, proposal_id, who, write=True)
                except (NotFoundError, PermissionDenied, ConflictError) as exc:
                    pilots[proposal_id] = exc
            found = pilots[proposal_id]
            if isinstance(found, Exception):
                raise FieldError("proposal_id", str(found))
            try:
                when = period(fields.get("period") or "")
            except InputError as exc:
                raise FieldError("period", str(exc)) from None
            _check_period(found, when)
            value_row = _value_row(found, when, fields, label(who))
        except FieldError as exc:
            errors.append(DataError(name, exc.problem, row=line, field=exc.field))
            continue
        key = (value_row["proposal_id"], value_row["period"], value_row["indicator"], value_row["breakdown"])
        if key in seen:
            errors.append(
                DataError(
                    name,
                    f"the same value as row {seen[key]} (pilot, period, indicator, breakdown)",
                    row=line,
                    field="indicator",
                )
            )
            continue
        seen[key] = line
        out.append((line, value_row))

    if not errors:
        lines = [line for line, _ in out]

        def where(n, field, problem):
            return DataError(name, problem, row=lines[n], field=field)

        try:
            _check_kinds(conn, [r for _, r in out], where)
        except DataError as exc:
            errors.append(exc)
    if errors:
        first = errors[0]
        more = (
            f" ({len(errors) - 1} more row(s) with errors; nothing was imported)"
            if len(errors) > 1
            else (" (nothing was imported)")
        )
        raise DataError(name, first.problem + more, row=first.row, field=first.field)
    changed = _upsert(conn, [r for _, r in out])
    return {"rows": len(rows), "written": changed, "unchanged": len(out) - changed}


def _proposal_id(text) -> int:
    try:
        value = int(str(text or "").strip())
    except ValueError:
        raise FieldError("proposal_id", f"not a proposal id: {str(text)[:20]!r}") from None
    if not 1 <= value <= 2_147_483_647:
        raise FieldError("proposal_id", f"not a proposal id: {value}")
    return value
