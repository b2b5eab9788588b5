"""The regional placement task (Spreidingswet): required, realised, pipeline and gap per region.

Official figures (the ``placement_task`` table) are never replaced. Where a province or municipality has no
official figure for the period, it is computed from population shares with largest-remainder rounding, so that

* provinces add up exactly to the national total (official provinces keep their figure; the rest of the
  national total is split over the other provinces), and
* municipalities add up exactly to their province's figure (official municipal figures are taken out first; the
  rest is split over the remaining municipalities).

Every figure says where it came from (``required_basis`` and ``required_source``). Periods are kept apart: a
figure of period ``2025-07`` never stands in for one of period ``2024``.

Examples
--------
>>> tasks = placement_tasks(engine, settings.task_period)  # doctest: +SKIP
>>> tasks.query("level == 'province'")[["name", "required", "gap"]]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import DataError, InputError, NotFoundError
from geo.proposals import pipeline_places
from geo.reception import UNDATED, counting_sites, places_by_municipality
from geo.reconcile import LOW_COVERAGE


@dataclass(frozen=True)
class NationalTotal:
    """The national number of places of one task period, where that number was published, and the period's
    reference date (the day on which reception sites must be open to count as realised)."""

    places: int
    source: str
    reference_date: date | None = None


NATIONAL_TOTALS: dict[str, NationalTotal] = {
    "2024": NationalTotal(
        96_000,
        "capaciteitsraming of 31 Jan 2024 (96,000 places), cited in data/spreidingswet/provinciale_opgave_2024.csv "
        "(Groningen row): https://www.oogtv.nl/2024/01/groningen-hoeft-niet-meer-asielzoekers-op-te-vangen/",
        date(2024, 2, 1),  # the Spreidingswet in force (DESIGN.md section 1)
    ),
}
"""National totals per task period. The only place the 96,000 lives."""


def reference_date(period: str, on: date | None = None) -> date:
    """The task's reference date: ``on`` when given, else the period's (:data:`NATIONAL_TOTALS`), else the first
    day of the period as written (``2025-07`` -> 1 July 2025, ``2026`` -> 1 January 2026).

    Only reception sites valid on this date count as realised (:mod:`geo.reception`)."""
    if on is not None:
        return on
    known = NATIONAL_TOTALS.get(period)
    if known is not None and known.reference_date is not None:
        return known.reference_date
    match = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", period.strip())
    if not match:
        raise InputError(f"period {period!r} has no reference date; give one (YYYY-MM-DD)")
    return date(int(match[1]), int(match[2] or 1), 1)


COLUMNS = [
    "region_code",
    "level",
    "name",
    "province_code",
    "population",
    "required",
    "required_basis",
    "required_source",
    "realised",
    "undated",
    "pipeline",
    "gap",
    "reported_places",
    "realised_coverage",
    "coverage_note",
]


def national_total_of(period: str, given: int | None = None) -> NationalTotal:
    """The national total of a period: the given number, else the published one in :data:`NATIONAL_TOTALS`."""
    if given is not None:
        if int(given) < 0:
            raise InputError(f"national total must be a non-negative number of places, got {given}")
        return NationalTotal(int(given), "national total given by the caller")
    if period not in NATIONAL_TOTALS:
        known = ", ".join(sorted(NATIONAL_TOTALS))
        raise InputError(f"no published national total for period {period!r} (known: {known}); give the national total")
    return NATIONAL_TOTALS[period]


def largest_remainder(total: int, weights, keys) -> np.ndarray:
    """Split ``total`` whole places over items in proportion to integer ``weights``; the parts sum to ``total``.

    Each item gets the floor of its exact quota; the places left go one each to the largest remainders, ties
    broken by ``keys`` ascending. Exact integer arithmetic, so the result is deterministic.

    Examples
    --------
    >>> largest_remainder(10, [1, 1, 1], ["a", "b", "c"]).tolist()
    [4, 3, 3]
    """
    weights = [int(w) for w in weights]
    keys = list(keys)
    if total < 0:
        raise InputError(f"cannot split a negative number of places ({total})")
    if not weights:
        if total:
            raise InputError(f"cannot split {total} places over no regions")
        return np.zeros(0, dtype=np.int64)
    if any(w < 0 for w in weights):
        raise InputError("population weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total:
            raise InputError(f"cannot split {total} places by population: the regions have no population")
        return np.zeros(len(weights), dtype=np.int64)
    floors = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], keys[i]))
    for i in order[:left]:
        floors[i] += 1
    return np.asarray(floors, dtype=np.int64)


def _regions(conn) -> tuple[pd.DataFrame, pd.DataFrame]:
    municipalities = pd.read_sql(
        sa.text(
            "SELECT m.code AS region_code, m.name, mp.province_code, coalesce(m.population, 0) AS population "
            "FROM municipality m LEFT JOIN municipality_province mp ON mp.municipality_code = m.code "
            "ORDER BY m.code"
        ),
        conn,
    )
    if municipalities.empty:
        raise NotFoundError("no municipalities loaded; run 'opvangmatch load demo' (or load municipalities)")
    orphans = municipalities[municipalities.province_code.isna()]
    if not orphans.empty:
        raise DataError(
            "municipality_province",
            f"{len(orphans)} municipalities have no province (e.g. {orphans.region_code.iloc[0]}); "
            "load the CBS gemeentelijke indeling of the same year",
        )
    provinces = pd.read_sql(sa.text("SELECT code AS region_code, name FROM province ORDER BY code"), conn)
    if provinces.empty:
        raise NotFoundError("no provinces loaded; run 'opvangmatch load demo' (or load provinces)")
    missing = sorted(set(municipalities.province_code) - set(provinces.region_code))
    if missing:
        raise DataError("province", f"provinces {', '.join(missing)} are named by municipalities but not loaded")
    population = municipalities.groupby("province_code").population.sum()
    provinces["population"] = provinces.region_code.map(population).fillna(0).astype(np.int64)
    provinces["province_code"] = provinces.region_code
    return provinces, municipalities


def _official(conn, period: str) -> pd.DataFrame:
    return pd.read_sql(
        sa.text(
            "SELECT region_code, level, places, source_url, notes FROM placement_task "
            "WHERE period = :period AND basis = 'official' ORDER BY region_code"
        ),
        conn,
        params={"period": period},
    )


def realised_places(engine, on: date) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Existing reception places per municipality code on the date ``on``, the places of undated rows per code, and
    the rows that were not counted (with the reason).

    The rule is :func:`geo.reception.site_status` (open, with a capacity, valid on ``on``). A row is matched by
    ``municipality_code``, else by CBS name, else by a unique alias (:mod:`geo.names`); unmatched or ambiguous rows
    are listed, not counted.
    """
    rows = counting_sites(engine, on)
    unmatched = rows.municipality_code.isna() & rows.status.isin(["counted", UNDATED])
    reason = rows.reason.where(~unmatched, rows.match_note)
    aliased = reason.notna() & rows.municipality_code.notna() & rows.match_note.notna()
    reason = reason.where(~aliased, reason + " (" + rows.match_note + ")")
    rows = rows.assign(reason=reason)
    skipped = rows[rows.reason.notna()][
        ["id", "name", "municipality_name", "kind", "capacity", "valid_from", "valid_until", "status", "reason"]
    ].astype(object)
    skipped = skipped.where(skipped.notna(), None)
    return places_by_municipality(rows), places_by_municipality(rows, UNDATED), skipped.reset_index(drop=True)


