"""What a monitoring record may hold: indicators, their breakdowns and bounds, periods, and the cost reference.

One place for these rules: the API, the CSV import and the evaluation all read them from here.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date

from geo.domain import TARGET_GROUPS
from geo.errors import ConfigError, InputError

DIMENSIONS = ("occupancy", "costs", "support", "integration", "return", "standards")
EVALUATED = ("support", "integration", "return", "costs")
"""The four dimensions the WODC weighs against each other (occupancy and standards are context)."""

SIGNAL_KINDS = ("nuisance", "safety", "property", "other")
DEPARTURE_KINDS = ("housed_with_permit", "voluntary_return", "forced_return", "moved", "unknown")
CHAIN_PARTNERS = ("VluchtelingenWerk", "IND", "DT&V")
STANDARDS = ("safety", "health", "education_guidance")
PARTIES = ("coa", "municipality")
OUTCOMES = ("positive", "negative")


@dataclass(frozen=True)
class Indicator:
    dimension: str
    meaning: str
    breakdowns: tuple[str, ...] = ("",)
    count: bool = True  # a whole number of people, events, meetings
    maximum: float = 100_000
    partner: bool = False  # may name the chain partner responsible


INDICATORS: dict[str, Indicator] = {
    "residents": Indicator("occupancy", "residents on the period's reference date (its last day)", TARGET_GROUPS),
    "operating_costs": Indicator("costs", "operating costs for the period, EUR", count=False, maximum=1e9),
    "complaints": Indicator("support", "complaints from the neighbourhood in the period", SIGNAL_KINDS),
    "incidents": Indicator("support", "incidents in or around the location in the period", SIGNAL_KINDS),
    "neighbourhood_meetings": Indicator("support", "neighbourhood meetings held in the period"),
    "volunteers": Indicator("support", "volunteers active in the period"),
    "survey_support": Indicator(
        "support", "share in favour in a council or resident survey, percent", ("council", "residents"), False, 100
    ),
    "in_language_courses": Indicator("integration", "residents in language or civic-integration courses"),
    "children_in_school": Indicator("integration", "children enrolled in school"),
    "adults_in_work": Indicator("integration", "adults in work or volunteering", ("work", "volunteering")),
    "departures": Indicator("return", "departures in the period by kind", DEPARTURE_KINDS, partner=True),
    "standard_met": Indicator("standards", "minimum standard checked and met (1) or not met (0)", STANDARDS, True, 1),
}

# The expected core of every period: data completeness counts these (indicator, breakdown or None = any).
CORE = (
    ("residents", None),
    ("operating_costs", None),
    ("complaints", None),
    ("incidents", None),
    ("in_language_courses", None),
    ("departures", None),
    ("standard_met", "safety"),
    ("standard_met", "health"),
    ("standard_met", "education_guidance"),
)


@dataclass(frozen=True)
class CostReference:
    """The yearly cost of a regular reception place that pilot costs are compared with (configurable)."""

    eur_per_place_year: float = 27_100.0
    year: int = 2022
    source: str = "nieuws.nl 2023-11-28 (COA figure: EUR 27,100 per regular place per year, 2022)"

    @classmethod
    def from_settings(cls, settings) -> CostReference:
        return cls() if not settings.cost_reference else cls.parse(settings.cost_reference)

    @classmethod
    def parse(cls, text: str) -> CostReference:
        """``EUR:YEAR:SOURCE``, e.g. ``27100:2022:COA jaarverslag 2022``."""
        parts = text.split(":", 2)
        if len(parts) != 3 or not parts[2].strip():
            raise ConfigError(f"OPVANGMATCH_COST_REFERENCE must be EUR:YEAR:SOURCE, got {text!r}")
        try:
            eur, year = float(parts[0]), int(parts[1])
        except ValueError as exc:
            raise ConfigError(f"OPVANGMATCH_COST_REFERENCE must be EUR:YEAR:SOURCE, got {text!r}") from exc
        if not (math.isfinite(eur) and eur > 0) or not 1990 <= year <= 2100:
            raise ConfigError(f"OPVANGMATCH_COST_REFERENCE: a positive amount and a plausible year, got {text!r}")
        return cls(eur, year, parts[2].strip())


# --- periods ------------------------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|(0[1-9]|1[0-2]))$")


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    label: str

    @property
    def kind(self) -> str:
        return "quarter" if "Q" in self.label else "month"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(text: str) -> Period:
    """Parse ``2025-Q1`` or ``2025-03``; anything else is an :class:`InputError`."""
    match = _PERIOD.match(str(text).strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise InputError(f"period must be a quarter like 2025-Q1 or a month like 2025-03, got {str(text)[:20]!r}")
    year = int(match.group(1))
    if match.group(2):
        first = 3 * int(match.group(2)) - 2
        last = first + 2
        label = f"{year}-Q{match.group(2)}"
    else:
        first = last = int(match.group(3))
        label = f"{year}-{first:02d}"
    return Period(date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]), label)


def periods_between(start: date, end: date, kind: str) -> list[Period]:
    """Every quarter or month that overlaps ``start``..``end`` (inclusive), in order."""
    out, year = [], start.year
    month = start.month if kind == "month" else 3 * ((start.month - 1) // 3) + 1
    while date(year, month, 1) <= end:
        out.append(period(f"{year}-Q{(month + 2) // 3}" if kind == "quarter" else f"{year}-{month:02d}"))
        month += 1 if kind == "month" else 3
        if month > 12:
            year, month = year + 1, month - 12
    return out


# --- one value ------------------------------------------------------------------------------------------------------


def check_value(indicator: str, breakdown: str | None, value, partner: str | None, source) -> tuple:
    """Validate one figure; returns ``(dimension, indicator, breakdown, value, partner, source)`` normalised.

    Raises :class:`InputError` naming the field (``indicator``, ``breakdown``, ``value``, ``partner``, ``source``).
    """
    spec = INDICATORS.get(str(indicator).strip())
    if spec is None:
        raise FieldError("indicator", f"unknown indicator {str(indicator)[:40]!r}; known: {', '.join(INDICATORS)}")
    indicator = str(indicator).strip()
    breakdown = (breakdown or "").strip()
    if breakdown not in spec.breakdowns:
        wanted = " or ".join(b or "(empty)" for b in spec.breakdowns)
        raise FieldError("breakdown", f"{indicator} needs breakdown {wanted}, got {breakdown[:40]!r}")
    number = _number(value)
    if number < 0 or number > spec.maximum:
        raise FieldError("value", f"{indicator} must lie between 0 and {spec.maximum:g}, got {number:g}")
    if spec.count and number != int(number):
        raise FieldError("value", f"{indicator} is a count: a whole number, got {number:g}")
    partner = (partner or "").strip() or None
    if partner is not None and (not spec.partner or partner not in CHAIN_PARTNERS):
        allowed = f"one of {', '.join(CHAIN_PARTNERS)} or empty" if spec.partner else "empty"
        raise FieldError("partner", f"partner for {indicator} must be {allowed}, got {partner[:40]!r}")
    source = str(source or "").strip()
    if not source or len(source) > 300:
        raise FieldError("source", "every value needs its source (1 to 300 characters)")
    return spec.dimension, indicator, breakdown, number, partner, source


def _number(value) -> float:
    if isinstance(value, bool):
        raise FieldError("value", "a number is needed, not true/false")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise FieldError("value", "empty: leave a value out instead of recording it blank (missing is not zero)")
        try:
            value = float(text)
        except ValueError:
            raise FieldError("value", f"not a number: {text[:30]!r}") from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError("value", f"not a finite number: {str(value)[:30]!r}")
    return float(value)


class FieldError(InputError):
    """An invalid field of one value (the caller adds the row or item it came from)."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")
