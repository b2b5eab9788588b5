"""Text from data and users is data in every map: never template source, never markup, never script.

Generated strings full of template (``{{ }}``, ``{% %}``, ``{# #}``), HTML, JS and URL metacharacters go through
every text path (the loaders that carry names, ``POST/PATCH /proposals`` over HTTP, the CLI) into every map
(overview, region, proposal; the API's ``/maps/*``). Each map must render, show the text literally, and run no
injected code. Three levels, cheap to dear:

- ``test_hostile_text_renders_literally``: the map builders' own text paths in memory, many examples; the page
  is parsed (not run): data only in the JSON block, shown text equal to the input, CSP hashes match the page.
- ``test_hostile_names_through_loaders_and_api``: a database of its own, each example loaded through the real
  loaders, proposals through a live API server (POST, PATCH), maps from the library and over HTTP; fewer examples.
- ``test_hostile_maps_in_chromium``: the same data, maps written by the CLI and served by the API, in headless
  Chromium (network refused but for the local API server): the text in the DOM, no dialog, no injected element,
  no CSP violation. ``test_served_map_csp_allows_its_own_code_and_blocks_injected``: the CSP at work.
"""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import html
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from geo.maps.base import finish, new_map
from geo.maps.candidates import Tables
from geo.maps.layers import (
    AreaLayer,
    CandidateLayer,
    CandidateTools,
    Legend,
    LineLayer,
    Register,
    SearchControl,
    TaskPanel,
    encode_areas,
)
from geo.maps.reception import reception_layer, unlocated_legend
from geo.maps.services import service_layers, service_legend
from geo.maps.taskpanel import panel
from geo.settings import PROJECT_ROOT
from tests.helpers import offline_chromium

MAPS = PROJECT_ROOT / "geo" / "maps"
# OPVANGMATCH_EXPLICIT_EXAMPLES=1 runs the explicit examples only (e.g. to see the tests fail on older code fast)
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
PHASES = [Phase.explicit] if os.environ.get("OPVANGMATCH_EXPLICIT_EXAMPLES") else list(Phase)
DATA = PROJECT_ROOT / "data"

FRAGMENTS = [
    "{{7*7}}",
    "{{ cycler.__init__.__globals__.os.name }}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{% for x in range(3) %}x{% endfor %}",
    "{% raw %}",
    "{#",
    "#}",
    "{# c #}",
    "<script>alert(1)</script>",
    "</script>",
    "<!--",
    "-->",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(2)>",
    "<b>",
    "</style>",
    '"',
    "'",
    "&",
    "&amp;",
    "&lt;",
    "`",
    "${alert(3)}",
    "\\",
    "</",
    "javascript:alert(4)",
    "%",
    "%3Cscript%3E",
    "%s",
    "?a=1&b=2",
    "#top",
    "{",
    "}",
    "\u2028",
    "\u00e9\u00df\u20ac",
]
# no control characters (CR is rewritten by every HTML parser; NUL is a separate issue) and no leading/trailing
# blanks (loaders strip them; the value is wrapped in markers below anyway)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
HOSTILE = st.lists(st.one_of(st.sampled_from(FRAGMENTS), TEXT), min_size=1, max_size=7).map("".join)
SHORT = HOSTILE.map(lambda s: s[:150])  # a proposal title has at most 200 characters
NASTY = "{{7*7}} {{ cycler.__init__.__globals__.os.name }} {% if 1 %}<script>alert(1)</script>{# x"
SHOWN_TAGS = {"b", "br", "i", "span", "div", "h4", "ul", "li", "table", "tr", "td", "a"}
SHOWN_ATTRS = {"class", "data-colour", "href", "rel", "target"}


def marked(n: int, text: str) -> str:
    """The value under test between markers: easy to find, never blank at either end."""
    return f"Q{n}[{text}]Q"


# --- parsing a page without running it ----------------------------------------------------------------------------


