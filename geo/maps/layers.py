"""Map layers as small folium elements whose data travel outside every template.

Text from data (names, tooltips, popups, legends, layer names) must never become template source. branca
renders each element's macro and then parses that output *again* as a Jinja template (``MacroElement.render``
wraps it in ``Element(output)``), so anything written into a macro's output is template code. Hence every
element here keeps its data in ``payload``; its (constant) template writes only code-made names and reads the
data at run time with ``opvangmatch.value(<element name>)``. :func:`geo.maps.document.page_html` puts all
payloads into one ``<script type="application/json">`` block after rendering (see there). Text shown as HTML
(tooltips, popups, legend) is escaped with :func:`html.escape` in Python before it becomes a payload.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import Fullscreen
from folium.template import Template

from geo.maps.assets import LEAFLET_CSS, LEAFLET_JS, PLUGIN_CSS, PLUGIN_JS, PREFIX, use_local_assets
from geo.maps.labels import text

OWN_JS = [("opvangmatch_maps_js", PREFIX + "opvangmatch/maps.js")]
OWN_CSS = [("opvangmatch_maps_css", PREFIX + "opvangmatch/maps.css")]


def js_json(obj) -> str:
    """Compact JSON that is safe inside a ``<script>`` element (``<``, ``>``, ``&`` and line separators escaped)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


class Payload:
    """Mixin: an element whose data (``self.payload``, JSON) are read in the page by ``opvangmatch.value``."""

    payload: dict


