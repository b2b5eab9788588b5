"""A region (province, optionally one municipality): boundaries, wijken/buurten, reception, services, candidates."""

from __future__ import annotations

import html

import numpy as np
import shapely
from sqlalchemy.engine import Engine

from geo.domain import DEFAULT_TASK_PERIOD
from geo.maps.base import finish, legend_classes, new_map
from geo.maps.candidates import SCORE_CLASSES, SCORE_LABELS, Tables, candidate_rows, meta
from geo.maps.geodata import read_areas, read_reception, read_services, to_wgs84
from geo.maps.labels import check_lang, number, text
from geo.maps.layers import AreaLayer, CandidateCluster, Legend, SearchControl, encode_areas
from geo.maps.overview import figure_sources, municipality_tooltip, task_measures
from geo.maps.pilots import pilot_layer
from geo.maps.reception import reception_layer, unlocated_by_municipality, unlocated_legend
from geo.maps.services import service_layers, service_legend
from geo.scope import map_scope
from geo.score import ScoringData, load_profile, score_candidates
from geo.task import placement_tasks

TOLERANCE_M = {"municipality": 10.0, "wijk": 5.0, "buurt": 2.0}


def _areas(frame, level: str, props: list[dict]) -> str:
    return encode_areas(to_wgs84(frame.geometry.to_numpy(), TOLERANCE_M[level]), props)


def _points(frame) -> tuple[np.ndarray, np.ndarray]:
    pts = to_wgs84(shapely.point_on_surface(frame.geometry.to_numpy()))
    return shapely.get_y(pts), shapely.get_x(pts)


def region_map(
    engine: Engine,
    province: str,
    *,
    municipality: str | None = None,
    profile: str = "default",
    tiles: str = "osm",
    lang: str = "nl",
    data: ScoringData | None = None,
    period: str = DEFAULT_TASK_PERIOD,
    who=None,
    cost_reference=None,
) -> str:
    """The region map as self-contained HTML (candidates scored with ``profile``)."""
    check_lang(lang)
    t, e = text(lang), html.escape
    scope = map_scope(engine, province, municipality)
    prof = load_profile(profile)
    data = data or ScoringData.load(engine, period=period)
    measures = task_measures(placement_tasks(engine, period))
    municipalities = read_areas(engine, "municipality", province=province)
    in_scope = municipalities if municipality is None else municipalities[municipalities.code == municipality]
    wijken = read_areas(engine, "wijk", province=province, municipality=municipality)
    buurten = read_areas(engine, "buurt", province=province, municipality=municipality)
    scope_geom = shapely.union_all(in_scope.geometry.to_numpy())
    services = read_services(engine, scope_geom)
    reception = read_reception(engine, period)
    reception = reception[reception.municipality_code.isin(set(in_scope.code))]
    unlocated = unlocated_by_municipality(reception, lang)
    scores = score_candidates(
        engine, prof, data, municipality=municipality, province=None if municipality else province
    )

    name = scope["municipality_name"] or scope["province_name"]
    bounds = to_wgs84(np.array([shapely.box(*in_scope.total_bounds)]))[0].bounds
    m = new_map(bounds, tiles=tiles, title=t["title_region"].format(name=name), lang=lang)

    sources = figure_sources(lang)
    props = []
    for code in municipalities.code:
        row = measures.loc[code]
        tip = municipality_tooltip(row, scope["province_name"], unlocated.get(code, []), lang, sources)
        props.append({"t": tip, "c": "#fdbf6f" if code in set(in_scope.code) else "#dddddd"})
    AreaLayer(
        "municipalities",
        t["municipalities"],
        _areas(municipalities, "municipality", props),
        {"color": "#333", "weight": 1.5, "fillOpacity": 0.12},
    ).add_to(m)
    for key, frame, level in (("districts", wijken, "wijk"), ("neighbourhoods", buurten, "buurt")):
        if frame.empty:
            continue
        area_props = [
            {"t": f"<b>{e(n)}</b> ({e(c)})<br>{number(p, lang)} {t['population']}"}
            for c, n, p in zip(frame.code, frame.name, frame.population, strict=True)
        ]
        AreaLayer(
            key,
            t[key],
            _areas(frame, level, area_props),
            {"color": "#3a3a8c" if level == "wijk" else "#1b7837", "weight": 1, "fillOpacity": 0.04},
            show=False,
        ).add_to(m)
    for layer in service_layers(services, lang):
        layer.add_to(m)
    located = reception_layer(reception, lang)
    if located is not None:
        located.add_to(m)
    pilots = pilot_layer(engine, lang, who=who, municipalities=set(in_scope.code), reference=cost_reference)
    if pilots is not None:
        pilots.add_to(m)

    tables = Tables(lang)
    rows = candidate_rows(scores, tables)
    CandidateCluster("candidates", f"{t['candidates']} ({len(rows)})", rows, meta(prof, data, tables, lang)).add_to(m)

    labels = SCORE_LABELS if lang == "en" else [label.replace(".", ",") for label in SCORE_LABELS]
    legend = legend_classes(t["legend_score"], SCORE_CLASSES, labels, nodata=t["excluded"])
    legend += (
        f"<div>{t['profile']} {e(prof.name)} {e(prof.version)} ({e(prof.target_group)}) &middot; "
        f"{t['vintage']} {e(str(data.vintage['id']))}<br>{len(rows)} {e(t['candidates'].lower())}; "
        f"{t['distance_note']}</div>"
    )
    unknown_use = int((scores.frame["use_state"] == "unknown").sum())
    if unknown_use:
        legend += f'<div class="om-use-unknown">{e(t["use_unknown_legend"].format(n=number(unknown_use, lang)))}</div>'
    legend += service_legend(services, lang)
    legend += unlocated_legend(reception, lang)
    Legend(legend).add_to(m)

    index = []
    for frame in (municipalities, wijken, buurten):
        if not frame.empty:
            lat, lon = _points(frame)
            index += [
                {"n": f"{n} ({c})", "a": float(a), "o": float(o)}
                for c, n, a, o in zip(frame.code, frame.name, lat, lon, strict=True)
            ]
    index += [
        {"n": f"{t['building']} {ident}", "a": r[0], "o": r[1]}
        for ident, r in zip(scores.frame["id"], rows, strict=True)
    ]
    named = services[services["name"].notna()]
    if not named.empty:
        lat, lon = _points(named)
        index += [{"n": str(n), "a": float(a), "o": float(o)} for n, a, o in zip(named["name"], lat, lon, strict=True)]
    SearchControl(index, t["search"]).add_to(m)
    return finish(m)
