"""A region (a province, or one or more of its municipalities): boundaries with the task, wijken/buurten,
reception, services and candidates coloured by score (excluded ones in a layer of their own, hidden at first)."""

from __future__ import annotations

import html

import numpy as np
import shapely
from sqlalchemy.engine import Engine

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import InputError
from geo.maps.base import finish, new_map
from geo.maps.candidates import Tables, candidate_rows, meta, score_classes
from geo.maps.geodata import (
    lat_lon,
    read_areas,
    read_building_facts,
    read_label_points,
    read_reception,
    read_services,
    to_wgs84,
)
from geo.maps.labels import LOCALES, check_lang, number, text
from geo.maps.layers import (
    AreaLayer,
    CandidateLayer,
    CandidateTools,
    Legend,
    SearchControl,
    TaskPanel,
    encode_areas,
)
from geo.maps.pilots import pilot_layer
from geo.maps.reception import reception_layer, unlocated_by_municipality, unlocated_legend
from geo.maps.services import service_layers, service_legend
from geo.maps.taskpanel import panel, panel_payload, short_tooltip, task_measures
from geo.scope import map_scope
from geo.score import ScoringData, load_profile, score_candidates
from geo.score.profile import available_profiles
from geo.task import placement_tasks

TOLERANCE_M = {"municipality": 10.0, "wijk": 5.0, "buurt": 2.0}
LIGHT_FROM = 20_000  # more candidates than this: light rows (no per-candidate breakdown; see region_map)
LIGHT_ROW = 7  # lat, lon, id, total, excluded, rank, capacity


def _areas(engine: Engine, frame, level: str, props: list[dict]) -> str:
    return encode_areas(to_wgs84(frame.geometry.to_numpy(), TOLERANCE_M[level], coverage=True, cache=engine), props)


def _points(frame) -> tuple[np.ndarray, np.ndarray]:
    pts = to_wgs84(shapely.point_on_surface(frame.geometry.to_numpy()))
    return shapely.get_y(pts), shapely.get_x(pts)


def profile_values(scores, main) -> list[list]:
    """Per candidate of ``main`` (same scope, same order): ``[total, excluded 0/1, capacity]`` under ``scores``."""
    frame = scores.frame
    if not frame["id"].reset_index(drop=True).equals(main.frame["id"].reset_index(drop=True)):
        raise RuntimeError("profiles scored different candidate sets")  # same scope and data: never expected
    totals = np.round(frame["total"].to_numpy(dtype=float), 4)
    return [
        [None if not np.isfinite(t) else float(t), int(bool(x)), int(c)]
        for t, x, c in zip(totals, frame["excluded"], frame["capacity"], strict=True)
    ]


def municipality_codes(municipality) -> list[str]:
    """``None``, one code, a comma list or a list of codes (each may be a comma list) as unique codes, in order."""
    if municipality is None:
        return []
    items = [municipality] if isinstance(municipality, str) else list(municipality)
    codes: list[str] = []
    for item in items:
        for code in str(item).split(","):
            code = code.strip()
            if not code:
                raise InputError(f"empty municipality code in {item!r}")
            if code not in codes:
                codes.append(code)
    return codes


