"""Service points: one toggleable layer per category, each with its own round letter icon."""

from __future__ import annotations

import html

import geopandas as gpd
import numpy as np

from geo.maps.geodata import lat_lon
from geo.maps.labels import category, text
from geo.maps.layers import PointLayer

STYLE = {  # colour, letter (Dutch initial)
    "gp": ("#e31a1c", "H"),
    "pharmacy": ("#33a02c", "A"),
    "supermarket": ("#ff7f00", "S"),
    "primary_school": ("#1f78b4", "B"),
    "secondary_school": ("#6a3d9a", "M"),
    "hospital": ("#b15928", "Z"),
    "library": ("#a6761d", "L"),
    "train_station": ("#222222", "T"),
    "bus_stop": ("#737373", "b"),
    "tram_metro_stop": ("#9e9e9e", "m"),
    "ferry_stop": ("#008b8b", "V"),
    "childcare": ("#e7298a", "K"),
}
CLUSTER_FROM = 150


def service_layers(services: gpd.GeoDataFrame, lang: str) -> list[PointLayer]:
    """One layer per category present, named like 'Voorzieningen: huisarts (12)'."""
    t, e = text(lang), html.escape
    layers = []
    for cat, group in services.groupby("category", sort=True):
        lat, lon = lat_lon(group.geometry.x.to_numpy(), group.geometry.y.to_numpy())
        label = category(cat, lang)
        rows = []
        for la, lo, name, source, year in zip(lat, lon, group["name"], group["source"], group["year"], strict=True):
            shown = e(name) if isinstance(name, str) and name else e(label)
            year_text = "" if year is None or (isinstance(year, float) and np.isnan(year)) else f" ({int(year)})"
            rows.append(
                [float(la), float(lo), f"{shown} &middot; {e(label)}", f"{t['source']}: {e(source)}{year_text}"]
            )
        colour, glyph = STYLE.get(cat, ("#444444", "?"))
        layers.append(
            PointLayer(
                f"service:{cat}",
                f"{t['services']}: {label} ({len(rows)})",
                rows,
                colour=colour,
                glyph=glyph,
                cluster=len(rows) >= CLUSTER_FROM,
            )
        )
    return layers


def service_legend(services: gpd.GeoDataFrame, lang: str) -> str:
    t = text(lang)
    items = []
    for cat, n in services.groupby("category", sort=True).size().items():
        colour, glyph = STYLE.get(cat, ("#444444", "?"))
        items.append(
            f'<span class="om-icon om-inline"><span data-colour="{html.escape(colour)}">{html.escape(glyph)}</span>'
            f"</span> {html.escape(category(cat, lang))} ({n})<br>"
        )
    return f"<h4>{t['services']}</h4>" + "".join(items)
