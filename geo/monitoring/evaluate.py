"""The evaluation of pilots: the four dimensions side by side, per period and over the pilot's run, against the
portfolio median and the regular-place cost reference. Missing periods and values stay missing (NaN), never zero.

Headline indicators (each computed only from recorded values):

- costs: ``cost_per_place_year`` = operating costs / occupied place-years (residents x days / 365.25), and
  ``cost_vs_reference`` = that / the reference (EUR 27,100 per regular place per year in 2022 by default; the
  reference is in its own year's prices and is not indexed, which the result says);
- support: ``signals_per_10_residents`` = (complaints + incidents) per 10 residents per period; ``survey_support``;
- integration: ``course_share`` = residents in language or civic-integration courses / residents;
- return: ``unknown_departure_share`` = departures to an unknown destination / all departures.

The traffic lights (:data:`LIGHTS`) are indicative thresholds for a glance at the map, not the evaluation's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.errors import ConflictError
from geo.models import Proposal
from geo.monitoring.indicators import CORE, DEPARTURE_KINDS, EVALUATED, CostReference, period, periods_between
from geo.monitoring.lifecycle import current_evaluations, end_warning, months_left
from geo.monitoring.models import MonitoringValue
from geo.monitoring.records import PILOT_COLUMNS
from geo.monitoring.records import pilot as visible_pilot

PILOT_STATUSES = ("active", "evaluated")
DAYS_PER_YEAR = 365.25
HEADLINE = {
    "costs": "cost_per_place_year",
    "support": "signals_per_10_residents",
    "integration": "course_share",
    "return": "unknown_departure_share",
}
# dimension: (indicator, better when "lower" or "higher", green up to / from, amber up to / from)
LIGHTS = {
    "costs": ("cost_vs_reference", "lower", 1.0, 1.25),
    "support": ("signals_per_10_residents", "lower", 0.5, 1.5),
    "integration": ("course_share", "higher", 0.5, 0.25),
    "return": ("unknown_departure_share", "lower", 0.10, 0.25),
}
PERIOD_COLUMNS = [
    "period",
    "recorded",
    "residents",
    "capacity",
    "occupancy_rate",
    "operating_costs",
    "cost_per_place_year",
    "cost_vs_reference",
    "complaints",
    "incidents",
    "signals_per_10_residents",
    "neighbourhood_meetings",
    "volunteers",
    "survey_support",
    "in_language_courses",
    "course_share",
    "children_in_school",
    "adults_in_work",
    "departures",
    *[f"departures_{k}" for k in DEPARTURE_KINDS],
    "unknown_departure_share",
    "standards_checked",
    "standards_met",
]
TREND_TOLERANCE = 0.05  # a relative change below 5 % is "stable"


@dataclass
class Evaluation:
    """Pilots' evaluation: per-period tables, one summary row per pilot, the portfolio median, notes."""

    as_of: date
    reference: CostReference
    summary: pd.DataFrame  # one row per pilot
    periods: dict[int, pd.DataFrame]  # per pilot: one row per expected or recorded period
    median: dict[str, float | None]
    notes: list[str] = field(default_factory=list)