def _fill(regions: pd.DataFrame, official: pd.DataFrame, total: int, computed_source: str) -> pd.DataFrame:
    """Official figures where known; the rest of ``total`` split over the others by population."""
    known = official.set_index("region_code")
    is_official = regions.region_code.isin(known.index).to_numpy()
    required = np.zeros(len(regions), dtype=np.int64)
    source = np.full(len(regions), "", dtype=object)
    codes = regions.region_code[is_official]
    required[is_official] = codes.map(known.places).to_numpy(dtype=np.int64)
    source[is_official] = codes.map(known.source_url).fillna("official (no source address)").to_numpy()
    rest = max(total - int(required[is_official].sum()), 0)
    others = regions[~is_official]
    if not others.empty:
        required[~is_official] = largest_remainder(rest, others.population, others.region_code)
        source[~is_official] = computed_source.format(rest=rest, n=len(others))
    return regions.assign(
        required=required, required_basis=np.where(is_official, "official", "computed"), required_source=source
    )


def placement_tasks(
    engine, period: str = DEFAULT_TASK_PERIOD, *, national_total: int | None = None, on: date | None = None
) -> pd.DataFrame:
    """The placement task of every province and municipality in a period.

    Parameters
    ----------
    engine : SQLAlchemy engine of a loaded database.
    period : task period, as in ``placement_task.period`` (e.g. ``'2024'``).
    national_total : national number of places; default the published figure of the period
        (:data:`NATIONAL_TOTALS`).
    on : reference date for realised places; default the period's (:func:`reference_date`).

    Returns
    -------
    DataFrame with one row per province and per municipality and the columns :data:`COLUMNS`. ``gap`` is
    ``required - realised - pipeline`` and may be negative; ``undated`` holds the places of open reception rows
    whose validity on the reference date is not known (not in ``realised``). ``attrs`` holds the report: ``period``,
    ``reference_date``,
    ``national_total``, ``national_total_source``, ``reference_share``, ``notes`` (discrepancies, such as
    official province figures that do not add up to the national total), ``skipped_reception`` (rows not
    counted as realised, with the reason) and ``unknown_official`` (official figures of regions not loaded).
    """
    period = str(period).strip()
    if not period:
        raise InputError("period must not be empty")
    nat = national_total_of(period, national_total)
    on = reference_date(period, on)
    with engine.connect() as conn:
        provinces, municipalities = _regions(conn)
        official = _official(conn, period)
    notes: list[str] = []

    prov_official = official[official.level == "province"]
    mun_official = official[official.level == "municipality"]
    unknown = pd.concat(
        [
            prov_official[~prov_official.region_code.isin(provinces.region_code)],
            mun_official[~mun_official.region_code.isin(municipalities.region_code)],
        ]
    )
    if not unknown.empty:
        notes.append(f"official figures of regions not loaded, left out: {', '.join(unknown.region_code)}")

    prov = _fill(
        provinces,
        prov_official,
        nat.places,
        f"computed: national total {nat.places:,} minus the official province figures = {{rest:,}} places, "
        "split over {n} province(s) by population share (largest remainder)",
    )
    official_sum = int(prov.loc[prov.required_basis == "official", "required"].sum())
    if official_sum > nat.places:
        notes.append(
            f"the official province figures add up to {official_sum:,}, {official_sum - nat.places:,} more than "
            f"the national total {nat.places:,}; they are kept as published"
            + ("; the other provinces get 0" if (prov.required_basis == "computed").any() else "")
        )
    elif (prov.required_basis == "computed").sum() == 0 and official_sum != nat.places:
        notes.append(
            f"the official province figures add up to {official_sum:,}, not the national total {nat.places:,}; "
            "they are kept as published"
        )

    parts = []
    for code, members in municipalities.groupby("province_code", sort=True):
        figure = int(prov.loc[prov.region_code == code, "required"].iloc[0])
        mine = mun_official[mun_official.region_code.isin(members.region_code)]
        filled = _fill(
            members,
            mine,
            figure,
            f"computed: {code} figure {figure:,} minus the official municipal figures = {{rest:,}} places, "
            "split over {n} municipalit(y/ies) by population share (largest remainder)",
        )
        total = int(filled.required.sum())
        if total != figure:
            notes.append(
                f"{code}: the municipal figures add up to {total:,}, not the province figure {figure:,} "
                "(official municipal figures are kept as published)"
            )
        parts.append(filled)
    mun = pd.concat(parts, ignore_index=True)

    out = pd.concat([prov.assign(level="province"), mun.assign(level="municipality")], ignore_index=True)
    realised, undated, skipped = realised_places(engine, on)
    pipeline = pipeline_places(engine)
    mun_rows = out.level == "municipality"
    out["realised"] = np.where(mun_rows, out.region_code.map(realised).fillna(0), 0).astype(np.int64)
    out["undated"] = np.where(mun_rows, out.region_code.map(undated).fillna(0), 0).astype(np.int64)
    out["pipeline"] = np.where(mun_rows, out.region_code.map(pipeline).fillna(0), 0).astype(np.int64)
    for column in ("realised", "undated", "pipeline"):
        per_province = out[mun_rows].groupby("province_code")[column].sum()
        out.loc[~mun_rows, column] = out.loc[~mun_rows, "region_code"].map(per_province).fillna(0).astype(np.int64)
    unplaced = set(pipeline.index) - set(municipalities.region_code)
    if unplaced:
        notes.append(f"pipeline proposals in unknown municipalities left out: {', '.join(sorted(unplaced))}")
    out["gap"] = out.required - out.realised - out.pipeline
    out["population"] = out.population.astype(np.int64)
    reconciliation = _reconcile(engine, out)
    out = out[COLUMNS].sort_values(["level", "region_code"], key=_level_first).reset_index(drop=True)

    national_population = int(provinces.population.sum())
    out.attrs = {
        "period": period,
        "reference_date": on.isoformat(),
        "national_total": nat.places,
        "national_total_source": nat.source,
        "official_province_sum": official_sum,
        "national_population": national_population,
        "reference_share": reference_share(nat.places, national_population),
        "reference_note": reference_note(nat.places, national_population, period),
        "notes": notes,
        "skipped_reception": skipped.to_dict("records"),
        "unknown_official": unknown.region_code.tolist(),
        "reconciliation": reconciliation.astype(object).where(reconciliation.notna(), None).to_dict("records"),
    }
    return out


