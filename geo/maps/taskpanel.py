"""The placement task of a municipality or province as data for the pinned panel (built in the page by
``opvangmatch.taskPanel`` with ``textContent``: the strings here are raw, never HTML).

One panel per region: required (official or computed, with its source as text plus a link), realised (with the
places not counted because undated, and a completeness note), pipeline, gap, gap per 1,000, share realised and
realised beside published figures (``coverage_note`` of :func:`geo.task.placement_tasks`);
a municipality's panel also shows its province's totals.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.maps.labels import LOCALES, number, text
from geo.reconcile import coverage_note, region_notes
from geo.task import COLUMNS as TASK_COLUMNS

URL = re.compile(r"https?://[^\s<>\"'()]+[^\s<>\"'().,;:]")


def task_measures(tasks: pd.DataFrame, level: str = "municipality", lang: str | None = None) -> pd.DataFrame:
    """Task rows of one level with gap per 1,000 inhabitants and share realised (NaN where undefined); with ``lang``
    their coverage note in that language (from the reconciliation's figures, :func:`geo.reconcile.region_notes`).

    Without the task report in ``attrs`` (it stays on ``tasks``): pandas deep-copies ``attrs`` into every row read."""
    rows = tasks[tasks.level == level].copy()
    rows.attrs = {}
    if lang is not None and tasks.attrs.get("reconciliation"):
        rows["coverage_note"] = region_notes(rows, pd.DataFrame(tasks.attrs["reconciliation"]), lang)
    rows = rows.set_index("region_code")
    population = rows.population.astype(float).where(rows.population > 0)
    rows["gap_per_1000"] = rows.gap / population * 1000
    required = rows.required.astype(float).where(rows.required > 0)
    rows["share_realised"] = rows.realised / required
    return rows


def split_source(source) -> dict:
    """A source text as readable text without its URL, the URL (http/https only) and the URL's host for a link."""
    source = "" if source is None or (isinstance(source, float) and np.isnan(source)) else str(source)
    found = URL.search(source)
    if not found:
        return {"source": source, "url": None, "host": None}
    rest = (source[: found.start()] + source[found.end() :]).strip()
    rest = re.sub(r"[\s(:;,]+$", "", rest).strip()
    host = urlsplit(found.group(0)).hostname or found.group(0)
    return {"source": rest, "url": found.group(0), "host": host.removeprefix("www.")}


_COMPUTED = re.compile(
    r"computed: (?:national total|(?P<code>\w+) figure) (?P<figure>[\d,]+) minus the official "
    r"(?P<what>province|municipal) figures = (?P<rest>[\d,]+) places, split over (?P<n>\d+) (?:province|municipalit)"
)


def source_text(source: str, lang: str) -> str:
    """The task's source text in the map's language (the computed-figure sentences of :mod:`geo.task`)."""
    found = _COMPUTED.match(source or "")
    if not found:
        return source
    t = text(lang)
    figure, rest = (int(found[k].replace(",", "")) for k in ("figure", "rest"))
    whole = t["computed_whole_region"].format(code=found["code"]) if found["code"] else t["computed_whole_national"]
    parts = t["computed_parts_province" if found["what"] == "province" else "computed_parts_municipal"]
    return t["computed_source"].format(
        whole=whole, figure=number(figure, lang), rest=number(rest, lang), n=found["n"], parts=parts
    )


def _float(value) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 4)


def _extra(row) -> list:
    """Reconciliation figures a task table may carry beside its standard columns (name, whole number)."""
    out = []
    for column, value in row.items():
        if column in TASK_COLUMNS or column in ("gap_per_1000", "share_realised", "level"):
            continue
        if isinstance(value, int | np.integer | float | np.floating) and np.isfinite(value):
            out.append([str(column), float(value)])
    return out


def coverage_parts(value) -> dict | None:
    """The coverage note as text without its URL, the URL and its host (a link, like the required source)."""
    if not isinstance(value, str) or not value.strip():
        return None
    note = split_source(value)
    note["source"] = re.sub(r"\(([^()]*?)[\s;,:]*\)", r"(\1)", note["source"]).replace("()", "")
    return note


def panel(row, code: str, level: str, province: tuple[str, str] | None, unlocated: list[str], lang: str = "nl") -> dict:
    """The panel data of one task row (raw strings: the page shows them with textContent)."""
    source = split_source(row.required_source)
    source["source"] = source_text(source["source"], lang)
    return {
        "name": str(row["name"]),
        "code": code,
        "level": level,
        "province": list(province) if province else None,
        "population": int(row.population),
        "required": int(row.required),
        "basis": str(row.required_basis),
        **source,
        "realised": int(row.realised),
        "undated": int(row.undated),
        "pipeline": int(row.pipeline),
        "gap": int(row.gap),
        "per1000": _float(row.gap_per_1000),
        "share": _float(row.share_realised),
        "unlocated": list(unlocated),
        "extra": _extra(row),
        "coverage": coverage_parts(row.get("coverage_note")),
    }


def completeness(engine: Engine, reception: pd.DataFrame, lang: str) -> str:
    """How complete 'realised' is: counted rows and municipalities from the loaded sources (raw text)."""
    counted = reception[reception["status"] == "counted"] if "status" in reception else reception
    rows, places = len(counted), int(pd.to_numeric(counted.get("capacity"), errors="coerce").fillna(0).sum())
    towns = counted["municipality_code"].nunique() if "municipality_code" in counted else 0
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one()
    return text(lang)["completeness"].format(
        rows=number(rows, lang), places=number(places, lang), towns=number(towns, lang), total=number(total, lang)
    )


def figure_sources(lang: str) -> dict:
    """Where realised and pipeline come from, in words."""
    t = text(lang)
    return {"realised": t["realised_source"], "pipeline": t["pipeline_source"]}


def short_tooltip(row, code: str, lang: str) -> str:
    """The hover text of a region (escaped HTML): name, code, gap; a click pins the full panel."""
    t, e = text(lang), html.escape
    return (
        f"<b>{e(str(row['name']))}</b> ({e(code)})<br>{t['gap']} {number(row.gap, lang)} &middot; "
        f"{number(row.gap_per_1000, lang, 1)} {t['per_1000']}<br><i>{t['click_pin']}</i>"
    )


def national_note(tasks: pd.DataFrame, lang: str) -> str | None:
    """The country's coverage note in ``lang`` (None without a reconciliation)."""
    rows = [r for r in tasks.attrs.get("reconciliation", []) if r["region_code"] == "NL"]
    return coverage_note(rows[0], lang) if rows else None


def panel_payload(
    tasks: pd.DataFrame,
    engine: Engine,
    reception: pd.DataFrame,
    *,
    lang: str,
    period: str,
    region_url: str | None,
    tiles: str,
) -> dict:
    """What every panel of a map shares: labels, locale, province panels, the completeness note, links."""
    provinces = task_measures(tasks, "province", lang)
    return {
        "text": text(lang),
        "locale": LOCALES[lang],
        "lang": lang,
        "tiles": tiles,
        "period": str(period),
        "provinces": {code: panel(row, code, "province", None, [], lang) for code, row in provinces.iterrows()},
        "note": completeness(engine, reception, lang),
        "sources": figure_sources(lang),
        "region_url": region_url,
    }