class Page(HTMLParser):
    """A map page split into title, inline scripts/styles, the JSON data block and everything else."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.title, self.scripts, self.styles, self.data, self.meta_csp = "", [], [], None, None
        self.other: list[str] = []
        self._in: tuple | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.meta_csp = a["content"]
        if tag in ("script", "style", "title"):
            self._in = (tag, a)
        else:
            self.other.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        self._in = None if tag in ("script", "style", "title") else self._in

    def handle_data(self, data):
        if self._in is None:
            self.other.append(data)
            return
        tag, attrs = self._in
        if tag == "title":
            self.title += data
        elif tag == "style":
            self.styles.append(data)
        elif attrs.get("type") == "application/json":
            assert self.data is None, "one data block"
            self.data = json.loads(data)
        else:
            self.scripts.append(data)


class Fragment(HTMLParser):
    """Text content and tags of an HTML fragment (a tooltip, popup or legend)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text, self.tags, self.attrs = [], set(), set()
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(k for k, _ in attrs)
        for k, v in attrs:  # a link goes only to an http(s) address, never javascript: or data:
            assert k != "href" or re.fullmatch(r"https?://[^\s\"'<>]+", v or ""), v

    def handle_data(self, data):
        self.text.append(data)


# set as text in the page (search index, layer names; task panels: opvangmatch.pin uses textContent only)
RAW_KEYS = {
    "n",
    "names",
    "placeholder",
    "key",
    "name",
    "province",
    "source",
    "host",
    "unlocated",
    "note",
    "url",
    "coverage",
    "title",  # the candidate tools' heading and print title (textContent)
}
URL_KEYS = {"url"}  # set as a link's href by opvangmatch.link only when it is an http(s) URL


def strings(obj, key=None):
    """(key, string) for every string in a payload; a list's items carry the list's key."""
    if isinstance(obj, str):
        yield key, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v, key)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def check_page(text: str, values: list[str]) -> Page:
    """The page holds each value literally as data, never in code; shown HTML is only our markup; CSP matches."""
    page = Page(text)
    assert page.data is not None, "the page carries its data as one JSON block"
    code = "".join(page.scripts) + "".join(page.styles) + "".join(page.other)
    for n in range(len(values)):
        marker = f"Q{n}["
        assert marker not in code and html.escape(marker) not in code, f"value {n} reached code or markup"
    shown = []
    for key, s in strings(page.data):
        if "Q" not in s:
            continue
        if key in URL_KEYS:
            assert re.fullmatch(r"https?://\S+", s), f"a link target that is not an http(s) URL: {s!r}"
        if key in RAW_KEYS:
            shown.append(s)
            continue
        fragment = Fragment(s)  # HTML shown in a tooltip, popup or legend: our markup, the value as text
        assert fragment.tags <= SHOWN_TAGS and fragment.attrs <= SHOWN_ATTRS, (fragment.tags, fragment.attrs, s)
        shown.append("".join(fragment.text))
    everything = "\n".join([page.title, *shown])
    for n, value in enumerate(values):
        assert value in everything, f"value {n} {value!r} is not shown literally"
    # the CSP allows exactly the page's inline scripts and styles
    assert page.meta_csp, "the page carries a Content-Security-Policy"
    policy = dict(p.strip().split(" ", 1) for p in page.meta_csp.split(";"))
    assert set(policy["script-src"].split()) == {sha256(s) for s in page.scripts}
    assert set(policy["style-src"].split()) == {sha256(s) for s in page.styles}
    assert "unsafe" not in page.meta_csp and policy["default-src"] == "'none'"
    return page


# --- 1. structure: no data can become template source ---------------------------------------------------------------

TEMPLATE_CALLS = {"Template", "Element", "Html", "IFrame", "Popup", "Tooltip", "Figure", "Div", "DivIcon"}
TEXT_KEYWORDS = {"tooltip", "popup", "html", "template"}