def _reconcile(engine, out: pd.DataFrame) -> pd.DataFrame:
    """Add ``reported_places``, ``realised_coverage`` and ``coverage_note`` to the task rows (in place): a
    province's own published figure; a municipality has none and carries its province's note. Returns the
    reconciliation of the country and the provinces (:func:`geo.reconcile.reconcile`)."""
    from geo.reconcile import reconcile, region_notes, reported_figures

    reconciliation = reconcile(out, reported_figures(engine))
    rec = reconciliation.set_index("region_code")
    is_province = (out.level == "province").to_numpy()
    own = out.region_code.where(is_province)
    out["reported_places"] = own.map(rec.reported_places).astype("Int64")
    out["realised_coverage"] = own.map(rec.realised_coverage).astype(float)
    out["coverage_note"] = region_notes(out, reconciliation)
    return reconciliation


def _level_first(column: pd.Series) -> pd.Series:
    if column.name == "level":
        return column.map({"province": 0, "municipality": 1})
    return column


def reference_share(national_total: int, national_population: int) -> float:
    """The national reference share f = national task / national population (about 0.5 %): the one definition,
    used by the task report and the proportional fit alike. The national task is the period's published national
    total (:data:`NATIONAL_TOTALS`, 96,000 for 2024), not the sum of the province figures (96,002)."""
    if national_population <= 0:
        raise InputError("national population must be positive to compute the reference share")
    return national_total / national_population


