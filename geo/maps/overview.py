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
from geo.maps.colours import GAP_COLOURS, SHARE_COLOURS, classes_from_breaks, quantile_breaks
from geo.maps.geodata import coverage_geometries, read_areas, read_reception, to_wgs84
from geo.maps.labels import check_lang, number, text
from geo.maps.layers import AreaLayer, Legend, SearchControl, TaskPanel, encode_areas
from geo.maps.pilots import pilot_layer
from geo.maps.reception import reception_layer, unlocated_by_municipality, unlocated_note
from geo.maps.taskpanel import coverage_parts, national_note, panel, panel_payload, short_tooltip, task_measures
from geo.task import placement_tasks

COLOURS = ("gap_per_1000", "share_realised")
SHARE_BREAKS = [0.0, 0.1, 0.25, 0.5, 0.999999]
TOLERANCE_M = {"municipality": 30.0, "wijk": 30.0, "province": 100.0}


def overview_classes(measures: pd.DataFrame, colour: str, lang: str) -> dict:
    """Class breaks per mode, chosen to show differences.

    - ``gap_per_1000``: one class for no gap (<= 0), then the quintiles of the positive gaps (rounded to 0.1).
    - ``share_realised``: documented breaks 0 (nothing known), 10 %, 25 %, 50 %, 100 %: realised is incomplete
      (few transcribed rows), so quantiles would only split zeros.
    """
    if colour == "gap_per_1000":
        values = measures.gap_per_1000.to_numpy(dtype=float)
        positive = values[np.isfinite(values) & (values > 0)]
        breaks = [0.0, *[b for b in quantile_breaks(positive, 5, 1) if b > 0]]
        classes = classes_from_breaks(breaks, GAP_COLOURS, digits=1, lang=lang)
        classes["labels"][0] = "<= 0"
        return classes
    classes = classes_from_breaks(SHARE_BREAKS, SHARE_COLOURS, digits=0, lang=lang, unit=" %")
    classes["labels"] = [text(lang)["share_nothing_known"], "0 - 10 %", "10 - 25 %", "25 - 50 %", "50 - 100 %"]
    classes["labels"].append(">= 100 %")
    return classes


def classify(value: float | None, classes: dict) -> str:
    """The colour of a value (the same rule as ``opvangmatch.classColor`` in the page)."""
    if value is None or not np.isfinite(value):
        return classes["nodata"]
    for upper, colour in classes["steps"]:
        if upper is None or value <= upper:
            return colour
    return classes["steps"][-1][1]


def area_features(engine: Engine, frame, level: str, properties: list[dict]) -> str:
    geoms = to_wgs84(frame.geometry.to_numpy(), TOLERANCE_M.get(level, 0.0), coverage=True, cache=engine)
    return encode_areas(geoms, properties)


def prepare_overview_areas(engine: Engine) -> None:
    """Clean and simplify the overview's boundaries now and keep them in ``map_area_cache``, so that the first
    overview after a load does not pay for it (the 3,475 wijken take 10-25 s). Same inputs as
    :func:`area_features`, so the same cache keys."""
    for level in TOLERANCE_M:
        frame = read_areas(engine, level)
        coverage_geometries(frame.geometry.to_numpy(), TOLERANCE_M[level], engine)