def test_template_source_in_the_maps_is_constant():
    """Every Template/Element in geo/maps is built from a literal; no folium text argument carries data."""
    problems = []
    for path in sorted(MAPS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = f"{path.name}:{node.lineno}"
            if name in TEMPLATE_CALLS and not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args
            ):
                problems.append(f"{where} {name}() with a non-literal argument")
            problems += [f"{where} {name}({k.arg}=...)" for k in node.keywords if k.arg in TEXT_KEYWORDS]
            if name == "add_child" and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Attribute) and owner.attr in {"header", "html", "script"}:
                    problems.append(f"{where} adds to the figure's {owner.attr} directly")
            if name == "LayerControl" and isinstance(node.func, ast.Attribute):
                problems.append(f"{where} folium.LayerControl puts layer names into its template")
            if name == "Template" and node.args and isinstance(node.args[0], ast.Constant):
                # what a template writes into its output is parsed again as template source: only code-made
                # element names may be written there, never an attribute that could carry data
                for tag in re.findall(r"\{\{(.*?)\}\}|\{%-?(.*?)-?%\}", node.args[0].value, re.S):
                    expression = (tag[0] or tag[1]).strip()
                    if not ALLOWED_IN_TEMPLATES.fullmatch(expression):
                        problems.append(f"{where} template writes {expression!r}")
    assert problems == []


ALLOWED_IN_TEMPLATES = re.compile(
    r"(this(\._parent|\.layer)?|layer)\.get_name\(\)"
    r"|macro script\(this, kwargs\)|endmacro|for layer in this\.layers|endfor"
)


def test_the_property_map_holds_every_element_with_a_template():
    """The in-memory property test below renders every element class of geo/maps that has a template of its own,
    so a new element with its own template is covered (or this test names it)."""
    import inspect

    from branca.utilities import _camelify

    import geo.maps.layers as layers

    page = hostile_map(["plain text"])
    own = [
        cls
        for _name, cls in inspect.getmembers(layers, inspect.isclass)
        if cls.__module__ == layers.__name__ and "_template" in vars(cls)
    ]
    assert len(own) >= 9
    missing = [cls.__name__ for cls in own if f"{_camelify(cls.__name__)}_" not in page]
    assert missing == []


# --- 2. the builders' text paths in memory, many examples ---------------------------------------------------------


def hostile_map(values: list[str]) -> str:
    """A map through the real text paths of the builders: services, reception, legends, areas, candidates, search,
    layer names and title; ``values`` cycle over the slots (a proposal's nearest lines: the database tests)."""
    v = lambda i: values[i % len(values)]  # noqa: E731
    e = html.escape
    services = gpd.GeoDataFrame(
        {
            "category": ["supermarket", "gp", "supermarket"],
            "name": [v(0), v(1), v(2)],
            "source": [v(3), "x", v(4)],
            "year": [2024, None, 2023],
        },
        geometry=shapely.points([[205500, 446500], [205600, 446600], [205700, 446400]]),
        crs=28992,
    )
    reception = pd.DataFrame(
        {
            "name": [v(0), v(1)],
            "municipality_name": [v(2), v(3)],
            "municipality_code": ["GM0221", "GM0221"],
            "kind": [v(4), None],
            "capacity": [40, None],
            "capacity_text": [v(5), None],
            "period": [v(6), None],
            "source": [v(7), v(0)],
            "source_url": [f"https://example.org/{v(1)}", f"javascript:{v(2)}"],
            "lat": [52.01, None],
            "lon": [6.13, None],
        }
    )
    m = new_map((6.1, 52.0, 6.2, 52.05), tiles="none", title=v(0), lang="nl")
    for layer in service_layers(services, "nl"):
        layer.add_to(m)
    reception_layer(reception, "nl").add_to(m)
    area = shapely.box(6.12, 52.0, 6.14, 52.02)
    AreaLayer("areas", v(1), encode_areas([area], [{"t": e(v(2))}]), {"color": "#000"}).add_to(m)
    tables = Tables("nl")
    row = [52.01, 6.13, e(v(5)), 0.5, 0, 1, 40, [0.5, 0.5, 0.5], [0.1, 0.1, 0.1], [], 10, 20, tables.flags([]), e(v(6))]
    row.append([2, 0.5, 1])  # band, measured share, use state (score model v2)
    row.append([e(v(0)), e(v(1)), 100, 1900])  # address, use, floor area, build year
    tables.name(v(7))
    meta = {"text": {}, "names": tables.names, "flagsets": tables.flagsets, "profile": e(v(0)), "vintage": e(v(1))}
    candidates = CandidateLayer("candidates", v(2), [row], meta, cluster=False).add_to(m)
    Register("candidates_again", candidates).add_to(m)
    CandidateTools(
        {"keys": ["candidates"], "text": {}, "locale": "nl-NL", "title": v(3), "vintage": "0123abcd"}
    ).add_to(m)
    route = [52.0, 6.1, 52.01, 6.11, "#000", e(v(5)), [[52.0, 6.1], [52.005, 6.105], [52.01, 6.11]]]
    LineLayer("nearest", v(6), [route]).add_to(m)
    Legend(service_legend(services, "nl") + unlocated_legend(reception, "nl") + e(v(3))).add_to(m)
    task = pd.Series(
        {
            "name": v(4),
            "population": 10,
            "required": 5,
            "required_basis": "official",
            "realised": 1,
            "undated": 0,
            "pipeline": 0,
            "gap": 4,
            "gap_per_1000": 0.4,
            "share_realised": 0.2,
            "required_source": f"{v(5)} https://example.org/{v(6)}",
            "coverage_note": v(3),
        }
    )
    TaskPanel({"text": {}, "provinces": {"PV25": panel(task, "PV25", "province", None, [v(7)])}}).add_to(m)
    SearchControl([{"n": v(i), "a": 52.0, "o": 6.1} for i in range(len(values))], v(4)).add_to(m)
    return finish(m)


