"""The frame every map shares: local Leaflet, canvas rendering, optional tiles, title, controls, offline HTML."""

from __future__ import annotations

import html

import folium

from geo.errors import InputError
from geo.maps.assets import use_local_assets
from geo.maps.document import page_html
from geo.maps.labels import text
from geo.maps.layers import LayerControl, Legend, fullscreen

TILES = ("none", "osm", "brt", "luchtfoto")
# label key of the name (geo.maps.labels), URL template, attribution (all hosts are in document.TILE_HOSTS)
BACKGROUNDS = {
    "osm": (
        "tiles_osm",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "&copy; OpenStreetMap-bijdragers (ODbL)",
        19,
    ),
    "brt": (
        "tiles_brt",
        "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png",
        "Kaartgegevens &copy; Kadaster (PDOK, CC BY 4.0)",
        19,
    ),
    "luchtfoto": (
        "tiles_luchtfoto",
        "https://service.pdok.nl/hwh/luchtfotorgb/wmts/v1_0/Actueel_orthoHR/EPSG:3857/{z}/{x}/{y}.jpeg",
        "Luchtfoto &copy; Beeldmateriaal Nederland (PDOK, CC BY 4.0)",
        19,
    ),
}


def check_tiles(tiles: str) -> str:
    if tiles not in TILES:
        raise InputError(f"unknown tiles {tiles!r}; choose one of {', '.join(TILES)}")
    return tiles


def new_map(bounds: tuple[float, float, float, float], *, tiles: str, title: str, lang: str) -> folium.Map:
    """A map fitted to ``bounds`` (lon/lat: west, south, east, north) with local assets and canvas paths."""
    check_tiles(tiles)
    west, south, east, north = bounds
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # a metric-only scale bar is added by opvangmatch.layerControl
        zoom_start=8,
        max_zoom=19,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    m.options["max_zoom"] = 19  # without a tile layer Leaflet.markercluster needs the map's own maxZoom
    use_local_assets(m)
    if tiles != "none":  # the chosen background first (shown), the others and 'none' selectable in the layer list
        for key in (tiles, *(k for k in BACKGROUNDS if k != tiles)):
            label, url, attribution, zoom = BACKGROUNDS[key]
            name = text(lang)[label]
            folium.TileLayer(
                url, attr=attribution, name=name, overlay=False, control=True, show=key == tiles, max_zoom=zoom
            ).add_to(m)
        folium.FeatureGroup(name=text(lang)["tiles_none"], overlay=False, show=False).add_to(m)
    m.opvangmatch_title = title  # written into <title> by page_html, after rendering (never template source)
    m.fit_bounds([[south, west], [north, east]])
    Legend(f"<span>{html.escape(title)}</span>", position="topright", css_class="om-title").add_to(m)
    fullscreen(lang).add_to(m)
    return m


def finish(m: folium.Map) -> str:
    """Add the layer control (after every layer) and render self-contained HTML with its CSP."""
    LayerControl(m).add_to(m)
    return page_html(m)


def legend_classes(title: str, classes: dict, labels: list[str], nodata: str | None = None) -> str:
    """Legend block for a class colour scale; ``labels`` are fixed texts (escaped here anyway)."""
    rows = [
        f'<i data-colour="{html.escape(colour)}"></i>{html.escape(label)}<br>'
        for (_, colour), label in zip(classes["steps"], labels, strict=True)
    ]
    if nodata:
        rows.append(f'<i data-colour="{html.escape(classes["nodata"])}"></i>{html.escape(nodata)}<br>')
    return f"<h4>{html.escape(title)}</h4>" + "".join(rows)
