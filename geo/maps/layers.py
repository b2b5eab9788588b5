"""Map layers as small folium elements with compact data (canvas paths, bulk-added clustered markers).

Data goes into the page as compact JSON with ``<``, ``>`` and ``&`` escaped (:func:`js_json`); text shown as HTML
(tooltips, popups, legend) is escaped with :func:`html.escape` in Python before it gets here. Each layer registers
itself as ``opvangmatch.layers[key]`` so that tests and users can find and count it.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import FastMarkerCluster, Fullscreen
from folium.template import Template

from geo.maps.assets import LEAFLET_CSS, LEAFLET_JS, PLUGIN_CSS, PLUGIN_JS, PREFIX, use_local_assets

OWN_JS = [("opvangmatch_maps_js", PREFIX + "opvangmatch/maps.js")]
OWN_CSS = [("opvangmatch_maps_css", PREFIX + "opvangmatch/maps.css")]


def js_json(obj) -> str:
    """Compact JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def encode_areas(geoms: np.ndarray, properties: list[dict], scale: int = 10**5) -> str:
    """Polygons (lon/lat, rounded to ``1/scale``) as a JS expression that rebuilds a GeoJSON FeatureCollection.

    Coordinates travel as integers, each ring's first point absolute and the rest as deltas, with the ragged
    offsets of rings, polygons and geometries (``shapely.to_ragged_array``): about half the size of GeoJSON text.
    ``opvangmatch.decodeAreas`` in ``static/opvangmatch/maps.js`` undoes it.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return "opvangmatch.decodeAreas(" + js_json({"s": scale, "c": [], "r": [0], "p": [0], "g": [0]}) + ",[])"
    geoms = np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms], dtype=object)
    _, coords, (rings, polygons, geometries) = shapely.to_ragged_array(geoms)
    q = np.round(coords * scale).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    d[rings[:-1]] = q[rings[:-1]]
    encoded = {"s": scale, "c": d.ravel().tolist(), "r": rings.tolist(), "p": polygons.tolist()}
    encoded["g"] = geometries.tolist()
    return "opvangmatch.decodeAreas(" + js_json(encoded) + "," + js_json(properties) + ")"


class _Own(JSCSSMixin, Layer):
    default_js: ClassVar = [*LEAFLET_JS, *OWN_JS]
    default_css: ClassVar = [*LEAFLET_CSS, *OWN_CSS]


class AreaLayer(_Own):
    """Polygons drawn on the canvas, filled by a per-feature colour ``c``, with an escaped tooltip ``t``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = opvangmatch.register({{ this.key|tojson }}, L.geoJSON({{ this.data }}, {
            style: function (f) {
                var s = Object.assign({}, {{ this.style|tojson }});
                if (f.properties.c) { s.fillColor = f.properties.c; }
                return s;
            },
            onEachFeature: function (f, layer) {
                if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
            },
            interactive: {{ this.interactive|tojson }}
        }), {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, name: str, data: str, style: dict, *, show: bool = True, interactive: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AreaLayer"
        self.key, self.data, self.style, self.interactive = key, data, style, interactive


class PointLayer(_Own):
    """Markers with a round letter icon; rows ``[lat, lon, tooltip html, popup html or null]``; clustered if many."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var rows = {{ this.rows }};
            var icon = L.divIcon({className: "om-icon", iconSize: [20, 20],
                html: '<span style="background:{{ this.colour }}">{{ this.glyph }}</span>'});
            var markers = rows.map(function (r) {
                var m = L.marker([r[0], r[1]], {icon: icon});
                if (r[2]) { m.bindTooltip(r[2]); }
                if (r[3]) { m.bindPopup(r[3], {maxWidth: 320}); }
                return m;
            });
            var group = {% if this.cluster %}L.markerClusterGroup({maxClusterRadius: 40});
            group.addLayers(markers){% else %}L.featureGroup(markers){% endif %};
            return opvangmatch.register({{ this.key|tojson }}, group, {{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, key: str, name: str, rows: list, *, colour: str, glyph: str, cluster: bool, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.key, self.rows, self.cluster = key, js_json(rows), cluster
        self.colour, self.glyph = colour, glyph  # fixed values from code, not data
        if cluster:
            self.default_js = [*self.default_js, *PLUGIN_JS["MarkerCluster"]]
            self.default_css = [*self.default_css, *PLUGIN_CSS["MarkerCluster"]]


class CandidateCluster(FastMarkerCluster):
    """folium's FastMarkerCluster with our own callback (a canvas circle coloured by score, popup built on click).

    Unlike the stock template it passes compact JSON and adds all markers in one ``addLayers`` call, which
    Leaflet.markercluster clusters in bulk (much faster than one ``addTo`` per marker).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var meta = {{ this.meta }};
            opvangmatch.meta[{{ this.key|tojson }}] = meta;
            var callback = function (row) { return opvangmatch.candidateMarker(row, meta); };
            var data = {{ this.rows }};
            {%- if this.cluster %}
            var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
            cluster.addLayers(data.map(callback));
            {%- else %}
            var cluster = L.featureGroup(data.map(callback));
            {%- endif %}
            {%- if this.open_popup %}
            cluster.once("add", function () { setTimeout(function () { cluster.getLayers()[0].openPopup(); }, 0); });
            {%- endif %}
            return opvangmatch.register({{ this.key|tojson }}, cluster, {{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, key: str, name: str, rows: list, meta: dict, *, show: bool = True, cluster: bool = True, open_popup=False
    ):
        super().__init__([], callback="null", name=name, overlay=True, control=True, show=show)
        self.cluster, self.open_popup = cluster, open_popup
        use_local_assets(self, "MarkerCluster")
        self.default_js = [*LEAFLET_JS, *OWN_JS, *self.default_js]
        self.default_css = [*LEAFLET_CSS, *OWN_CSS, *self.default_css]
        self.options = {"maxClusterRadius": 45, "disableClusteringAtZoom": 18, "spiderfyOnMaxZoom": False}
        self.key, self.rows, self.meta = key, js_json(rows), js_json(meta)


class Register(JSCSSMixin, MacroElement):
    """Registers a stock folium layer (e.g. a FeatureGroup) as ``opvangmatch.layers[key]``; add after the layer."""

    default_js = OWN_JS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.register({{ this.key|tojson }}, {{ this.layer.get_name() }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, layer):
        super().__init__()
        self._name = "Register"
        self.key, self.layer = key, layer


class Legend(JSCSSMixin, MacroElement):
    """A fixed HTML legend (already escaped) as a Leaflet control."""

    default_js = OWN_JS
    default_css = OWN_CSS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html }};
                L.DomEvent.disableScrollPropagation(div);
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright", css_class: str = "om-legend"):
        super().__init__()
        self._name = "Legend"
        self.html, self.position, self.css_class = js_json(html_text), position, css_class


class SearchControl(JSCSSMixin, MacroElement):
    """Leaflet Search over a name index ``[{n: name, a: lat, o: lon}]``.

    The plugin puts a tip's text into ``innerHTML`` by default; ``buildTip`` here uses ``textContent`` so a
    name such as ``<img src=x onerror=...>`` stays text (the index holds raw names for matching).
    """

    default_js: ClassVar = [*LEAFLET_JS, *PLUGIN_JS["Search"]]
    default_css: ClassVar = [*LEAFLET_CSS, *PLUGIN_CSS["Search"]]
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var index = {{ this.index }};
            var control = new L.Control.Search({
                sourceData: function (text, callResponse) { callResponse(index); return {abort: function () {}}; },
                propertyName: "n", propertyLoc: ["a", "o"], initial: false, zoom: 16, marker: false,
                textPlaceholder: {{ this.placeholder|tojson }}, position: "topleft",
                buildTip: function (text) { var li = L.DomUtil.create("li", ""); li.textContent = text; return li; }
            });
            {{ this._parent.get_name() }}.addControl(control);
            opvangmatch.search = control;
        })();
        {% endmacro %}
        """
    )

    def __init__(self, index: list[dict], placeholder: str):
        super().__init__()
        self._name = "SearchControl"
        self.index, self.placeholder = js_json(index), placeholder


def fullscreen(lang: str) -> Fullscreen:
    words = {"nl": ("Volledig scherm", "Volledig scherm sluiten"), "en": ("Full screen", "Exit full screen")}[lang]
    return use_local_assets(Fullscreen(title=words[0], title_cancel=words[1], force_separate_button=True), "Fullscreen")
