"""One proposal (or any location): its score, nearest service per category as lines, 500 m / 1 km circles,
and its buurt and wijk outlined."""

from __future__ import annotations

import html

import folium
import numpy as np
import shapely
from sqlalchemy.engine import Engine

from geo.domain import DEFAULT_TASK_PERIOD
from geo.maps.base import finish, new_map
from geo.maps.candidates import Tables, explanation_row, meta
from geo.maps.geodata import lat_lon, read_area_codes, to_wgs84
from geo.maps.labels import category, number, text
from geo.maps.layers import AreaLayer, CandidateLayer, Legend, LineLayer, Register, encode_areas
from geo.maps.services import STYLE
from geo.maps.walking import distance_kinds_note, walking_areas, walking_route
from geo.proposals import located
from geo.score import Profile, ScoringData, profile_for_group, score_location


def proposal_map(
    engine: Engine,
    proposal_id: int,
    *,
    tiles: str = "osm",
    lang: str = "nl",
    data: ScoringData | None = None,
    period: str = DEFAULT_TASK_PERIOD,
) -> str:
    """The map of a stored proposal, scored with its target group's profile (task figures of ``period``)."""
    p = located(engine, proposal_id)
    return location_map(
        engine,
        p["geom"],
        p["capacity"],
        profile_for_group(p["target_group"]),
        title=p["title"] or f"#{p['id']}",
        ident=f"#{p['id']}",
        floor_area=p["floor_area"],
        tiles=tiles,
        lang=lang,
        data=data or ScoringData.load(engine, period=period),
    )


def location_map(
    engine: Engine,
    geometry: shapely.Geometry,
    capacity: int,
    profile: Profile,
    *,
    title: str,
    ident: str = "",
    floor_area: float | None = None,
    tiles: str = "osm",
    lang: str = "nl",
    data: ScoringData | None = None,
) -> str:
    """The map of any location (EPSG:28992 geometry) with capacity and profile, via ``score_location``."""
    t, e = text(lang), html.escape
    data = data or ScoringData.load(engine)
    explanation = score_location(data, geometry, capacity, profile, floor_area=floor_area)
    origin = explanation["measured_from"]
    lat, lon = (float(v[0]) for v in lat_lon(np.array([origin["x"]]), np.array([origin["y"]])))

    reach = shapely.Point(origin["x"], origin["y"]).buffer(1500)
    bounds = to_wgs84(np.array([shapely.box(*reach.bounds)]))[0].bounds
    m = new_map(bounds, tiles=tiles, title=t["title_proposal"].format(name=title), lang=lang)

    levels = explanation["proportional_fit"]["levels"]
    outlines = []
    for level, sql_level in (("wijk", "wijk"), ("buurt", "buurt")):
        code = levels[level]["code"]
        if code:
            area = read_area_codes(engine, sql_level, [code])
            if not area.empty:
                outlines.append((level, area))
    if outlines:
        geoms = np.concatenate([to_wgs84(a.geometry.to_numpy(), 1.0) for _, a in outlines])
        props = [
            {"t": f"{t[level]} <b>{e(str(n))}</b> ({e(str(c))})<br>{number(pop, lang)} {t['population']}"}
            for level, a in outlines
            for c, n, pop in zip(a.code, a.name, a.population, strict=True)
        ]
        AreaLayer(
            "areas",
            t["area_outline"],
            encode_areas(geoms, props),
            {"color": "#1b7837", "weight": 2, "fillOpacity": 0.05},
        ).add_to(m)

    if geometry.geom_type != "Point":
        shape = to_wgs84(np.array([geometry]))[0]
        AreaLayer(
            "footprint",
            t["proposal"],
            encode_areas(np.array([shape]), [{"t": e(title)}]),
            {"color": "#b2182b", "weight": 2, "fillOpacity": 0.3},
        ).add_to(m)

    origin_xy = (origin["x"], origin["y"])
    areas = walking_areas(data.network, origin_xy, lang) if explanation["network"]["snap_m"] is not None else None
    if areas is not None:  # on the walking network: 10 / 15 minute walking areas instead of circles
        areas.add_to(m)
        Register("walking", areas).add_to(m)
    else:
        circles = folium.FeatureGroup(name=t["circles"]).add_to(m)
        for radius in (500, 1000):
            folium.Circle([lat, lon], radius=radius, color="#444", weight=1, fill=False, dash_array="5 5").add_to(
                circles
            )
        Register("circles", circles).add_to(m)

    lines = []
    for cat, v in explanation["proximity"].items():
        layer = data.services.get(cat)
        if v["status"] not in ("measured", "upper_bound") or layer is None or layer.tree is None:
            continue  # an upper bound is a real nearest known point, drawn with its distance marked as such
        hit = np.flatnonzero(layer.ids == v.get("nearest_id"))
        i = int(hit[0]) if len(hit) else int(layer.tree.query([origin["x"], origin["y"]])[1])
        (slat,), (slon,) = lat_lon(layer.xy[i : i + 1, 0], layer.xy[i : i + 1, 1])
        colour = STYLE.get(cat, ("#444444", "?"))[0]
        bound = "&le; " if v["status"] == "upper_bound" else ""
        walked = walking_route(data.network, origin_xy, layer.xy[i]) if v.get("distance_kind") == "network" else None
        kind = f" ({t['walk']})" if walked else ""
        label = f"{e(category(cat, lang))} {bound}{number(v['distance_m'], lang)} m{kind}: {e(str(layer.names[i]))}"
        lines.append([lat, lon, float(slat), float(slon), colour, label, *([walked] if walked else [])])
    LineLayer("nearest", t["nearest"], lines).add_to(m)

    tables = Tables(lang)
    row = explanation_row(explanation, lat, lon, ident, title, tables)
    CandidateLayer(
        "proposal", t["proposal"], [row], meta(profile, data, tables, lang), cluster=False, open_popup=True
    ).add_to(m)
    legend = (
        f"<b>{e(title)}</b><br>{t['capacity']} {number(capacity, lang)} {t['places']} &middot; "
        f"{t['score']} {number(explanation['total'], lang, 2)}<br>"
        f"{t['profile']} {e(profile.name)} {e(profile.version)} &middot; "
        f"{t['vintage']} {e(explanation['data_vintage'])}"
        f"<br>{distance_kinds_note(explanation, lang, category) or t['distance_note']}"
    )
    Legend(legend).add_to(m)
    return finish(m)
