"""The national overview: provinces and municipalities coloured by the placement task, wijken with population."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.engine import Engine

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import InputError
from geo.maps.base import finish, legend_classes, new_map
from geo.maps.geodata import read_areas, read_reception, to_wgs84
from geo.maps.labels import check_lang, number, percent, text
from geo.maps.layers import AreaLayer, Legend, SearchControl, encode_areas
from geo.maps.reception import reception_layer, unlocated_by_municipality, unlocated_legend
from geo.task import placement_tasks

COLOURS = ("gap_per_1000", "share_realised")
GAP_CLASSES = {
    "steps": [
        [0, "#2c7bb6"],
        [1, "#ffffcc"],
        [2, "#fed976"],
        [3, "#feb24c"],
        [4, "#fd8d3c"],
        [5, "#f03b20"],
        [None, "#bd0026"],
    ],
    "nodata": "#cccccc",
}
GAP_LABELS = ["<= 0", "0 - 1", "1 - 2", "2 - 3", "3 - 4", "4 - 5", "> 5"]
SHARE_CLASSES = {
    "steps": [
        [0, "#d7191c"],
        [0.25, "#fdae61"],
        [0.5, "#ffffbf"],
        [0.75, "#a6d96a"],
        [0.999999, "#66bd63"],
        [None, "#1a9641"],
    ],
    "nodata": "#cccccc",
}
SHARE_LABELS = ["0 %", "0 - 25 %", "25 - 50 %", "50 - 75 %", "75 - 100 %", ">= 100 %"]
TOLERANCE_M = {"municipality": 30.0, "wijk": 30.0, "province": 100.0}


def classify(value: float | None, classes: dict) -> str:
    """The colour of a value (the same rule as ``opvangmatch.classColor`` in the page)."""
    if value is None or not np.isfinite(value):
        return classes["nodata"]
    for upper, colour in classes["steps"]:
        if upper is None or value <= upper:
            return colour
    return classes["steps"][-1][1]


def task_measures(tasks: pd.DataFrame) -> pd.DataFrame:
    """Municipal task rows with gap per 1,000 inhabitants and share realised (NaN where undefined)."""
    mun = tasks[tasks.level == "municipality"].set_index("region_code").copy()
    population = mun.population.astype(float).where(mun.population > 0)
    mun["gap_per_1000"] = mun.gap / population * 1000
    required = mun.required.astype(float).where(mun.required > 0)
    mun["share_realised"] = mun.realised / required
    return mun


def municipality_tooltip(row, province_name: str | None, unlocated: list[str], lang: str, sources: dict) -> str:
    """Tooltip HTML of one municipality; every value from data is escaped."""
    t, e = text(lang), html.escape
    basis = t.get(row.required_basis, row.required_basis)
    lines = [
        f"<b>{e(row['name'])}</b> ({e(row.name)})",
        f"{t['province']} {e(province_name or '-')} &middot; {number(row.population, lang)} {t['population']}",
        f"{t['required']} <b>{number(row.required, lang)}</b> ({e(basis)}; {t['source']}: {e(row.required_source)})",
        f"{t['realised']} {number(row.realised, lang)} ({t['source']}: {e(sources['realised'])})"
        + (f" &middot; {t['undated']} {number(row.undated, lang)}" if row.undated else ""),
        f"{t['pipeline']} {number(row.pipeline, lang)} ({t['source']}: {e(sources['pipeline'])})",
        f"{t['gap']} <b>{number(row.gap, lang)}</b> &middot; {number(row.gap_per_1000, lang, 1)} per 1.000 "
        f"&middot; {t['share_realised']} {percent(row.share_realised, lang)}",
    ]
    if unlocated:
        lines.append(f"<i>{t['unlocated_short']}:</i> " + "; ".join(unlocated))
    return '<div class="om-tip">' + "<br>".join(lines) + "</div>"


def figure_sources(lang: str) -> dict:
    if lang == "nl":
        return {
            "realised": "opvanglocaties open op de peildatum "
            "(gesloten, voorgenomen, verlopen en ongedateerde niet meegeteld)",
            "pipeline": "voorstellen in voorbereiding of met overeenkomst",
        }
    return {
        "realised": "reception sites open on the reference date (closed, planned, expired and undated not counted)",
        "pipeline": "proposals in preparation or with an agreement",
    }


def area_features(frame, level: str, properties: list[dict]) -> str:
    geoms = to_wgs84(frame.geometry.to_numpy(), TOLERANCE_M.get(level, 0.0))
    return encode_areas(geoms, properties)


def overview_map(
    engine: Engine,
    *,
    colour: str = "gap_per_1000",
    tiles: str = "osm",
    lang: str = "nl",
    period: str = DEFAULT_TASK_PERIOD,
) -> str:
    """The overview map as self-contained HTML."""
    check_lang(lang)
    if colour not in COLOURS:
        raise InputError(f"unknown colouring {colour!r}; choose one of {', '.join(COLOURS)}")
    t, e = text(lang), html.escape
    tasks = placement_tasks(engine, period)
    measures = task_measures(tasks)
    provinces = read_areas(engine, "province")
    municipalities = read_areas(engine, "municipality")
    wijken = read_areas(engine, "wijk")
    reception = read_reception(engine, period)
    unlocated = unlocated_by_municipality(reception, lang)
    province_names = dict(zip(provinces.code, provinces.name, strict=True))
    sources = figure_sources(lang)
    classes, labels = (GAP_CLASSES, GAP_LABELS) if colour == "gap_per_1000" else (SHARE_CLASSES, SHARE_LABELS)

    west, south, east, north = to_wgs84(np.array([shapely.box(*provinces.total_bounds)]))[0].bounds
    m = new_map((west, south, east, north), tiles=tiles, title=t["title_overview"], lang=lang)

    props = []
    for code in municipalities.code:
        row = measures.loc[code] if code in measures.index else None
        if row is None:
            props.append({"t": f"<b>{e(code)}</b>: {t['no_data']}", "c": GAP_CLASSES["nodata"]})
            continue
        tip = municipality_tooltip(row, province_names.get(row.province_code), unlocated.get(code, []), lang, sources)
        props.append({"t": tip, "c": classify(row[colour], classes)})
    AreaLayer(
        "municipalities",
        t["municipalities"],
        area_features(municipalities, "municipality", props),
        {"color": "#555", "weight": 0.6, "fillOpacity": 0.7},
    ).add_to(m)
    wijk_props = [
        {"t": f"<b>{e(n)}</b> ({e(c)})<br>{number(p, lang)} {t['population']}"}
        for c, n, p in zip(wijken.code, wijken.name, wijken.population, strict=True)
    ]
    AreaLayer(
        "districts",
        t["districts"],
        area_features(wijken, "wijk", wijk_props),
        {"color": "#3a3a8c", "weight": 0.5, "fill": True, "fillOpacity": 0.0},
        show=False,
    ).add_to(m)
    AreaLayer(
        "provinces",
        t["provinces"],
        area_features(provinces, "province", [{} for _ in range(len(provinces))]),
        {"color": "#000", "weight": 2, "fill": False},
        interactive=False,
    ).add_to(m)
    located = reception_layer(reception, lang)
    if located is not None:
        located.add_to(m)

    title = t["gap_per_1000"] if colour == "gap_per_1000" else t["share_realised"]
    legend = legend_classes(f"{title} ({e(period)})", classes, labels, nodata=t["no_data"])
    legend += unlocated_legend(reception, lang)
    Legend(legend).add_to(m)
    index = [
        {"n": f"{n} ({c})", "a": float(y), "o": float(x)}
        for c, n, x, y in zip(
            municipalities.code,
            municipalities.name,
            *_label_points(municipalities),
            strict=True,
        )
    ]
    index += [
        {"n": f"{n} ({c})", "a": float(y), "o": float(x)}
        for c, n, x, y in zip(wijken.code, wijken.name, *_label_points(wijken), strict=True)
    ]
    SearchControl(index, t["search"]).add_to(m)
    return finish(m)


def _label_points(frame) -> tuple[np.ndarray, np.ndarray]:
    points = to_wgs84(shapely.point_on_surface(frame.geometry.to_numpy()))
    return shapely.get_x(points), shapely.get_y(points)