@settings(max_examples=300, phases=PHASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HOSTILE, min_size=1, max_size=4))
@example([NASTY])
@example(["{{", "{%", "{#"])
def test_hostile_text_renders_literally(texts):
    values = [marked(n, t) for n, t in enumerate(texts)]
    page = check_page(hostile_map(values), values)
    assert page.title == values[0]


# --- 3. real loaders, the API over HTTP and the CLI, into every map ------------------------------------------------


DOESBURG_LONLAT = (6.1375, 52.0128)


@pytest.fixture(scope="module")
def hostile(databases, tmp_path_factory):
    """A database of its own with the base data of Doesburg's map; a live API server on it; the keys."""
    from api.auth import create_key
    from geo.db import prepare_database
    from geo.io import load
    from tests.api_helpers import live_server
    from tests.helpers import cli_env

    settings_ = databases.create("hostile")
    engine = prepare_database(settings_)
    for kind, path, options in (
        ("provinces", DATA / "cbs/provincie_2023.geojson", {}),
        ("municipalities", DATA / "cbs/gemeenten_2024_kwb.geojson", {}),
        ("municipality-provinces", DATA / "cbs/gemeentelijke-indeling.csv", {}),
        ("buildings", DATA / "bag/0221PND15092020.zip", {}),
        ("task", DATA / "spreidingswet/provinciale_opgave_2024.csv", {"period": "2024"}),
    ):
        load(engine, kind, path, **options)
    wijken = json.loads((DATA / "cbs/wijken_2024_kwb.geojson").read_text(encoding="utf-8"))
    wijken["features"] = [f for f in wijken["features"] if f["properties"].get("gemeentecode") == "GM0221"]
    keys = {
        "doesburg": create_key(engine, "municipality", "GM0221", label="tests"),
        "viewer": create_key(engine, "viewer", label="tests"),
    }
    home = tmp_path_factory.mktemp("home")
    env = cli_env(settings_, home)
    with live_server(env, home / "server.log") as url:
        yield {"engine": engine, "url": url, "keys": keys, "env": env, "wijken": wijken, "settings": settings_}
        engine.dispose()


