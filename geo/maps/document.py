"""The map page: folium renders the code, data go in beside it as JSON, and a CSP allows only what is inlined.

Why: branca parses each element's rendered macro again as a Jinja template, so any text that reaches a template
is template source (``{{7*7}}`` became ``49``; worse reached Python). Here data never reach a template: each
element of :mod:`geo.maps.layers` keeps its data in ``payload``; :func:`page_html` renders the elements (code
only), then inserts the title and one ``<script type="application/json">`` block with every payload, escaped for
that context, into the rendered text. The page's scripts read it with ``opvangmatch.value(name)``.

The Content-Security-Policy (:func:`content_security_policy`) lists the SHA-256 of each inline script and style
of the page, so nothing else runs (no injected script, no event-handler attribute, no ``javascript:`` URL); images
may come only from the page itself (``data:``) and the tile servers in :data:`TILE_HOSTS`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

from branca.element import Element

from geo.maps.assets import inline_assets
from geo.maps.layers import Payload, js_json

TILE_HOSTS = ("https://tile.openstreetmap.org", "https://service.pdok.nl")
DATA_ID = "opvangmatch-data"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _walk(element: Element):
    yield element
    for child in element._children.values():
        yield from _walk(child)


def payloads(root: Element) -> dict[str, object]:
    """Every element's payload by element name (names are code-made: ``<class>_<random hex>``)."""
    return {el.get_name(): el.payload for el in _walk(root) if isinstance(el, Payload)}


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(page: str) -> str:
    """The CSP of a rendered page: its own inline scripts and styles (by hash), images from tiles and data: URIs."""
    inline = _INLINE.findall(page)  # one pass over the page (a region map is megabytes)
    scripts = sorted({_hash(body) for kind, body in inline if kind == "script"})
    styles = sorted({_hash(body) for kind, body in inline if kind == "style"})
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(scripts or ["'none'"]),
            "style-src " + " ".join(styles or ["'none'"]),
            "img-src data: " + " ".join(TILE_HOSTS),
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _insert_once(text: str, marker: str, addition: str) -> str:
    head, found, tail = text.partition(marker)
    if not found:
        raise RuntimeError(f"rendered map has no {marker}")
    if marker in tail:  # e.g. an inlined script that writes "<body>": the addition would land inside it
        raise RuntimeError(f"rendered map has {marker} more than once; keep it out of inlined code")
    return head + found + addition + tail


def page_html(m) -> str:
    """Render a folium map as one self-contained page: code from templates, data as JSON, a CSP meta element."""
    root = m.get_root()
    data = payloads(root)
    shell = inline_assets(root.render())  # templates see only code; no payload text exists in this string
    title = getattr(m, "opvangmatch_title", "")
    block = f'<script type="application/json" id="{DATA_ID}">{js_json(data)}</script>'
    page = _insert_once(shell, "<head>", f"\n<title>{html.escape(title)}</title>\n")
    page = _insert_once(page, "<body>", "\n" + block)
    policy = content_security_policy(page)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
    return _insert_once(page, "<head>", "\n" + meta)


def page_policy(page: str) -> str:
    """The CSP a page carries in its meta element (for the HTTP header of served maps)."""
    found = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    if not found:
        raise RuntimeError("map page has no Content-Security-Policy")
    return html.unescape(found.group(1))
