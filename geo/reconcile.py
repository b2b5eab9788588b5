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

EXISTING = {
    "meerjarig_beschikbaar_ca": "places available (capacity estimate)",
    "plekken_gerealiseerd_ca": "places realised",
    "asielopvangplekken_in_provincie": "reception places in the province",
}
"""Indicators that count places that exist, with their label."""
PLANNED = {
    "plekken_gevonden": "places found in the provincial plans",
    "plekken_gegarandeerd": "places guaranteed in the provincial plans",
    "plekken_aangeboden": "places offered in the provincial plans",
}
"""Indicators that count places found in plans (not all of them realised yet), with their label."""
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
        usable = rows[rows.indicator.isin(list(indicators)) & rows.places.notna()]
        if not usable.empty:
            usable = usable.assign(_key=usable.reference_date.map(_date_key)).sort_values("_key", kind="stable")
            return usable.iloc[-1].copy().rename(None).to_frame().T.assign(kind=kind).iloc[0]
    return None


def coverage_note(realised: int, figure: pd.Series | None, name: str, undated: int = 0) -> str:
    """One sentence on how much of the published figure the rows cover; says so when the coverage is low.
    ``undated``: places of rows not known to be open on the reference date (not in realised), named beside it."""
    besides = f" (besides {undated:,} places of undated rows, not counted)" if undated else ""
    if figure is None:
        return (
            f"{name}: no published figure of existing or planned places is loaded, so how much the reception rows "
            f"cover is unknown; realised ({realised:,}{besides}) counts only the listed sites"
        )
    places = int(figure.places)
    label = (EXISTING | PLANNED)[figure.indicator]
    share = realised / places if places else float("nan")
    text = (
        f"{name}: the reception rows hold {realised:,} places{besides}, {share:.0%} of the {places:,} {label} "
        f"({figure.reference_date or 'date not stated'}; {figure.source_url or 'no address'})"
    )
    if np.isfinite(share) and share < LOW_COVERAGE:
        text += (
            "; LOW COVERAGE: the rows are an incomplete list, so realised is far below the real number and the gap "
            f"is overstated by up to {places - realised:,} places"
        )
    elif np.isfinite(share) and share > 1:
        text += "; MORE than the published figure: some rows may be closed, temporary or overlapping sites"
    if figure.kind == "planned":
        text += "; the published figure counts places in plans, not all of them realised yet"
    return text


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
                "coverage_note": coverage_note(realised, figure, name, not_dated),
            }
        )
    return pd.DataFrame(out, columns=RECONCILIATION_COLUMNS)
