"""Realised places reconciled with published figures: how much of the real number do the reception rows cover?

The reception rows are transcribed from news reports and COA pages; they are far from a complete national list. So
next to every realised total the task reports a published figure of the same region (``reported_figure``: the
national capacity estimate, the provinces' reported places) and the share of it the rows hold. Realised is then
read for what it is: the places of the listed sites, not a lower bound of what exists, and where the rows cover
little the gap is overstated by about the places they miss.

Which published figure is compared, per region: the latest figure of places that exist (:data:`EXISTING`), else the
latest figure of places found in plans (:data:`PLANNED`, which include places not yet realised).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import sqlalchemy as sa

EXISTING = ("meerjarig_beschikbaar_ca", "plekken_gerealiseerd_ca", "asielopvangplekken_in_provincie")
"""Indicators that count places that exist (their words: ``geo.maps.labels.INDICATORS``)."""
PLANNED = ("plekken_gevonden", "plekken_gegarandeerd", "plekken_aangeboden")
"""Indicators that count places found in plans (not all of them realised yet)."""
LOW_COVERAGE = 0.5
"""Below this share of the published figure, the coverage is called low wherever realised is shown."""

RECONCILIATION_COLUMNS = [
    "region_code",
    "name",
    "realised",
    "undated",
    "reported_places",
    "reported_kind",
    "reported_indicator",
    "reported_date",
    "reported_source",
    "realised_coverage",
    "coverage_status",
    "coverage_note",
]


def reported_figures(engine) -> pd.DataFrame:
    """The loaded published figures (empty when the table is missing or empty)."""
    columns = ["region_code", "region_name", "indicator", "places", "value_text", "reference_date", "source_url"]
    if not sa.inspect(engine).has_table("reported_figure"):
        return pd.DataFrame(columns=columns)
    with engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT {', '.join(columns)} FROM reported_figure ORDER BY id"), conn)


def _date_key(text) -> str:
    """Sortable leading date of a source's date text ('2024-11 (per 1 feb 2026)' -> '2024-11')."""
    match = re.match(r"\s*(\d{4}(?:-\d{2}){0,2})", str(text or ""))
    return match.group(1) if match else ""


def _pick(rows: pd.DataFrame) -> pd.Series | None:
    """The figure to compare: the latest of places that exist, else the latest of places found in plans."""
    for kind, indicators in (("existing", EXISTING), ("planned", PLANNED)):
        usable = rows[rows.indicator.isin(indicators) & rows.places.notna()]
        if not usable.empty:
            usable = usable.assign(_key=usable.reference_date.map(_date_key)).sort_values("_key", kind="stable")
            return usable.iloc[-1].copy().rename(None).to_frame().T.assign(kind=kind).iloc[0]
    return None


def coverage_status(realised: int, places: int | None) -> str:
    """How the rows cover the published figure: ``unknown`` (no figure), ``low`` (below :data:`LOW_COVERAGE`),
    ``more`` (above the figure) or ``fair``."""
    if not places:
        return "unknown"
    share = realised / places
    return "low" if share < LOW_COVERAGE else "more" if share > 1 else "fair"


def coverage_note(row, lang: str = "en") -> str:
    """One sentence on how much of the published figure the rows cover, in ``lang`` (words from the label table,
    ``geo.maps.labels``); says so when the coverage is low. ``row``: a reconciliation row (:func:`reconcile`, the
    note itself aside); its ``undated`` places (rows not known to be open on the reference date, not in realised)
    are named beside realised."""
    from geo.maps.labels import INDICATORS, number, percent, text

    t = text(lang)
    realised, places, undated = int(row["realised"]), row["reported_places"], int(row.get("undated") or 0)
    name = t["netherlands"] if row["region_code"] == "NL" else row["name"]
    besides = t["coverage_besides"].format(undated=number(undated, lang)) if undated else ""
    if places is None or places != places:  # None or NaN
        return t["coverage_unknown"].format(name=name, realised=number(realised, lang), besides=besides)
    places = int(places)
    note = t["coverage_share"].format(
        name=name,
        realised=number(realised, lang),
        besides=besides,
        share=percent(realised / places, lang) if places else "-",
        places=number(places, lang),
        label=INDICATORS[lang][row["reported_indicator"]],
        date=row.get("reported_date") or t["date_not_stated"],
        source=row.get("reported_source") or t["no_address"],
    )
    status = coverage_status(realised, places)
    if status == "low":
        note += t["coverage_low"].format(missing=number(places - realised, lang))
    elif status == "more":
        note += t["coverage_more"]
    if row.get("reported_kind") == "planned":
        note += t["coverage_planned"]
    return note


def region_notes(rows: pd.DataFrame, reconciliation: pd.DataFrame, lang: str = "en") -> pd.Series:
    """The coverage note of task rows (columns ``region_code``, ``level``, ``province_code``): a province's own; a
    municipality's is its province's, prefixed (no municipal figures are published)."""
    from geo.maps.labels import text

    notes = {code: coverage_note(r, lang) for code, r in reconciliation.set_index("region_code", drop=False).iterrows()}
    province = rows.province_code.map(notes)
    own = rows.region_code.map(notes)
    is_province = (rows.level == "province").to_numpy()
    return pd.Series(
        np.where(is_province, own, text(lang)["coverage_municipal"] + province.fillna("")), index=rows.index
    )


def reconcile(tasks: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """One row for the country (``NL``) and each province of ``tasks`` (from :func:`geo.task.placement_tasks`):
    realised, the published figure it is compared with, the coverage and the sentence saying so
    (:data:`RECONCILIATION_COLUMNS`)."""
    prov = tasks[tasks.level == "province"]
    undated = prov.undated if "undated" in prov else pd.Series(0, index=prov.index)
    regions = [("NL", "Netherlands", int(prov.realised.sum()), int(undated.sum()))]
    regions += [
        (r.region_code, r.name, int(r.realised), int(u)) for r, u in zip(prov.itertuples(), undated, strict=True)
    ]
    out = []
    for code, name, realised, not_dated in regions:
        figure = _pick(reported[reported.region_code == code])
        places = int(figure.places) if figure is not None else None
        out.append(
            {
                "region_code": code,
                "name": name,
                "realised": realised,
                "undated": not_dated,
                "reported_places": places,
                "reported_kind": figure.kind if figure is not None else None,
                "reported_indicator": figure.indicator if figure is not None else None,
                "reported_date": figure.reference_date if figure is not None else None,
                "reported_source": figure.source_url if figure is not None else None,
                "realised_coverage": realised / places if places else None,
                "coverage_status": coverage_status(realised, places),
            }
        )
        out[-1]["coverage_note"] = coverage_note(out[-1])
    return pd.DataFrame(out, columns=RECONCILIATION_COLUMNS)
