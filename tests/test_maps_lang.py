"""``--lang en`` is complete and ``--lang nl`` is Dutch: every word on the maps comes from the label table.

Two checks. From the source: the tables of :mod:`geo.maps.labels` have the same keys (and the same placeholders) in
both languages, every key the map code reads (``t["..."]`` in Python, ``T.name`` in maps.js) is in the table, and
no map module keeps words of its own per language. In headless Chromium on the demo data: the overview, the
Doesburg region map and a location (proposal) map, each in English and in Dutch, with a panel pinned, a popup open
and every tooltip and popup text of every layer collected; none may hold a label-table phrase of the other
language, or a number written the other language's way (``1.234`` or ``0,98`` in English, ``1,234`` or ``0.98``
in Dutch).
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import shapely

from geo.maps import location_map, overview_map, region_map
from geo.maps.browser import chromium, open_map
from geo.maps.labels import CATEGORIES, FLAGS, INDICATORS, LANGUAGES, TEXT
from geo.monitoring.indicators import EVALUATED
from geo.monitoring.report import LIGHT_STYLE
from geo.score import ScoringData, profile_for_group
from geo.settings import PROJECT_ROOT, Settings

MAPS = PROJECT_ROOT / "geo" / "maps"
TABLES = {"TEXT": TEXT, "CATEGORIES": CATEGORIES, "FLAGS": FLAGS, "INDICATORS": INDICATORS}
DOESBURG_RD = (205500.0, 446500.0)
# numbers written the other language's way: thousands separator followed by 3 digits, or a decimal of 1-2 digits
FOREIGN_NUMBER = {
    "en": re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d.,])|(?<![\d.,])\d+,\d{1,2}(?![\d.,])"),
    "nl": re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d.,])|(?<![\d.,])\d+\.\d{1,2}(?![\d.,])"),
}


def _fields(value: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}


@pytest.mark.parametrize("table", TABLES)
def test_every_label_has_both_languages_with_the_same_placeholders(table):
    words = TABLES[table]
    assert set(words) == set(LANGUAGES)
    assert set(words["nl"]) == set(words["en"]), set(words["nl"]) ^ set(words["en"])
    for key in words["nl"]:
        assert words["nl"][key].strip() and words["en"][key].strip(), key
        assert _fields(words["nl"][key]) == _fields(words["en"][key]), key


def test_every_key_the_maps_read_is_in_the_table():
    python = "\n".join(p.read_text() for p in sorted(MAPS.glob("*.py")) if p.name != "labels.py")
    python += (PROJECT_ROOT / "geo" / "reconcile.py").read_text()
    used = set(re.findall(r"""\bt\[["'](\w+)["']\]""", python))
    used |= set(re.findall(r"""text\(lang\)\[["'](\w+)["']\]""", python))
    script = (MAPS / "static" / "opvangmatch" / "maps.js").read_text()
    used |= set(re.findall(r"\bT\.(\w+)", script)) | set(re.findall(r"""\bT\[["'](\w+)["']\]""", script))
    used |= {f"light_{light}" for light in LIGHT_STYLE} | {f"dimension_{d}" for d in EVALUATED}  # t[f"..."]
    assert len(used) > 60
    assert used <= set(TEXT["en"]), sorted(used - set(TEXT["en"]))


def test_no_map_module_keeps_words_of_its_own_per_language():
    """Words per language, and the locale codes for number formatting, live in geo/maps/labels.py only."""
    found = []
    for path in sorted(MAPS.glob("*.py")):
        if path.name == "labels.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"""["']nl["']\s*:|lang\s*[!=]=\s*["'](nl|en)["']""", line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []


def _phrases(lang: str) -> set[str]:
    """Label-table phrases of ``lang`` that the other language never uses: the parts between placeholders of two
    words or more and at least 10 characters."""
    other = next(x for x in LANGUAGES if x != lang)
    theirs = " ".join(v for table in TABLES.values() for v in table[other].values())
    out = set()
    for table in TABLES.values():
        for value in table[lang].values():
            for part in re.split(r"\{\w+\}", value):
                part = part.strip(" ;:,.()'")
                if len(part) >= 10 and " " in part and part not in theirs:
                    out.add(part)
    return out


COLLECT = """() => {
    const out = [document.body.innerText], seen = new Set(), parse = new DOMParser();
    const add = (c, layer) => {
        if (typeof c === 'function') { try { c = c(layer); } catch (e) { return; } }
        if (typeof c === 'string') out.push(parse.parseFromString(c, 'text/html').body.textContent);
        else if (c && c.textContent !== undefined) out.push(c.textContent);
    };
    const visit = (layer, budget) => {
        if (seen.has(layer) || seen.size > budget) return;
        seen.add(layer);
        if (layer.getTooltip && layer.getTooltip()) add(layer.getTooltip().getContent(), layer);
        if (layer.getPopup && layer.getPopup()) add(layer.getPopup().getContent(), layer);
        if (layer.eachLayer) layer.eachLayer(l => visit(l, budget));
    };
    for (const layer of Object.values(opvangmatch.layers)) {
        if (layer instanceof opvangmatch.CandidateCanvas) {  // drawn on a canvas: popups built from the rows
            layer.rows.slice(0, 300).forEach(row => add(opvangmatch.candidatePopup(row, layer.meta), layer));
        } else visit(layer, seen.size + 3000);
    }
    return out.join('\\n');
}"""


@pytest.fixture(scope="module")
def pages(demo_engine, tmp_path_factory):
    """The visible and hidden texts of the maps per language: overview, Doesburg and a location map."""
    data = ScoringData.load(demo_engine)
    folder = tmp_path_factory.mktemp("lang")
    geometry = shapely.Point(*DOESBURG_RD).buffer(12)
    texts = {}
    with chromium(Settings.from_env().chromium) as context:
        context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
        for lang in LANGUAGES:
            built = {
                "overview": overview_map(demo_engine, tiles="none", lang=lang),
                "doesburg": region_map(
                    demo_engine, "PV25", municipality="GM0221", profile="families", tiles="none", lang=lang, data=data
                ),
                "location": location_map(
                    demo_engine,
                    geometry,
                    40,
                    profile_for_group("families"),
                    title="Doesburg",
                    tiles="none",
                    lang=lang,
                    data=data,
                ),
            }
            for name, html in built.items():
                path = Path(folder) / f"{name}_{lang}.html"
                path.write_text(html, encoding="utf-8")
                page, errors, _dialogs, _ = open_map(context, path, viewport=(1366, 768))
                assert errors == []
                page.evaluate(
                    """() => { const c = document.querySelector('.leaflet-control-layers');
                        if (c) c.classList.add('leaflet-control-layers-expanded');
                        const any = opvangmatch.regions && Object.values(opvangmatch.regions)[0];
                        if (!any) return;
                        const map = opvangmatch.map, at = any.getCenter();
                        any.fire('click', {latlng: at, containerPoint: map.latLngToContainerPoint(at),
                                           layerPoint: map.latLngToLayerPoint(at)}); }"""
                )
                page.wait_for_timeout(200)
                texts[lang, name] = page.evaluate(COLLECT)
                page.close()
    return texts


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", ["overview", "doesburg", "location"])
def test_rendered_maps_hold_no_words_or_numbers_of_the_other_language(pages, lang, name):
    shown = pages[lang, name]
    assert len(shown) > 2000
    other = next(x for x in LANGUAGES if x != lang)
    leaked = sorted(p for p in _phrases(other) if p in shown)
    assert leaked == [], leaked
    numbers = sorted({m.group(0) for m in FOREIGN_NUMBER[lang].finditer(shown)})
    assert numbers == [], [shown[max(0, shown.find(n) - 60) : shown.find(n) + 30] for n in numbers[:5]]


@pytest.mark.browser
def test_the_panel_was_pinned_and_collected(pages):
    """The scan above saw the pinned panel, the layer control and the popups, in the language asked."""
    assert "provincie" in pages["nl", "overview"] and "Gemeenten" in pages["nl", "overview"]
    assert "province" in pages["en", "overview"] and "Municipalities" in pages["en", "overview"]
    assert TEXT["en"]["required"] in pages["en", "overview"] and TEXT["nl"]["required"] in pages["nl", "overview"]
    for lang in LANGUAGES:  # candidate popups (score components) and the proposal's popup were read too
        assert TEXT[lang]["proportional_fit"] in pages[lang, "doesburg"]
        assert TEXT[lang]["proportional_fit"] in pages[lang, "location"]