def load_hostile(h, folder: Path, values: list[str]) -> None:
    """Every loader that carries a name, each with one of ``values`` (cycled)."""
    from geo.io import load

    v = lambda i: values[i % len(values)]  # noqa: E731
    engine = h["engine"]
    lon, lat = DOESBURG_LONLAT
    points = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": v(0)}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
        ],
    }
    (folder / "points.geojson").write_text(json.dumps(points), encoding="utf-8")
    load(engine, "points", folder / "points.geojson", category="supermarket", source="points:hostile")
    schools = gpd.GeoDataFrame(
        {"BRIN_NUMMER": ["00AA"], "VESTIGINGSNUMMER": ["00AA00"], "VESTIGINGSNAAM": [v(1)]},
        geometry=[shapely.Point(lon + 0.002, lat)],
        crs=4326,
    )
    schools.to_file(folder / "schools.gpkg", layer="bo", driver="GPKG")
    load(engine, "schools", folder / "schools.gpkg", source="schools:hostile")
    with (folder / "stops.txt").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type"])
        w.writerow(["1", v(2), lat + 0.001, lon + 0.001, "0"])
    load(engine, "gtfs-stops", folder / "stops.txt", source="gtfs:hostile")
    stations = [{"stopplacecode": "x", "publicname": v(3), "centroid_wgs84": {"lon": lon - 0.002, "lat": lat}}]
    (folder / "stations.json").write_text(json.dumps(stations), encoding="utf-8")
    load(engine, "chb-stations", folder / "stations.json", source="stations:hostile")
    with (folder / "reception.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["gemeente", "gemeentecode", "locatie_zoals_in_bron", "soort", "capaciteit_zoals_in_bron", "lon", "lat"]
        )
        w.writerow(["Doesburg", "GM0221", v(4), v(5), "40", lon + 0.003, lat + 0.001])
        w.writerow(["Doesburg", "GM0221", v(6), "azc", "30", "", ""])
    load(engine, "reception", folder / "reception.csv", source="reception:hostile")
    wijken = json.loads(json.dumps(h["wijken"]))
    for i, feature in enumerate(wijken["features"]):
        feature["properties"]["wijknaam"] = v(7 + i)
    (folder / "wijken.geojson").write_text(json.dumps(wijken), encoding="utf-8")
    load(engine, "districts", folder / "wijken.geojson", source="districts:hostile")


def proposal_over_http(h, title: str, description: str, new_title: str) -> int:
    """POST a proposal as Doesburg, then PATCH its title, location and capacity; returns its id."""
    key = {"X-API-Key": h["keys"]["doesburg"]}
    body = {"title": title, "description": description, "target_group": "families"}
    made = httpx.post(f"{h['url']}/proposals", json=body, headers=key, timeout=60)
    assert made.status_code == 201, made.text
    pid, version = made.json()["id"], made.json()["version"]
    patch = {
        "version": version,
        "title": new_title,
        "capacity": 40,
        "location": {"type": "Point", "coordinates": list(DOESBURG_LONLAT)},
    }
    changed = httpx.patch(f"{h['url']}/proposals/{pid}", json=patch, headers=key, timeout=60)
    assert changed.status_code == 200, changed.text
    return pid


def write_maps(h, folder: Path, pid: int) -> dict[str, Path]:
    """The three maps through the CLI (the console script, as a user runs it)."""
    from tests.helpers import opvangmatch

    out = {}
    for name, args in (
        ("overview", ["map", "overview", "--tiles", "none"]),
        ("region", ["map", "region", "--province", "PV25", "--municipality", "GM0221", "--tiles", "none"]),
        ("proposal", ["map", "proposal", str(pid), "--tiles", "none"]),
    ):
        path = folder / f"cli_{name}.html"
        done = opvangmatch([*args, "--out", str(path), "--lang", "en"], h["env"])
        assert done.returncode == 0, done.stderr[-2000:]
        out[name] = path
    return out


def served(h, pid: int, key: str) -> dict[str, httpx.Response]:
    headers = {"X-API-Key": h["keys"][key]}
    return {
        name: httpx.get(f"{h['url']}{path}", headers=headers, timeout=120)
        for name, path in (
            ("overview", "/maps/overview?tiles=none"),
            ("region", "/maps/region?province=PV25&municipality=GM0221&tiles=none"),
            ("proposal", f"/maps/proposals/{pid}?tiles=none"),
        )
    }


def check_served(response: httpx.Response, values: list[str]) -> None:
    assert response.status_code == 200, response.text[:500]
    page = check_page(response.text, values)
    header = response.headers["content-security-policy"]
    assert header == html.unescape(page.meta_csp) + "; frame-ancestors 'none'"


