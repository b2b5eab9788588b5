"""Leaflet and its plugins from ``geo/maps/static`` (npm tarballs, see SOURCES.md), inlined into the HTML.

Folium points every map and plugin at CDNs. :func:`use_local_assets` points an element at ``local:`` URLs
instead, and :func:`inline_assets` replaces, in the rendered figure, each ``local:`` link by the file's content
(CSS images become data URIs). A map written this way opens without internet; only tiles need it.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from functools import cache
from pathlib import Path

from branca.element import Element

STATIC = Path(__file__).with_name("static")
PREFIX = "local:"

LEAFLET_JS = [("leaflet", PREFIX + "leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", PREFIX + "leaflet/leaflet.css")]
PLUGIN_JS = {
    "MarkerCluster": [("markerclusterjs", PREFIX + "markercluster/leaflet.markercluster.js")],
    "Fullscreen": [("Control.Fullscreen.js", PREFIX + "fullscreen/Control.FullScreen.js")],
    "Search": [("Leaflet.Search.js", PREFIX + "search/leaflet-search.min.js")],
}
PLUGIN_CSS = {
    "MarkerCluster": [
        ("markerclustercss", PREFIX + "markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", PREFIX + "markercluster/MarkerCluster.Default.css"),
    ],
    "Fullscreen": [("Control.Fullscreen.css", PREFIX + "fullscreen/Control.FullScreen.css")],
    "Search": [("Leaflet.Search.css", PREFIX + "search/leaflet-search.min.css")],
}

_SCRIPT = re.compile(r'<script src="local:([^"]+)"></script>')
_STYLE = re.compile(r'<link rel="stylesheet" href="local:([^"]+)"/>')
_REMOTE = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="(?:https?:)?//[^"]*"')
_CSS_URL = re.compile(r"url\((['\"]?)([^)'\"]+)\1\)")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


def use_local_assets(element: Element, plugin: str | None = None) -> Element:
    """Point a folium Map (``plugin=None``) or plugin element at the shipped copies; returns it."""
    if plugin is None:
        element.default_js = list(LEAFLET_JS)
        element.default_css = list(LEAFLET_CSS)
    else:
        element.default_js = list(PLUGIN_JS[plugin])
        element.default_css = list(PLUGIN_CSS[plugin])
    return element


@cache
def _script(name: str) -> str:
    code = _SOURCE_MAP.sub("", (STATIC / name).read_text(encoding="utf-8"))
    return code.replace("</script", "<\\/script")


def _data_uri(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


@cache
def _style(name: str) -> str:
    path = STATIC / name

    def inline(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")):
            return match.group(0)
        for candidate in (path.parent / ref, path.parent / "images" / Path(ref).name):
            if candidate.resolve().is_file() and STATIC in candidate.resolve().parents:
                return f'url("{_data_uri(candidate.resolve())}")'
        raise FileNotFoundError(f"{name} refers to {ref}, which is not shipped in {STATIC}")

    return _CSS_URL.sub(inline, path.read_text(encoding="utf-8")).replace("</style", "<\\/style")


def inline_assets(html: str) -> str:
    """Rendered folium HTML with every ``local:`` script and stylesheet inlined.

    Raises ``RuntimeError`` when a script or stylesheet would still come from the network (a map element
    not pointed at the local copies): such a map would be blank offline.
    """
    html = _SCRIPT.sub(lambda m: f"<script>{_script(m.group(1))}</script>", html)
    html = _STYLE.sub(lambda m: f"<style>{_style(m.group(1))}</style>", html)
    remote = _REMOTE.search(html)
    if remote:
        raise RuntimeError(f"map would load {remote.group(0)!r} from the network; point it at geo/maps/static")
    return html
