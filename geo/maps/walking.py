"""Walking routes and walking areas (10 and 15 minutes, isochrones from the network) on a location map."""

from __future__ import annotations

import html

import folium
import numpy as np
import shapely

from geo.maps.geodata import to_wgs84
from geo.maps.labels import text
from geo.network.walk import minutes_to_metres, route, walking_area

MINUTES = (10, 15)


def distance_kinds_note(explanation: dict, lang: str, name) -> str | None:
    """Which measured categories were walked and which are straight lines (escaped); None if none walked."""
    drawn = ("measured", "upper_bound")
    measured = {c: v.get("distance_kind") for c, v in explanation["proximity"].items() if v["status"] in drawn}
    walked = [name(c, lang) for c, kind in measured.items() if kind == "network"]
    if not walked:
        return None
    straight = [name(c, lang) for c, kind in measured.items() if kind != "network"] or ["-"]
    words = text(lang)["walk_kinds"].format(walked=", ".join(walked), straight=", ".join(straight))
    return html.escape(words)


def _lat_lon_coords(geom: shapely.Geometry) -> list[list[float]]:
    return [[float(y), float(x)] for x, y in shapely.get_coordinates(to_wgs84(np.array([geom]))[0])]


def walking_areas(network, origin_xy, lang: str) -> folium.FeatureGroup | None:
    """The 10- and 15-minute walking areas from ``origin_xy`` (RD) as a layer; None off the network."""
    t = text(lang)
    group = folium.FeatureGroup(name=t["walk_areas"])
    drawn = False
    for minutes, colour in zip(MINUTES[::-1], ("#fdae61", "#d7191c"), strict=True):
        area = walking_area(network, origin_xy, minutes_to_metres(minutes)) if network is not None else None
        if area is None or area.is_empty:
            continue
        shape = to_wgs84(np.array([area]), 2.0)[0]
        folium.GeoJson(
            shapely.geometry.mapping(shape),
            style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.15},
        ).add_to(group)  # no tooltip: folium text goes through a template (tests/test_hostile_text.py)
        drawn = True
    return group if drawn else None


def walking_route(network, origin_xy, service_xy) -> list[list[float]] | None:
    """The walked line from the location to a service as [lat, lon] pairs; None if there is none."""
    line = route(network, origin_xy, service_xy) if network is not None else None
    return _lat_lon_coords(line) if line is not None else None