@settings(max_examples=3, phases=PHASES, deadline=None, suppress_health_check=SLOW)
@given(st.lists(SHORT, min_size=3, max_size=3))
@example([NASTY, "{{", "<img src=x onerror=alert(1)>{% endif %}"])
@pytest.mark.live
def test_hostile_names_through_loaders_and_api(hostile, tmp_path_factory, texts):
    from geo.maps import overview_map, proposal_map, region_map

    folder = tmp_path_factory.mktemp("hostile")
    names = [marked(n, t) for n, t in enumerate(texts)]
    load_hostile(hostile, folder, names)
    title, description, new_title = (marked(10 + n, t) for n, t in enumerate(texts))
    pid = proposal_over_http(hostile, title, description, new_title.strip())
    new_title = new_title.strip()
    engine = hostile["engine"]
    # library
    check_page(overview_map(engine, tiles="none", lang="en"), names)  # reception rows, wijk names
    check_page(region_map(engine, "PV25", municipality="GM0221", tiles="none", lang="en"), names)
    check_page(proposal_map(engine, pid, tiles="none", lang="en"), [new_title])
    # the CLI's maps: in test_hostile_maps_in_chromium (each CLI map costs a process that loads everything)
    # API over HTTP, with the CSP as header
    pages = served(hostile, pid, "doesburg")
    check_served(pages["overview"], names)
    check_served(pages["region"], names)
    check_served(pages["proposal"], [new_title])


# --- 4. in headless Chromium -----------------------------------------------------------------------------------------

WATCH = """() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", e => window.__violations.push(e.violatedDirective + " " +
        e.blockedURI));
}"""
INJECTED = """() => Array.from(document.querySelectorAll("*")).filter(el =>
    ["IMG", "IFRAME", "OBJECT", "EMBED", "FRAME"].includes(el.tagName) ||
    (el.tagName === "SCRIPT" && el.src) ||
    Array.from(el.attributes).some(a => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value))
).map(el => el.outerHTML.slice(0, 80))"""
TEXT_IN_DOM = """() => {
    // the text the user sees: every text node but those of scripts and styles (the JSON block holds the data)
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let out = document.title + "\\n", node;
    while ((node = walk.nextNode())) {
        const tag = node.parentNode.tagName;
        if (tag !== "SCRIPT" && tag !== "STYLE") out += node.data + "\\n";
    }
    return out;
}"""
SHOW_ALL = """() => {
    // open every tooltip and popup of the small layers so that their text is in the DOM
    for (const [key, layer] of Object.entries(opvangmatch.layers)) {
        // candidates are drawn on a canvas (popups built on click; the proposal's opens by itself)
        if (key === "municipalities" || layer instanceof opvangmatch.CandidateCanvas) continue;
        layer.eachLayer(l => { if (l.getTooltip && l.getTooltip()) { l.openTooltip(); } });
    }
    const r = opvangmatch.layers.reception;
    if (r) r.getLayers()[0].openPopup();
    // the task panel of Doesburg (reception rows without coordinates are listed there), built with textContent
    const doesburg = opvangmatch.regions.GM0221;
    if (doesburg) opvangmatch.pin(doesburg.feature.properties.p, doesburg);
}"""


SCREENSHOT = """() => {
    opvangmatch.map.eachLayer(l => { if (l.closeTooltip) l.closeTooltip(); });
    opvangmatch.layers.reception.getLayers()[0].openPopup();
}"""


@pytest.fixture(scope="module")
def chromium_context(hostile):
    with offline_chromium(allow=hostile["url"] + "/") as context:
        yield context


def open_page(context, target: str, key: str | None = None):
    from geo.maps.browser import LAYERS_DRAWN

    page = context.new_page()
    if key:
        page.set_extra_http_headers({"X-API-Key": key})
    errors, dialogs = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(f"({WATCH})()")
    page.goto(target, wait_until="load", timeout=60_000)
    page.wait_for_function(LAYERS_DRAWN, timeout=60_000)
    return page, errors, dialogs