def encode_areas(geoms: np.ndarray, properties: list[dict], scale: int = 10**5) -> dict:
    """Polygons (lon/lat, rounded to ``1/scale``) and their properties, compact, for :class:`AreaLayer`.

    Coordinates travel as integers, each ring's first point absolute and the rest as deltas, with the ragged
    offsets of rings, polygons and geometries (``shapely.to_ragged_array``): about half the size of GeoJSON text.
    ``opvangmatch.decodeAreas`` in ``static/opvangmatch/maps.js`` rebuilds a GeoJSON FeatureCollection.
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return {"areas": {"s": scale, "c": [], "r": [0], "p": [0], "g": [0]}, "props": []}
    geoms = np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms], dtype=object)
    _, coords, (rings, polygons, geometries) = shapely.to_ragged_array(geoms)
    q = np.round(coords * scale).astype(np.int64)
    d = np.diff(q, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    d[rings[:-1]] = q[rings[:-1]]
    encoded = {"s": scale, "c": d.ravel().tolist(), "r": rings.tolist(), "p": polygons.tolist()}
    encoded["g"] = geometries.tolist()
    return {"areas": encoded, "props": list(properties)}


class _Own(Payload, JSCSSMixin, Layer):
    default_js: ClassVar = [*LEAFLET_JS, *OWN_JS]
    default_css: ClassVar = [*LEAFLET_CSS, *OWN_CSS]


class AreaLayer(_Own):
    """Polygons drawn on the canvas, filled by a per-feature colour ``c``, with an escaped tooltip ``t``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = opvangmatch.areaLayer(opvangmatch.value("{{ this.get_name() }}"),
            {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, name: str, data: dict, style: dict, *, show: bool = True, interactive: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AreaLayer"
        self.payload = {"key": key, **data, "style": style, "interactive": interactive}


class PointLayer(_Own):
    """Markers with a round letter icon; rows ``[lat, lon, tooltip html, popup html or null]``; clustered if many."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = opvangmatch.pointLayer(opvangmatch.value("{{ this.get_name() }}"),
            {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, name: str, rows: list, *, colour: str, glyph: str, cluster: bool, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.payload = {"key": key, "rows": rows, "colour": colour, "glyph": glyph, "cluster": bool(cluster)}
        if cluster:
            self.default_js = [*self.default_js, *PLUGIN_JS["MarkerCluster"]]
            self.default_css = [*self.default_css, *PLUGIN_CSS["MarkerCluster"]]


class LineLayer(_Own):
    """Lines from a point to others, each with an end dot; rows ``[lat, lon, lat2, lon2, colour, tooltip html]``
    and optionally a 7th item: the line's own vertices ``[[lat, lon], ...]`` (a walked route)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = opvangmatch.lineLayer(opvangmatch.value("{{ this.get_name() }}"),
            {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, name: str, rows: list, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LineLayer"
        self.payload = {"key": key, "rows": rows}


class CandidateLayer(_Own):
    """Candidates drawn on one canvas by ``opvangmatch.candidateLayer`` (static/opvangmatch/maps.js): per zoom level a
    grid groups them into round badges coloured by the best score class they hold and labelled with how many; from
    :data:`CLUSTER_OFF` (or alone in a cell) each is a point coloured by its score; a popup is built on click from its
    compact row (:mod:`geo.maps.candidates`). No Leaflet object per candidate, so a province of 100,000 stays fast.

    ``excluded=True`` draws grey points and grey dashed badges. ``meta`` may be ``{"ref": key}``: the tables of an
    earlier candidate layer of the same map. ``cluster=False``: every candidate drawn on its own.
    """

    CLUSTER_OFF = 18  # from this zoom level every candidate is drawn on its own

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = opvangmatch.candidateLayer(opvangmatch.value("{{ this.get_name() }}"),
            {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        key: str,
        name: str,
        rows: list,
        meta: dict,
        *,
        show: bool = True,
        cluster: bool = True,
        open_popup=False,
        excluded: bool = False,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CandidateLayer"
        self.payload = {
            "key": key,
            "rows": rows,
            "meta": meta,
            "cluster_off": self.CLUSTER_OFF if cluster else None,
            "open_popup": bool(open_popup),
            "excluded": bool(excluded),
        }


class Register(Payload, JSCSSMixin, MacroElement):
    """Registers a stock folium layer (e.g. a FeatureGroup) as ``opvangmatch.layers[key]``; add after the layer."""

    default_js = OWN_JS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.register(opvangmatch.value("{{ this.get_name() }}").key, {{ this.layer.get_name() }},
            {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, key: str, layer):
        super().__init__()
        self._name = "Register"
        self.layer = layer
        self.payload = {"key": key}


class Legend(Payload, JSCSSMixin, MacroElement):
    """A fixed HTML legend (already escaped) as a Leaflet control."""

    default_js = OWN_JS
    default_css = OWN_CSS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.legend(opvangmatch.value("{{ this.get_name() }}"), {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str = "bottomright", css_class: str = "om-legend"):
        super().__init__()
        self._name = "Legend"
        self.payload = {"html": html_text, "position": position, "css_class": css_class}


class TaskPanel(Payload, JSCSSMixin, MacroElement):
    """The pinned task panel (bottom left), filled when a region or a search result is clicked.

    ``payload`` (:func:`geo.maps.taskpanel.panel_payload`) holds raw strings: the page sets them as text."""

    default_js = OWN_JS
    default_css = OWN_CSS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.taskPanel(opvangmatch.value("{{ this.get_name() }}"), {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict):
        super().__init__()
        self._name = "TaskPanel"
        self.payload = payload


class CandidateTools(Payload, JSCSSMixin, MacroElement):
    """Filters (profile, score, capacity, use), the ranked list of the visible candidates, CSV/GeoJSON export and
    the print layout, over the candidate layers ``keys`` (add after them). Built in the page with textContent."""

    default_js = OWN_JS
    default_css = OWN_CSS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.candidateTools(opvangmatch.value("{{ this.get_name() }}"), {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict):
        super().__init__()
        self._name = "CandidateTools"
        self.payload = payload


class SearchControl(Payload, JSCSSMixin, MacroElement):
    """Leaflet Search over a name index ``[{n: name, a: lat, o: lon}]``.

    The plugin puts a tip's text into ``innerHTML`` by default; ``opvangmatch.search`` gives it a ``buildTip``
    that uses ``textContent``, so a name such as ``<img src=x onerror=...>`` stays text (the index holds raw names).
    """

    default_js: ClassVar = [*LEAFLET_JS, *PLUGIN_JS["Search"], *OWN_JS]
    default_css: ClassVar = [*LEAFLET_CSS, *PLUGIN_CSS["Search"]]
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.searchControl(opvangmatch.value("{{ this.get_name() }}"), {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, index: list[dict], placeholder: str, *, lang: str = "nl"):
        super().__init__()
        self._name = "SearchControl"
        t = text(lang)
        self.payload = {"index": index, "placeholder": placeholder, "not_found": t["not_found"], "cancel": t["cancel"]}


class LayerControl(Payload, JSCSSMixin, MacroElement):
    """Leaflet's layer control over the map's layers (add last); their names, which may hold data, are payload."""

    default_js = OWN_JS
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        opvangmatch.layerControl(opvangmatch.value("{{ this.get_name() }}"), [
            {%- for layer in this.layers %}{{ layer.get_name() }},{% endfor -%}
        ], {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, m):
        super().__init__()
        self._name = "LayerControl"
        self.layers = [c for c in m._children.values() if isinstance(c, Layer) and c.control]
        self.payload = {
            "names": [c.layer_name for c in self.layers],
            "overlay": [bool(c.overlay) for c in self.layers],
        }


def fullscreen(lang: str) -> Fullscreen:
    t = text(lang)
    button = Fullscreen(title=t["fullscreen"], title_cancel=t["fullscreen_exit"], force_separate_button=True)
    return use_local_assets(button, "Fullscreen")