def overview_map(
    engine: Engine,
    *,
    colour: str = "gap_per_1000",
    tiles: str = "osm",
    lang: str = "nl",
    period: str = DEFAULT_TASK_PERIOD,
    region_url: str | None = None,
    who=None,
    cost_reference=None,
) -> str:
    """The overview map as self-contained HTML; ``region_url`` (served by the API) links each panel to its
    region map; pilots as ``who`` may see them (default: all), cost lights against ``cost_reference``."""
    check_lang(lang)
    if colour not in COLOURS:
        raise InputError(f"unknown colouring {colour!r}; choose one of {', '.join(COLOURS)}")
    t, e = text(lang), html.escape
    tasks = placement_tasks(engine, period)
    measures = task_measures(tasks, lang=lang)
    provinces = read_areas(engine, "province")
    municipalities = read_areas(engine, "municipality")
    wijken = read_areas(engine, "wijk")
    reception = read_reception(engine, period)
    unlocated = unlocated_by_municipality(reception, lang, escape=False)
    province_names = dict(zip(provinces.code, provinces.name, strict=True))
    classes = overview_classes(measures, colour, lang)

    west, south, east, north = to_wgs84(np.array([shapely.box(*provinces.total_bounds)]))[0].bounds
    m = new_map((west, south, east, north), tiles=tiles, title=t["title_overview"], lang=lang)
    TaskPanel(
        panel_payload(tasks, engine, reception, lang=lang, period=period, region_url=region_url, tiles=tiles)
    ).add_to(m)

    props = []
    for code in municipalities.code:
        row = measures.loc[code] if code in measures.index else None
        if row is None:
            props.append({"t": f"<b>{e(code)}</b>: {t['no_data']}", "c": classes["nodata"]})
            continue
        province = (row.province_code, province_names.get(row.province_code, row.province_code))
        props.append(
            {
                "t": short_tooltip(row, code, lang),
                "c": classify(row[colour], classes),
                "p": panel(row, code, "municipality", province, unlocated.get(code, []), lang),
            }
        )
    AreaLayer(
        "municipalities",
        t["municipalities"],
        area_features(engine, municipalities, "municipality", props),
        {"color": "#555", "weight": 0.6, "fillOpacity": 0.75},
    ).add_to(m)
    wijk_props = [
        {"t": f"<b>{e(n)}</b> ({e(c)})<br>{number(p, lang)} {t['population']}"}
        for c, n, p in zip(wijken.code, wijken.name, wijken.population, strict=True)
    ]
    AreaLayer(
        "districts",
        t["districts"],
        area_features(engine, wijken, "wijk", wijk_props),
        {"color": "#3a3a8c", "weight": 0.5, "fill": True, "fillOpacity": 0.0},
        show=False,
    ).add_to(m)
    AreaLayer(
        "provinces",
        t["provinces"],
        area_features(engine, provinces, "province", [{} for _ in range(len(provinces))]),
        {"color": "#000", "weight": 2, "fill": False},
        interactive=False,
    ).add_to(m)
    located = reception_layer(reception, lang)
    if located is not None:
        located.add_to(m)
    pilots = pilot_layer(engine, lang, who=who, reference=cost_reference)
    if pilots is not None:
        pilots.add_to(m)

    title = t["gap_per_1000"] if colour == "gap_per_1000" else t["share_realised"]
    legend = legend_classes(f"{title} ({e(period)})", classes, classes["labels"], nodata=t["no_data"])
    legend += f'<div class="om-note">{t["click_pin"]}</div>'
    national = coverage_parts(national_note(tasks, lang))
    if national:  # the note's text, its source as a link showing the host (no raw URL)
        link = ""
        if national["url"]:
            link = (
                f' <a href="{e(national["url"])}" rel="noopener noreferrer" target="_blank">'
                f"{e(t['source'])}: {e(national['host'])}</a>"
            )
        legend += f'<h4>{e(t["coverage"])}</h4><div class="om-coverage">{e(national["source"])}{link}</div>'
    legend += unlocated_note(reception, lang)
    Legend(legend).add_to(m)
    index = [
        {"n": f"{n} ({c})", "a": float(y), "o": float(x), "k": c}
        for c, n, x, y in zip(provinces.code, provinces.name, *_label_points(provinces), strict=True)
    ]
    index += [
        {"n": f"{n} ({c})", "a": float(y), "o": float(x), "k": c}
        for c, n, x, y in zip(municipalities.code, municipalities.name, *_label_points(municipalities), strict=True)
    ]
    index += [
        {"n": f"{n} ({c})", "a": float(y), "o": float(x), "k": c}
        for c, n, x, y in zip(wijken.code, wijken.name, *_label_points(wijken), strict=True)
    ]
    SearchControl(index, t["search"], lang=lang).add_to(m)
    return finish(m)


def _label_points(frame) -> tuple[np.ndarray, np.ndarray]:
    points = to_wgs84(shapely.point_on_surface(frame.geometry.to_numpy()))
    return shapely.get_x(points), shapely.get_y(points)