def check_in_browser(page, errors, dialogs, values: list[str]) -> str:
    page.evaluate(SHOW_ALL)
    page.wait_for_timeout(100)
    text = page.evaluate(TEXT_IN_DOM)
    for n, value in enumerate(values):
        assert value in text, f"value {n} {value!r} not in the page text"
    assert page.evaluate(INJECTED) == []
    assert page.evaluate("() => window.__violations") == []
    assert page.evaluate("() => window.__pwned === undefined")
    assert dialogs == [] and errors == [], (dialogs, errors)
    return text


@pytest.mark.browser
@pytest.mark.live
@settings(max_examples=1, phases=PHASES, deadline=None, suppress_health_check=SLOW)
@given(st.lists(SHORT, min_size=3, max_size=3))
@example(
    [
        "{{7*7}}<img src=x onerror=window.__pwned=1>{% raw %}",
        "</script><script>window.__pwned=1</script>{{",
        "javascript:alert(1)`${alert(2)}`{# c #}",
    ]
)
def test_hostile_maps_in_chromium(hostile, chromium_context, tmp_path_factory, output_dir, texts):
    folder = tmp_path_factory.mktemp("hostile_browser")
    names = [marked(n, t) for n, t in enumerate(texts)]
    load_hostile(hostile, folder, names)
    new_title = marked(10, texts[0]).strip()
    pid = proposal_over_http(hostile, marked(11, texts[1]), "d", new_title)
    files = write_maps(hostile, folder, pid)
    key = hostile["keys"]["doesburg"]
    for name in ("region", "overview", "proposal"):
        expected = [new_title] if name == "proposal" else names
        check_page(files[name].read_text(encoding="utf-8"), expected)
        page, errors, dialogs = open_page(chromium_context, files[name].resolve().as_uri())
        check_in_browser(page, errors, dialogs, expected)
        if name == "region" and "__pwned" in texts[0]:  # the explicit example: tooltips closed, one popup open
            page.evaluate(SCREENSHOT)
            page.screenshot(path=str(output_dir / "map_hostile_text.png"))
        page.close()
        url = f"{hostile['url']}/maps/{'proposals/' + str(pid) if name == 'proposal' else name}?tiles=none"
        if name == "region":
            url = f"{hostile['url']}/maps/region?province=PV25&municipality=GM0221&tiles=none"
        page, errors, dialogs = open_page(chromium_context, url, key)
        check_in_browser(page, errors, dialogs, expected)
        page.close()
    assert chromium_context.refused == []


@pytest.mark.browser
@pytest.mark.live
def test_served_map_csp_allows_its_own_code_and_blocks_injected(hostile, chromium_context):
    """Under the header CSP the served map works (layers drawn, no violation); injected code is refused."""
    pid = proposal_over_http(hostile, "CSP check", "d", "CSP check")
    page, errors, dialogs = open_page(
        chromium_context, f"{hostile['url']}/maps/proposals/{pid}?tiles=none", hostile["keys"]["doesburg"]
    )
    assert page.evaluate("() => window.__violations") == [] and errors == [] and dialogs == []
    counts = page.evaluate("() => Object.keys(opvangmatch.layers).map(k => [k, opvangmatch.count(k)])")
    assert dict(counts)["proposal"] == 1 and dict(counts)["circles"] == 2
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__pwned = 1";
            document.body.appendChild(s);
            const d = document.createElement("div");
            d.innerHTML = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onload="window.__pwned = 2">';
            document.body.appendChild(d);
            const a = document.createElement("a");
            a.href = "javascript:window.__pwned = 3";
            document.body.appendChild(a);
            a.click();
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
    violations = page.evaluate("() => window.__violations")
    assert any(v.startswith("script-src") for v in violations), violations
    page.close()
    # with OSM tiles the tile requests pass the CSP (and reach the network guard, which refuses them here)
    del chromium_context.refused[:]
    page, _errors, _dialogs = open_page(
        chromium_context, f"{hostile['url']}/maps/proposals/{pid}?tiles=osm", hostile["keys"]["doesburg"]
    )
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__violations") == []
    assert any(u.startswith("https://tile.openstreetmap.org/") for u in chromium_context.refused)
    del chromium_context.refused[:]
    page.close()