def _read(conn: sa.Connection, who, proposal_id: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    where = [Proposal.status.in_(PILOT_STATUSES), Proposal.start_date.is_not(None)]
    if proposal_id is not None:
        where.append(Proposal.id == proposal_id)
    if who.role == "municipality":
        where.append(Proposal.municipality_code == who.municipality_code)
    pilots = pd.DataFrame(
        conn.execute(sa.select(*PILOT_COLUMNS).where(*where).order_by(Proposal.id)).mappings().all(),
        columns=[c.key for c in PILOT_COLUMNS],
    )
    values = pd.DataFrame(
        conn.execute(
            sa.select(
                MonitoringValue.proposal_id,
                MonitoringValue.period,
                MonitoringValue.indicator,
                MonitoringValue.breakdown,
                MonitoringValue.value,
            ).where(MonitoringValue.proposal_id.in_([int(i) for i in pilots.id]))
        )
        .mappings()
        .all(),
        columns=["proposal_id", "period", "indicator", "breakdown", "value"],
    )
    return pilots, values


def _ratio(a, b):
    """a / b, NaN where either is missing or b is zero (undefined, not zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(a, dtype=float) / np.asarray(b, dtype=float)
    return np.where(np.isfinite(out), out, np.nan)


def _period_table(pilot: pd.Series, values: pd.DataFrame, as_of: date, reference: CostReference) -> pd.DataFrame:
    """One row per expected period (ended by ``as_of``) and per recorded period; unrecorded figures are NaN."""
    kind = "month" if len(values) and "Q" not in values.period.iloc[0] else "quarter"
    last = min(pilot.end_date, as_of) if pilot.end_date else as_of
    expected = [p for p in periods_between(pilot.start_date, last, kind) if p.end <= as_of]
    labels = sorted({p.label for p in expected} | set(values.period), key=lambda lab: period(lab).start)
    rows = []
    for lab in labels:
        v = values[values.period == lab]

        def total(indicator, breakdown=None, v=v):
            sel = v[(v.indicator == indicator) & ((v.breakdown == breakdown) if breakdown else True)]
            return float(sel.value.sum()) if len(sel) else np.nan

        def mean(indicator, v=v):
            sel = v[v.indicator == indicator]
            return float(sel.value.mean()) if len(sel) else np.nan

        days = period(lab).days
        row = {"period": lab, "recorded": len(v) > 0, "capacity": float(pilot.capacity or np.nan)}
        for name in ("residents", "operating_costs", "complaints", "incidents", "neighbourhood_meetings"):
            row[name] = total(name)
        for name in ("volunteers", "in_language_courses", "children_in_school", "adults_in_work", "departures"):
            row[name] = total(name)
        for kind_ in DEPARTURE_KINDS:
            row[f"departures_{kind_}"] = total("departures", kind_)
        row["survey_support"] = mean("survey_support")
        checks = v[v.indicator == "standard_met"]
        row["standards_checked"] = float(len(checks)) if len(checks) else np.nan
        row["standards_met"] = float(checks.value.sum()) if len(checks) else np.nan
        row["occupancy_rate"] = float(_ratio(row["residents"], row["capacity"]))
        place_years = row["residents"] * days / DAYS_PER_YEAR
        row["place_years"] = place_years
        row["cost_per_place_year"] = float(_ratio(row["operating_costs"], place_years))
        row["cost_vs_reference"] = row["cost_per_place_year"] / reference.eur_per_place_year
        row["signals_per_10_residents"] = float(_ratio((row["complaints"] + row["incidents"]) * 10, row["residents"]))
        row["course_share"] = float(_ratio(row["in_language_courses"], row["residents"]))
        row["unknown_departure_share"] = float(_ratio(row["departures_unknown"], row["departures"]))
        row["core_present"] = sum(
            bool(((v.indicator == ind) & ((v.breakdown == b) if b else True)).any()) for ind, b in CORE
        )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*PERIOD_COLUMNS, "place_years", "core_present"])
    frame["expected"] = frame.period.isin({p.label for p in expected})
    return frame


def _trend(series: pd.Series) -> str | None:
    known = series.dropna()
    if len(known) < 2:
        return None
    first, last = float(known.iloc[0]), float(known.iloc[-1])
    scale = max(abs(first), abs(last), 1e-9)
    if abs(last - first) / scale < TREND_TOLERANCE:
        return "stable"
    return "rising" if last > first else "falling"


def light(dimension: str, value: float | None) -> str:
    """``green``, ``amber``, ``red`` or ``missing`` for a dimension's light indicator."""
    _, better, good, fair = LIGHTS[dimension]
    if value is None or not np.isfinite(value):
        return "missing"
    if better == "lower":
        return "green" if value <= good else "amber" if value <= fair else "red"
    return "green" if value >= good else "amber" if value >= fair else "red"


def _pilot_summary(pilot: pd.Series, table: pd.DataFrame, as_of: date, reference: CostReference) -> dict:
    both = table.dropna(subset=["operating_costs", "place_years"])
    place_years = both.place_years.sum()
    cost = float(both.operating_costs.sum() / place_years) if len(both) and place_years > 0 else np.nan
    deps = table.dropna(subset=["departures", "departures_unknown"])
    checked = table.standards_checked.sum(min_count=1)
    expected = table[table.expected]
    out = {
        "id": int(pilot.id),
        "title": pilot.title,
        "municipality_code": pilot.municipality_code,
        "target_group": pilot.target_group,
        "capacity": pilot.capacity,
        "status": pilot.status,
        "start_date": pilot.start_date,
        "end_date": pilot.end_date,
        "extended": bool(pilot.extended),
        "months_left": months_left(pilot.end_date, as_of) if pilot.status == "active" else None,
        "warning": end_warning(pilot.status, pilot.end_date, as_of),
        "periods_expected": len(expected),
        "periods_recorded": int(table.recorded.sum()),
        "periods_missing": [p for p, r in zip(expected.period, expected.recorded, strict=True) if not r],
        "completeness": (float(expected.core_present.sum() / (len(expected) * len(CORE))) if len(expected) else None),
        "occupancy_rate": float(table.occupancy_rate.mean()) if table.occupancy_rate.notna().any() else np.nan,
        "cost_per_place_year": cost,
        "cost_vs_reference": cost / reference.eur_per_place_year,
        "signals_per_10_residents": float(table.signals_per_10_residents.mean()),
        "survey_support": float(table.survey_support.dropna().iloc[-1])
        if table.survey_support.notna().any()
        else np.nan,
        "course_share": float(table.course_share.mean()),
        "unknown_departure_share": (
            float(_ratio(deps.departures_unknown.sum(), deps.departures.sum())) if len(deps) else np.nan
        ),
        "standards_met_share": float(_ratio(table.standards_met.sum(min_count=1), checked)),
    }
    for dim, column in HEADLINE.items():
        out[f"{dim}_trend"] = _trend(table[column])
    for dim in EVALUATED:
        out[f"{dim}_light"] = light(dim, out[LIGHTS[dim][0]])
    return out


def evaluate(
    conn: sa.Connection,
    who,
    *,
    as_of: date | None = None,
    reference: CostReference | None = None,
    proposal_id: int | None = None,
) -> Evaluation:
    """Evaluate the pilots the caller may see (one with ``proposal_id``, else the portfolio).

    The portfolio median is taken over every visible pilot even when one is asked for, so a pilot is always compared
    with the same median.
    """
    as_of = as_of or date.today()
    reference = reference or CostReference()
    pilots, values = _read(conn, who, None)
    if proposal_id is not None and proposal_id not in set(pilots.id):
        row = visible_pilot(conn, proposal_id, who)  # not visible: NotFoundError; else it is not a pilot yet
        raise ConflictError(f"proposal {proposal_id} is {row['status']}, not an active or evaluated pilot with a start")
    tables, rows = {}, []
    for _, p in pilots.iterrows():
        table = _period_table(p, values[values.proposal_id == p.id], as_of, reference)
        tables[int(p.id)] = table
        rows.append(_pilot_summary(p, table, as_of, reference))
    summary = pd.DataFrame(rows)
    median = {}
    for column in ("cost_per_place_year", "cost_vs_reference", *HEADLINE.values(), "occupancy_rate"):
        known = summary[column].dropna() if len(summary) else pd.Series(dtype=float)
        median[column] = float(known.median()) if len(known) else None
        if len(summary):
            summary[f"{column}_vs_median"] = summary[column] - (
                median[column] if median[column] is not None else np.nan
            )
    if len(summary):
        agreed = []
        for pid in summary.id:
            latest = current_evaluations(conn, int(pid))
            agreed.append(", ".join(f"{party} {v['outcome']}" for party, v in sorted(latest.items())) or None)
        summary["evaluations"] = agreed
        for column in ("warning", "evaluations", *(f"{d}_trend" for d in HEADLINE)):
            summary[column] = summary[column].astype(object).where(summary[column].notna(), None)  # text, not NaN
    notes = [
        f"cost reference: EUR {reference.eur_per_place_year:,.0f} per regular place per year ({reference.year} prices, "
        f"not indexed; source: {reference.source})",
        "missing periods and values are shown as missing, never as zero; a ratio with a missing or zero denominator "
        "is missing",
        "traffic lights are indicative thresholds for a glance (geo/monitoring/evaluate.py LIGHTS), not a verdict",
        f"portfolio median over {len(summary)} visible pilot(s)",
    ]
    if proposal_id is not None:
        tables = {proposal_id: tables[proposal_id]}
    return Evaluation(as_of, reference, summary, tables, median, notes)


TRADE_OFF_COLUMNS = [
    "id",
    "municipality_code",
    "status",
    "cost_per_place_year",
    "cost_vs_reference",
    "course_share",
    "signals_per_10_residents",
    "unknown_departure_share",
    "occupancy_rate",
    "completeness",
    *[f"{d}_light" for d in EVALUATED],
]


def trade_offs(result: Evaluation) -> pd.DataFrame:
    """The figures the evaluation weighs against each other, one row per pilot, cheapest first."""
    if result.summary.empty:
        return pd.DataFrame(columns=TRADE_OFF_COLUMNS)
    return result.summary[TRADE_OFF_COLUMNS].sort_values(["cost_per_place_year", "id"], na_position="last")