def region_map(
    engine: Engine,
    province: str,
    *,
    municipality: str | list[str] | None = None,
    profile: str = "default",
    tiles: str = "osm",
    lang: str = "nl",
    data: ScoringData | None = None,
    period: str = DEFAULT_TASK_PERIOD,
    region_url: str | None = None,
    switch_profiles: bool = True,
    who=None,
    cost_reference=None,
) -> str:
    """The region map as self-contained HTML (candidates scored with ``profile``).

    ``municipality``: none (the whole province), one code, or several (a list or a comma list).
    ``switch_profiles``: also embed every other shipped profile's total, exclusion and capacity per candidate, so
    the map's filter can switch target group without a new file (popups explain ``profile``).

    With more than :data:`LIGHT_FROM` candidates (a province) the map is *light*: each candidate carries only its
    place, id, total, exclusion, rank and capacity (its popup says where the full explanation is: a map of fewer
    municipalities or ``GET /candidates``), one profile, and buildings are left out of the search; this keeps a
    province with 100,000 candidates under 10 MB (``benchmarks/maps.py``). Pilots in scope as ``who`` may see them
    (default: all), cost lights against ``cost_reference``."""
    check_lang(lang)
    t, e = text(lang), html.escape
    codes = municipality_codes(municipality)
    scopes = [map_scope(engine, province, code) for code in codes] or [map_scope(engine, province, None)]
    prof = load_profile(profile)
    data = data or ScoringData.load(engine, period=period)
    tasks = placement_tasks(engine, period)
    measures = task_measures(tasks, lang=lang)
    municipalities = read_areas(engine, "municipality", province=province)
    in_scope = municipalities if not codes else municipalities[municipalities.code.isin(codes)]
    chosen = None if not codes else list(in_scope.code)
    wijken = read_areas(engine, "wijk", province=province, municipality=chosen)
    buurten = read_areas(engine, "buurt", province=province, municipality=chosen)
    scope_geom = shapely.union_all(in_scope.geometry.to_numpy())
    services = read_services(engine, scope_geom)
    all_reception = read_reception(engine, period)
    reception = all_reception[all_reception.municipality_code.isin(set(in_scope.code))]
    unlocated = unlocated_by_municipality(reception, lang, escape=False)

    def score_all(pr):
        if codes:
            return [score_candidates(engine, pr, data, municipality=code) for code in codes]
        return [score_candidates(engine, pr, data, province=province)]

    parts = score_all(prof)
    light = sum(len(part.frame) for part in parts) > LIGHT_FROM
    others = [] if light or not switch_profiles else [p for p in available_profiles() if p != profile]
    profiles = [prof, *(load_profile(p) for p in others)]
    scored = [parts, *(score_all(pr) for pr in profiles[1:])]

    names = [s["municipality_name"] for s in scopes if s["municipality_name"]]
    name = ", ".join(names) if names else scopes[0]["province_name"]
    bounds = to_wgs84(np.array([shapely.box(*in_scope.total_bounds)]))[0].bounds
    m = new_map(bounds, tiles=tiles, title=t["title_region"].format(name=name), lang=lang)
    TaskPanel(
        panel_payload(tasks, engine, all_reception, lang=lang, period=period, region_url=region_url, tiles=tiles)
    ).add_to(m)

    province_pair = (scopes[0]["province"], scopes[0]["province_name"])
    props = []
    for code in municipalities.code:
        row = measures.loc[code]
        props.append(
            {
                "t": short_tooltip(row, code, lang),
                "c": "#fdbf6f" if code in set(in_scope.code) else "#dddddd",
                "p": panel(row, code, "municipality", province_pair, unlocated.get(code, []), lang),
            }
        )
    AreaLayer(
        "municipalities",
        t["municipalities"],
        _areas(engine, municipalities, "municipality", props),
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
            _areas(engine, frame, level, area_props),
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
    rows = []
    for i, part in enumerate(parts):
        per_profile = [profile_values(scored[k][i], part) for k in range(len(profiles))]
        for j, row in enumerate(candidate_rows(part, tables, read_building_facts(engine, part.frame["id"]))):
            rows.append(row[:LIGHT_ROW] if light else [*row, [values[j] for values in per_profile]])
    included = [row for row in rows if not row[4]]
    excluded = [row for row in rows if row[4]]
    classes = score_classes([row[3] for row in included], lang)
    shared = meta(prof, data, tables, lang, classes)
    shared["switch"] = [
        {
            "name": e(pr.name),
            "label": e(f"{pr.name} ({pr.target_group})"),
            "version": e(f"{pr.name} {pr.version} ({pr.target_group})"),
            "classes": classes if light else score_classes([r[16][k][0] for r in rows if not r[16][k][1]], lang),
        }
        for k, pr in enumerate(profiles)
    ]
    shared["uses"] = sorted(
        {u.strip() for r in rows if len(r) > 15 and r[15] and r[15][1] for u in r[15][1].split(",")}
    )
    shared["light"] = light
    CandidateLayer("candidates", f"{t['candidates_layer']} ({number(len(included), lang)})", included, shared).add_to(m)
    CandidateLayer(
        "excluded",
        f"{t['excluded_layer']} ({number(len(excluded), lang)})",
        excluded,
        {"ref": "candidates"},
        show=False,
        excluded=True,
    ).add_to(m)

    CandidateTools(
        {
            "keys": ["candidates", "excluded"],
            "text": t,
            "locale": LOCALES[lang],
            "title": t["title_region"].format(name=name),
            "vintage": str(data.vintage["id"]),
        }
    ).add_to(m)

    notices = []
    empty = [s["municipality_name"] for s, part in zip(scopes, parts, strict=True) if part.frame.empty]
    if empty and codes:
        notices.append(t["no_candidates"].format(names=", ".join(empty)))
    elif not rows:
        notices.append(t["no_candidates"].format(names=name))
    if rows and not included:
        notices.append(t["all_excluded"].format(n=number(len(excluded), lang)))
    if notices:
        Legend("".join(f"<div>{e(n)}</div>" for n in notices), position="topright", css_class="om-notice").add_to(m)

    legend = f'<h4>{t["legend_score"]}</h4><div class="om-score-legend"></div>'  # drawn by the page per profile
    legend += (
        f'<div class="om-note">{t["cluster_best"]}; {number(len(included), lang)} {e(t["candidates"].lower())}, '
        f"{number(len(excluded), lang)} {t['excluded']}"
        f"<br>{t['profile']} {e(prof.name)} {e(prof.version)} ({e(prof.target_group)}) &middot; "
        f"{t['vintage']} {e(str(data.vintage['id']))}<br>{t['distance_note']}</div>"
    )
    unknown_use = sum(int((part.frame["use_state"] == "unknown").sum()) for part in parts)
    if unknown_use:
        legend += f'<div class="om-use-unknown">{e(t["use_unknown_legend"].format(n=number(unknown_use, lang)))}</div>'
    unknown_monument = sum(sum("monument_status_unknown" in f for f in part.frame["flags"]) for part in parts)
    if unknown_monument:
        note = t["monument_unknown_legend"].format(n=number(unknown_monument, lang))
        legend += f'<div class="om-use-unknown">{e(note)}</div>'
    legend += service_legend(services, lang)
    legend += unlocated_legend(reception, lang)
    Legend(legend).add_to(m)

    index = []
    for frame, zoom in ((municipalities, 12), (wijken, 14), (buurten, 15)):
        if not frame.empty:
            lat, lon = _points(frame)
            index += [
                {"n": f"{n} ({c})", "a": float(a), "o": float(o), "k": c, "z": zoom}
                for c, n, a, o in zip(frame.code, frame.name, lat, lon, strict=True)
            ]
    others = read_label_points(engine, "municipality")
    others = others[~others.code.isin(set(municipalities.code))]
    index += [
        {"n": f"{n} ({c})", "a": round(float(a), 5), "o": round(float(o), 5), "z": 12}
        for c, n, a, o in zip(others.code, others.name, others.lat, others.lon, strict=True)
    ]
    for part in [] if light else parts:  # a light map leaves buildings out of the search (size)
        lat, lon = lat_lon(part.frame["x"].to_numpy(), part.frame["y"].to_numpy())
        index += [
            {"n": f"{t['building']} {ident}", "a": float(a), "o": float(o), "b": str(ident)}
            for ident, a, o in zip(part.frame["id"], lat, lon, strict=True)
        ]
    named = services[services["name"].notna()]
    if not named.empty:
        lat, lon = _points(named)
        index += [{"n": str(n), "a": float(a), "o": float(o)} for n, a, o in zip(named["name"], lat, lon, strict=True)]
    SearchControl(index, t["search"], lang=lang).add_to(m)
    return finish(m)
