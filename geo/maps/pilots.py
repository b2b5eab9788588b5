"""Pilots on the maps: status, months left and a traffic light per evaluated dimension, linking to the evaluation.

The lights use the Okabe-Ito colours (classes ``om-light-*`` in ``static/opvangmatch/maps.css``) and a symbol
each, so they read without colour; the link goes to the API's HTML evaluation (``/evaluation/pilots/{id}?format=
html``), which resolves when the map is served by the API.
"""

from __future__ import annotations

import html
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.maps.labels import number, text
from geo.maps.layers import PointLayer
from geo.monitoring.evaluate import evaluate
from geo.monitoring.indicators import EVALUATED, CostReference
from geo.monitoring.records import Actor
from geo.monitoring.report import LIGHT_STYLE

COLOUR = "#0072B2"


def _lights(row, lang: str) -> str:
    t, cells = text(lang), []
    for dim in EVALUATED:
        light = getattr(row, f"{dim}_light")
        symbol, meaning = LIGHT_STYLE[light][1], t[f"light_{light}"]
        word = t[f"dimension_{dim}"]
        cells.append(f'<span class="om-light om-light-{light}" title="{meaning}">{symbol} {word}</span>')
    return "".join(cells)


def pilot_layer(
    engine: Engine,
    lang: str,
    *,
    who=None,
    municipalities: set[str] | None = None,
    as_of: date | None = None,
    reference: CostReference | None = None,
) -> PointLayer | None:
    """A marker per pilot with a location (``None`` when there is none); ``who`` limits what a key sees, the
    cost reference (default :class:`CostReference`) sets the cost light."""
    t, e = text(lang), html.escape
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("monitoring_value"):
            return None
        result = evaluate(conn, who or Actor(), as_of=as_of, reference=reference)
        if result.summary.empty:
            return None
        points = pd.read_sql(
            sa.text(
                "SELECT id, ST_Y(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lat, "
                "ST_X(ST_Transform(ST_PointOnSurface(geom), 4326)) AS lon FROM proposal "
                "WHERE geom IS NOT NULL AND id = ANY(:ids)"
            ),
            conn,
            params={"ids": [int(i) for i in result.summary.id]},
        ).set_index("id")
    rows = []
    for r in result.summary.itertuples():
        if r.id not in points.index or (municipalities is not None and r.municipality_code not in municipalities):
            continue
        known = r.months_left is not None and r.months_left == r.months_left
        left = f", {number(r.months_left, lang, 1)} {t['months_left']}" if known else ""
        head = f"<b>#{r.id} {e(str(r.title))}</b> ({e(r.municipality_code)}): {e(r.status)}{left}"
        warn = f"<br>&#9888; {e(r.warning)}" if r.warning else ""
        tooltip = f"{head}<br>{_lights(r, lang)}"
        link = f'<a href="/evaluation/pilots/{int(r.id)}?format=html">{t["evaluation"]}</a>'
        popup = f"{head}{warn}<br>{_lights(r, lang)}<br>{link}"
        rows.append([round(float(points.lat[r.id]), 5), round(float(points.lon[r.id]), 5), tooltip, popup])
    if not rows:
        return None
    return PointLayer("pilots", t["pilots_layer"], rows, colour=COLOUR, glyph="P", cluster=False)