def reference_note(national_total: int, national_population: int, period: str) -> str:
    """How :func:`reference_share` was computed, in words."""
    share = reference_share(national_total, national_population)
    return (
        f"national reference share f = {national_total:,} places (national total, period {period}) / "
        f"{national_population:,} inhabitants = {share:.4%}"
    )


def task_summary(tasks: pd.DataFrame) -> list[str]:
    """Human-readable lines about a :func:`placement_tasks` result: totals, sources, discrepancies, skipped rows."""
    a = tasks.attrs
    prov = tasks[tasks.level == "province"]
    mun = tasks[tasks.level == "municipality"]
    lines = [
        f"period {a.get('period')}: national total {a.get('national_total', 0):,} ({a.get('national_total_source')})",
        f"reference share f = {a.get('reference_share', float('nan')):.4%} of {a.get('national_population', 0):,} "
        "residents",
        f"provinces: {int((prov.required_basis == 'official').sum())} official, "
        f"{int((prov.required_basis == 'computed').sum())} computed, required {int(prov.required.sum()):,}",
        f"municipalities: {int((mun.required_basis == 'official').sum())} official, "
        f"{int((mun.required_basis == 'computed').sum())} computed, required {int(mun.required.sum()):,}",
        f"realised {int(prov.realised.sum()):,} (reception sites open on {a.get('reference_date')}), "
        f"pipeline {int(prov.pipeline.sum()):,}, gap {int(prov.gap.sum()):,}",
        f"undated {int(prov.undated.sum()):,} places: open reception rows not known to be open on "
        f"{a.get('reference_date')}, not in realised (listed below)",
    ]
    for row in a.get("reconciliation", []):
        if row["region_code"] == "NL" or (row["realised_coverage"] or 0) < LOW_COVERAGE:
            lines.append(f"realised against published figures: {row['coverage_note']}")
    lines += [f"note: {n}" for n in a.get("notes", [])]
    for row in a.get("skipped_reception", []):
        lines.append(
            f"reception row {row['id']} ({row['municipality_name']}: {row['name'][:50]}) not counted: {row['reason']}"
        )
    return lines
