"""Existing reception locations: markers where coordinates are known, lists per municipality where not.

Most public sources name a site without coordinates; those are never placed at a guessed spot. They are listed
in their municipality's tooltip and in the legend, which says so.
"""

from __future__ import annotations

import html

import pandas as pd

from geo.maps.labels import number, text
from geo.maps.layers import PointLayer
from geo.maps.taskpanel import split_source

COLOUR = "#6a3d9a"


def describe(row, lang: str, *, escape: bool = True) -> str:
    """One reception row as text (HTML-escaped unless ``escape=False``): name (kind, capacity; status when not
    counted)."""
    t = text(lang)
    e = html.escape if escape else str
    capacity = f"{number(row.capacity, lang)} {t['places']}" if pd.notna(row.capacity) else t["no_capacity"]
    kind = f"{e(row.kind)}, " if isinstance(row.kind, str) and row.kind else ""
    status = row.get("status", "counted")
    shown = "" if status == "counted" else f"; {e(t.get('site_' + status, status))}"
    return f"{e(row['name'])} ({kind}{capacity}{shown})"


def source_link(url, fallback) -> str:
    """An escaped link to an http(s) source, its text the host (readable, not the raw URL); else the escaped key."""
    parts = split_source(url if isinstance(url, str) else None)
    if parts["url"] and parts["url"] == url.strip():
        return (
            f'<a href="{html.escape(parts["url"])}" rel="noopener noreferrer" target="_blank">'
            f"{html.escape(parts['host'])}</a>"
        )
    return html.escape(str(fallback))


def unlocated_by_municipality(reception: pd.DataFrame, lang: str, *, escape: bool = True) -> dict[str, list[str]]:
    """Descriptions (escaped, or raw for text nodes) of the rows without coordinates, per municipality code."""
    out: dict[str, list[str]] = {}
    for _, row in reception[reception.lat.isna() & reception.municipality_code.notna()].iterrows():
        out.setdefault(row.municipality_code, []).append(describe(row, lang, escape=escape))
    return out


def unlocated_note(reception: pd.DataFrame, lang: str) -> str:
    """One legend line: how many reception rows have no coordinates (they are listed in their region's panel)."""
    n = int(reception.lat.isna().sum())
    if not n:
        return ""
    return f'<div class="om-note">{html.escape(text(lang)["unlocated_note"].format(n=n))}</div>'


def unlocated_legend(reception: pd.DataFrame, lang: str, codes: set[str] | None = None) -> str:
    """Legend block listing reception rows without coordinates per municipality (name as in the source)."""
    t, e = text(lang), html.escape
    rows = reception[reception.lat.isna()]
    if codes is not None:
        rows = rows[rows.municipality_code.isin(codes)]
    if rows.empty:
        return ""
    items = []
    for name, group in rows.groupby("municipality_name", sort=True):
        items.append(f"<li><b>{e(name)}</b>: " + "; ".join(describe(r, lang) for _, r in group.iterrows()) + "</li>")
    header = t["unlocated"] if reception.lat.notna().any() else t["located_none"]
    return f"<h4>{t['reception']}</h4><div>{e(header)}</div><ul>" + "".join(items) + "</ul>"


def reception_layer(reception: pd.DataFrame, lang: str, *, show: bool = True) -> PointLayer | None:
    """Markers for the rows with coordinates (``None`` when no row has any)."""
    t, e = text(lang), html.escape
    located = reception[reception.lat.notna()]
    if located.empty:
        return None
    rows = []
    for _, r in located.iterrows():
        label = describe(r, lang)
        popup = (
            f"<b>{e(r['name'])}</b><br>{e(r.municipality_name)}<br>{t['kind']}: {e(r.kind or '-')}<br>"
            f"{t['capacity']}: {e(r.capacity_text or number(r.capacity, lang))}<br>"
            f"{t['period']}: {e(r.period or '-')}<br>{t['source']}: {source_link(r.get('source_url'), r.source)}"
        )
        rows.append([round(float(r.lat), 5), round(float(r.lon), 5), label, popup])
    return PointLayer("reception", t["reception"], rows, colour=COLOUR, glyph="O", cluster=False, show=show)
