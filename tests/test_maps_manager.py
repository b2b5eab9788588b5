"""The maps as a regional manager reads them (issue 15), in headless Chromium at 1366x768, network refused.

One browser per module and one page per map (overview, Doesburg, Drechtsteden); each test resets what it changes.
Screenshots go to tests/output/ (and are copied to the worktree's parent as maps-*.png by the screenshot test).
"""

from __future__ import annotations

import json
import re

import pytest

from geo.maps import overview_map, region_map
from geo.maps.browser import LAYERS_DRAWN, open_map
from geo.maps.labels import number
from geo.score import ScoringData, load_profile, score_candidates
from geo.task import placement_tasks
from tests.helpers import offline_chromium

pytestmark = pytest.mark.browser

VIEW = (1366, 768)
DRECHTSTEDEN = ["GM0505", "GM0590", "GM0642"]  # Dordrecht (no buildings loaded), Papendrecht, Zwijndrecht


@pytest.fixture(scope="module")
def browser():
    with offline_chromium() as context:
        yield context


@pytest.fixture(scope="module")
def scoring(demo_engine):
    return ScoringData.load(demo_engine)


def _open(browser, path):
    page, errors, dialogs, _ = open_map(browser, path, viewport=VIEW)
    assert errors == [] and dialogs == [] and browser.refused == []
    return page


@pytest.fixture(scope="module")
def maps(demo_engine, scoring, browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("manager")
    built = {
        "overview": overview_map(demo_engine, tiles="none", lang="nl", region_url="/maps/region"),
        "doesburg": region_map(
            demo_engine, "PV25", municipality="GM0221", profile="families", tiles="none", data=scoring
        ),
        "drecht": region_map(
            demo_engine, "PV28", municipality=",".join(DRECHTSTEDEN), profile="families", tiles="none", data=scoring
        ),
    }
    pages = {}
    for name, text in built.items():
        path = folder / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        pages[name] = _open(browser, path)
    yield pages
    for page in pages.values():
        page.close()


def shoot(page, name: str, output_dir) -> None:
    page.bring_to_front()  # a background page gets no animation frames: Leaflet's fade-ins would not finish
    page.wait_for_timeout(400)
    path = output_dir / f"map_manager_{name}.png"
    page.screenshot(path=str(path))


CLUSTERS = """(key) => {
    // the badges drawn on a candidate layer's canvas: number, best score, expected colour and the pixel drawn inside
    const layer = opvangmatch.layers[key], M = opvangmatch.meta[key], out = [];
    const canvas = layer._canvas, ctx = canvas.getContext('2d'), ratio = canvas.width / canvas.clientWidth;
    const apart = a => layer.drawn.every(b => b === a || Math.hypot(a.x - b.x, a.y - b.y) > a.r + b.r + 3);
    for (const c of layer.drawn) {
        if (c.n < 2) continue;
        const inside = c.x - c.r > 0 && c.y > 0 && c.x < canvas.clientWidth && c.y < canvas.clientHeight;
        const pixel = inside && apart(c)  // left of the number, inside the border
            ? Array.from(ctx.getImageData(Math.round((c.x - c.r + 5) * ratio), Math.round(c.y * ratio), 1, 1).data)
            : null;
        const expected = key === 'excluded' ? M.classes.nodata : opvangmatch.classColor(c.best, M.classes);
        out.push({n: c.n, best: c.best, expected: expected, shown: pixel, text: c.text});
    }
    const b = opvangmatch.map.getBounds();
    return {clusters: out, drawn: layer.drawn.reduce((s, c) => s + c.n, 0),
            all_in_view: layer.rows.every(r => b.contains([r[0], r[1]]))};
}"""


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def same_colour(pixel: list[int], hex_colour: str) -> bool:
    return all(abs(p - e) <= 2 for p, e in zip(pixel[:3], rgb(hex_colour), strict=True)) and pixel[3] > 150


def test_candidate_clusters_coloured_by_best_score(maps, demo_engine, scoring, output_dir):
    page = maps["doesburg"]
    scores = score_candidates(demo_engine, load_profile("families"), scoring, municipality="GM0221")
    excluded = int(scores.frame["excluded"].sum())
    included = len(scores.frame) - excluded
    counts = page.evaluate("() => ({c: opvangmatch.count('candidates'), x: opvangmatch.count('excluded')})")
    assert counts == {"c": included, "x": excluded} and included > 0 and excluded > 0
    # excluded buildings are hidden at first, with their count in the layer list
    assert page.evaluate("() => opvangmatch.map.hasLayer(opvangmatch.layers.excluded)") is False
    layers = page.locator(".leaflet-control-layers-overlays").inner_text()
    assert f"Uitgesloten panden ({number(excluded, 'nl')})" in layers
    assert f"Kandidaatpanden ({number(included, 'nl')})" in layers
    drawn = page.evaluate(CLUSTERS, "candidates")
    clusters = drawn["clusters"]
    assert clusters, "Doesburg's candidates are clustered at the first zoom"
    if drawn["all_in_view"]:
        assert drawn["drawn"] == included  # every candidate in exactly one badge or point
    checked = [c for c in clusters if c["shown"] is not None]
    assert checked, "some badges stand apart in view"
    for c in checked:
        assert same_colour(c["shown"], c["expected"]), c  # the best score class, not the count
    for c in clusters:
        assert c["text"] == number(c["n"], "nl")
    best = scores.frame.loc[scores.frame["rank"] == 1, "total"].iat[0]
    top = page.evaluate("() => opvangmatch.meta.candidates.classes.steps.at(-1)[1]")
    assert any(c["best"] == pytest.approx(best, abs=1e-4) and c["expected"] == top for c in clusters)
    # the toggle shows the excluded ones: grey clusters of their own
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text="Uitgesloten panden").locator("input")
    checkbox.click()
    assert page.evaluate("() => opvangmatch.map.hasLayer(opvangmatch.layers.excluded)") is True
    grey = page.evaluate(CLUSTERS, "excluded")["clusters"]
    assert grey and page.locator("canvas.om-candidates-excluded").count() == 1
    assert all(same_colour(c["shown"], c["expected"]) for c in grey if c["shown"] is not None)
    assert page.evaluate("() => opvangmatch.count('excluded')") == excluded
    checkbox.click()
    assert page.locator("canvas.om-candidates-excluded").count() == 0
    # a click on a badge zooms in towards it (hit-tested on the canvas, not a pinned municipality)
    view = page.evaluate("() => [opvangmatch.map.getCenter(), opvangmatch.map.getZoom()]")
    badge = max(
        (c for c in page.evaluate("() => opvangmatch.layers.candidates.drawn") if c["n"] > 1), key=lambda c: c["n"]
    )
    box = page.locator(".leaflet-container").bounding_box()
    page.evaluate("() => { window.zoomed = new Promise(done => opvangmatch.map.once('zoomend', done)); }")
    page.mouse.click(box["x"] + badge["x"], box["y"] + badge["y"])
    page.evaluate("() => window.zoomed")  # the end of the zoom animation
    assert page.evaluate("() => opvangmatch.map.getZoom()") > view[1]
    assert page.locator(".om-panel").is_hidden()
    page.evaluate("([c, z]) => { opvangmatch.map.setView(c, z, {animate: false}); }", view)
    assert page.evaluate("() => opvangmatch.map.getZoom()") == view[1]
    shoot(page, "doesburg", output_dir)


def test_no_candidates_message_and_stop_clusters_look_different(maps, output_dir):
    page = maps["drecht"]
    notice = page.locator(".om-notice").inner_text()
    assert "Geen kandidaatpanden" in notice and "Dordrecht" in notice
    assert page.evaluate("() => opvangmatch.count('candidates')") == 0
    assert page.locator(".om-svc-cluster").count() > 0, "bus stops are clustered"
    drawn = "() => opvangmatch.layers.candidates.drawn.length"
    assert page.evaluate(drawn) == 0, "no round score badges without candidates"
    shape = page.locator(".om-svc-cluster").first.evaluate("e => getComputedStyle(e).borderRadius")
    assert shape in ("2px", "0px")  # square, unlike the round candidate clusters
    shoot(page, "drechtsteden", output_dir)


def test_pinned_task_panel(maps, demo_engine, output_dir):
    page = maps["overview"]
    tasks = placement_tasks(demo_engine, "2024").set_index("region_code")
    doesburg, gelderland = tasks.loc["GM0221"], tasks.loc["PV25"]
    point = page.evaluate(
        """() => { const layer = opvangmatch.regions.GM0221, map = opvangmatch.map;
            map.fitBounds(layer.getBounds(), {maxZoom: 11});
            const p = map.latLngToContainerPoint(layer.getCenter()), box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y]; }"""
    )
    page.mouse.click(*point)
    panel = page.locator(".om-panel")
    panel.wait_for(state="visible", timeout=5000)
    content = panel.inner_text()
    assert "Doesburg (GM0221)" in content
    for label, value in (("opgave", doesburg.required), ("tekort", doesburg.gap), ("gerealiseerd", doesburg.realised)):
        assert re.search(rf"{label}\s+{re.escape(number(value, 'nl'))}\b", content), (label, content)
    assert f"provincie {gelderland['name']} totaal" in content
    assert number(gelderland.required, "nl") in content and "." in number(gelderland.required, "nl")  # 11.704
    assert "berekend" in content and "computed" not in content  # Dutch, no English source sentence
    assert "onvolledig" in content  # the completeness warning on realised
    assert "http" not in content, "links show readable text, not raw URLs"
    assert "http" not in page.locator("div.om-coverage").inner_text(), "nor does the legend's coverage note"
    links = panel.locator("a.om-link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any(h.startswith("https://") for h in hrefs)
    region = panel.locator("a.om-region-link").get_attribute("href")
    assert region.startswith("/maps/region?") and "municipality=GM0221" in region and "province=PV25" in region
    box = panel.bounding_box()
    assert (
        box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= VIEW[0] and box["y"] + box["height"] <= VIEW[1]
    )
    assert box["width"] >= 250, "the panel does not shrink to its longest word"
    hit = page.evaluate("() => opvangmatch.regions.GM0221.options.weight")
    assert hit == 4, "the pinned municipality is outlined"
    page.mouse.move(1300, 750)  # over the legend: no hover tooltip in the screenshot
    shoot(page, "overview", output_dir)
    panel.locator(".om-close").click()
    assert not panel.is_visible()
    assert page.evaluate("() => opvangmatch.regions.GM0221.options.weight") != 4


def test_legend_and_layers_do_not_overlap_at_1366x768(maps):
    for name, page in maps.items():
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.leaflet-right .leaflet-control')]
                .filter(e => e.offsetParent !== null).map(e => { const r = e.getBoundingClientRect();
                return [e.className, r.left, r.top, r.right, r.bottom]; })"""
        )
        for i, a in enumerate(boxes):
            assert a[4] <= VIEW[1] + 1, (name, a)
            for b in boxes[i + 1 :]:
                overlap = min(a[3], b[3]) - max(a[1], b[1]) > 0 and min(a[4], b[4]) - max(a[2], b[2]) > 0
                assert not overlap, (name, json.dumps(a), json.dumps(b))


OPEN_POPUP = """([key, id]) => new Promise(done => {
    const group = opvangmatch.layers[key];
    opvangmatch.map.addLayer(group);
    const row = group.rows.find(r => r[2] === id);
    opvangmatch.openCandidate(group, row, done);
})"""


def test_popup_deciding_reason_facts_and_thresholds(maps, demo_engine, scoring, output_dir):
    import sqlalchemy as sa

    from geo.score import explain

    page = maps["doesburg"]
    scores = score_candidates(demo_engine, load_profile("families"), scoring, municipality="GM0221")
    frame = scores.frame
    best = int(frame.index[frame["rank"] == 1][0])
    gone = int(frame.index[frame["excluded"]][0])
    with demo_engine.connect() as conn:
        year = conn.execute(
            sa.text("SELECT build_year FROM building WHERE id = :i"), {"i": frame["id"].iat[best]}
        ).scalar()
    page.evaluate(OPEN_POPUP, ["candidates", frame["id"].iat[best]])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    if year:
        assert f"bouwjaar {year}" in popup.inner_text()
    expected = explain(scores.graded, best, scores.data)
    for category, v in expected["proximity"].items():
        if not v["weight"] or v["status"] == "missing":
            continue
        item = popup.locator(f'li[data-category="{category}"]')
        distance = v["distance_m"] if v["distance_m"] is not None else v["estimate_m"]
        if distance <= v["good_m"]:
            verdict = "good"
        elif v["status"] == "upper_bound":
            verdict = "unsure"  # an upper bound above 'good' says nothing about good or too far
        else:
            verdict = "far" if distance >= v["too_far_m"] else "mid"
        assert item.get_attribute("data-verdict") == verdict, (category, v)
        words = {"measured": "gemeten", "upper_bound": "bovengrens", "estimated": "schatting"}[v["status"]]
        text_ = item.inner_text()
        assert words in text_ and f"goed ≤ {number(v['good_m'], 'nl')} m" in text_, text_
        assert f"te ver ≥ {number(v['too_far_m'], 'nl')} m" in text_
    box = page.locator(".leaflet-popup").bounding_box()
    assert box and box["y"] >= 0 and box["y"] + box["height"] <= VIEW[1] and box["x"] + box["width"] <= VIEW[0]
    shoot(page, "popup", output_dir)
    page.evaluate("() => { opvangmatch.map.closePopup(); }")
    # an excluded building: the deciding reason comes first, its score is marked as not counting
    page.evaluate(OPEN_POPUP, ["excluded", frame["id"].iat[gone]])
    popup.wait_for(timeout=5000)
    reasons = [
        f for f in frame["flags"].iat[gone] if f in {"capacity_outside_band", "not_in_use", "floor_area_too_small"}
    ]
    assert reasons
    first = popup.locator(".om-popup > :nth-child(2), .om-popup > .om-sub + .om-deciding").first
    assert "uitgesloten omdat" in first.inner_text()
    assert page.locator(".om-popup .om-total").count() == 0  # no bold score for an excluded building
    page.evaluate("() => { opvangmatch.map.closePopup(); opvangmatch.map.removeLayer(opvangmatch.layers.excluded); }")


def test_filters_change_what_is_drawn_and_list_exports(maps, demo_engine, scoring, output_dir):
    page = maps["doesburg"]
    frame = score_candidates(demo_engine, load_profile("families"), scoring, municipality="GM0221").frame
    kept = frame[~frame["excluded"]]
    page.evaluate("() => { opvangmatch.map.fitBounds(opvangmatch.regions.GM0221.getBounds(), {animate: false}); }")
    page.locator(".om-tools-toggle").click()
    threshold = float(kept["total"].quantile(0.75))
    page.locator(".om-score-min").fill(f"{threshold:.4f}")
    page.locator(".om-score-min").dispatch_event("change")
    expected = int((kept["total"].round(4) >= round(threshold, 4) - 1e-9).sum())
    assert page.evaluate("() => opvangmatch.count('candidates')") == expected < len(kept)
    drawn = page.evaluate(CLUSTERS, "candidates")
    assert drawn["all_in_view"] and drawn["drawn"] == expected  # what is drawn on the canvas follows the filter
    assert all(c["best"] >= round(threshold, 4) - 1e-9 for c in drawn["clusters"])
    above = kept["total"].round(4) >= round(threshold, 4) - 1e-9
    cap = int(kept.loc[above, "capacity"].min())  # keeps some of the best (capacities follow the profile's band)
    page.locator(".om-capacity-max").fill(str(cap))
    page.locator(".om-capacity-max").dispatch_event("change")
    both = int((above & (kept["capacity"] <= cap)).sum())
    assert page.evaluate("() => opvangmatch.count('candidates')") == both
    # the ranked list: visible candidates, best first, sortable, a click opens the popup
    rows = page.locator(".om-ranked-row")
    assert rows.count() == min(both, 100) and rows.count() > 0
    scores_shown = [
        float(t.replace(",", ".")) for t in page.locator(".om-ranked-row td:nth-child(3)").all_inner_texts()
    ]
    assert scores_shown == sorted(scores_shown, reverse=True)
    page.locator(".om-ranked th", has_text="capaciteit").click()
    capacities = [int(t) for t in page.locator(".om-ranked-row td:nth-child(4)").all_inner_texts()]
    assert capacities == sorted(capacities, reverse=True) and max(capacities) <= cap
    first = rows.first.get_attribute("data-id")
    rows.first.click()
    page.locator(".leaflet-popup-content").wait_for(timeout=5000)
    assert first in page.locator(".leaflet-popup-content").inner_text()
    page.evaluate("() => { opvangmatch.map.closePopup(); }")
    # export: what the list holds, as CSV and GeoJSON (Blob downloads; the CSP allows them)
    with page.expect_download() as info:
        page.locator(".om-tools_csv").click()
    assert info.value.suggested_filename == "kandidaten.csv"
    csv_text = page.evaluate("() => opvangmatch.lastDownload.text")
    lines = csv_text.strip("\ufeff").strip().splitlines()
    visible = page.evaluate("() => opvangmatch.tools.state && document.querySelector('.om-count').textContent")
    assert lines[0].startswith("id,lat,lon,score,capacity,profile")
    assert len(lines) - 1 == int(re.match(r"([\d.]+)", visible).group(1).replace(".", ""))
    assert all(int(line.split(",")[4]) <= cap for line in lines[1:])
    with page.expect_download():
        page.locator(".om-tools_geojson").click()
    collection = json.loads(page.evaluate("() => opvangmatch.lastDownload.text"))
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == len(lines) - 1
    assert {f["properties"]["id"] for f in collection["features"]} == {line.split(",")[0] for line in lines[1:]}
    # another target group without a new file: other totals, colours and exclusions
    other = "single_adults"
    index = page.evaluate("(name) => opvangmatch.meta.candidates.switch.findIndex(p => p.name === name)", other)
    page.select_option(".om-profile", str(index))
    theirs = score_candidates(demo_engine, load_profile(other), scoring, municipality="GM0221").frame
    mask = (theirs["total"].round(4) >= round(threshold, 4) - 1e-9) & (theirs["capacity"] <= cap) & ~theirs["excluded"]
    assert page.evaluate("() => opvangmatch.count('candidates')") == int(mask.sum())
    shoot(page, "filters", output_dir)
    # print layout: title, legend, date, profile version, data vintage; controls hidden
    page.evaluate("() => { window.print = () => {}; opvangmatch.tools.print(); }")
    page.emulate_media(media="print")
    info_text = page.locator(".om-print-info").inner_text()
    assert "Doesburg" in info_text and load_profile(other).version in info_text and "gegevensversie" in info_text
    assert not page.locator(".om-tools").is_visible() and page.locator(".om-legend").is_visible()
    page.screenshot(path=str(output_dir / "map_manager_print.png"))
    page.emulate_media(media="screen")
    # reset for the other tests
    page.select_option(".om-profile", "0")
    for cls, value in ((".om-score-min", "0"), (".om-capacity-max", "100000")):
        page.locator(cls).fill(value)
        page.locator(cls).dispatch_event("change")
    page.locator(".om-tools-toggle").click()
    assert page.evaluate("() => opvangmatch.count('candidates')") == len(kept)


def search(page, text: str):
    page.locator(".leaflet-control-search .search-button").click()
    box = page.locator(".leaflet-control-search input.search-input")
    box.fill("")
    box.press_sequentially(text, delay=20)
    page.wait_for_timeout(700)  # the plugin's own delay before it filters
    return page.locator(".leaflet-control-search .search-tip")


def test_search_tolerates_typos_brackets_and_highlights(maps):
    page = maps["overview"]
    tips = search(page, "Doesbrug")  # a typo
    tips.first.wait_for(timeout=5000)
    assert tips.first.inner_text() == "Doesburg (GM0221)"
    tips.first.click()
    page.locator(".om-panel").wait_for(state="visible", timeout=5000)
    assert "Doesburg (GM0221)" in page.locator(".om-panel").inner_text()
    assert page.evaluate("() => opvangmatch.regions.GM0221.options.weight") == 4  # outlined
    assert page.evaluate("() => opvangmatch.map.getBounds().contains(opvangmatch.regions.GM0221.getBounds())")
    page.locator(".om-panel .om-close").click()
    tips = search(page, "(GM0221")  # brackets are text, not a pattern
    tips.first.wait_for(timeout=5000)
    assert "Doesburg" in tips.first.inner_text()
    tips = search(page, "s-hertogenbosh")  # accents/case/apostrophe ignored, one letter missing
    tips.first.wait_for(timeout=5000)
    assert "Hertogenbosch" in tips.first.inner_text()
    search(page, "qqqxxyz")
    page.locator(".leaflet-control-search input.search-input").press("Enter")
    assert "Niet gevonden" in page.locator(".leaflet-control-search .search-alert").inner_text()
    page.locator(".leaflet-control-search .search-cancel").click()
    # a region map finds municipalities outside its province too, and rings what it found
    region = maps["doesburg"]
    tips = search(region, "Amsterdm")
    tips.first.wait_for(timeout=5000)
    assert tips.first.inner_text() == "Amsterdam (GM0363)"
    tips.first.click()
    region.wait_for_timeout(500)
    assert region.evaluate("() => opvangmatch.found.kind") == "place"
    assert region.evaluate("() => opvangmatch.map.hasLayer(opvangmatch.hit) && opvangmatch.hit.isTooltipOpen()")
    assert "Amsterdam (GM0363)" in region.locator(".leaflet-tooltip").all_inner_texts()
    region.evaluate("() => { opvangmatch.map.removeLayer(opvangmatch.hit); }")
    region.evaluate("() => { opvangmatch.map.fitBounds(opvangmatch.regions.GM0221.getBounds(), {animate: false}); }")


UNCOVERED = """() => new Promise(done => requestAnimationFrame(() => {
    const canvas = document.querySelector('.leaflet-overlay-pane canvas');
    const size = opvangmatch.map.getSize(), ctx = canvas.getContext('2d');
    const origin = opvangmatch.map.latLngToContainerPoint(opvangmatch.map.getCenter());
    const pos = L.DomUtil.getPosition(canvas), scale = canvas.width / canvas.clientWidth;
    const x0 = (origin.x - pos.x - 100 - opvangmatch.map._getMapPanePos().x) * scale;
    const y0 = (origin.y - pos.y - 100 - opvangmatch.map._getMapPanePos().y) * scale;
    const data = ctx.getImageData(x0, y0, 200 * scale, 200 * scale).data;
    let uncovered = 0;
    // a shared edge is half covered twice (alpha 0.75); a gap shows the background (alpha near 0); where three
    // areas meet, antialiasing can leave a single pixel just under half covered: uncovered is under a quarter
    for (let i = 3; i < data.length; i += 4) if (data[i] < 64) uncovered++;
    done([uncovered, data.length / 4, size.x]);
}))"""


def uncovered_pixels(page, layer: str, points) -> list[tuple[str, list]]:
    """Paint one area layer solid (alone, no controls) and count the pixels it leaves uncovered in a 200 x 200 px
    square around each point at zoom 13 (once two frames in a row agree); the page is reloaded afterwards."""
    from geo.maps.geodata import to_wgs84

    page.bring_to_front()  # a background page gets no animation frames: the canvas would not be redrawn
    page.evaluate(
        """(key) => { const map = opvangmatch.map;
            for (const [k, l] of Object.entries(opvangmatch.layers)) if (k !== key) map.removeLayer(l);
            map.addLayer(opvangmatch.layers[key]);
            opvangmatch.layers[key].setStyle({fillColor: '#ff0000', fill: true, fillOpacity: 1, stroke: false});
            map.getContainer().style.background = '#00ff00';
            document.querySelectorAll('.leaflet-control-container').forEach(e => e.style.display = 'none'); }""",
        layer,
    )
    out = []
    try:
        for point in points:
            (lonlat,) = to_wgs84([point])
            page.evaluate(
                "([lat, lon]) => { opvangmatch.map.setView([lat, lon], 13, {animate: false}); }", [lonlat.y, lonlat.x]
            )
            counts = [None]
            for _ in range(10):  # until two frames agree: a redraw still under way only adds uncovered pixels
                page.wait_for_timeout(250)
                counts.append(page.evaluate(UNCOVERED))
                if counts[-1] == counts[-2]:
                    break
            out.append((point.wkt, counts[-1]))
    finally:  # the page as it was opened: loaded, every layer drawn, two frames on (as open_map leaves it)
        page.reload()
        page.wait_for_function(LAYERS_DRAWN)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return out


def test_no_slivers_between_municipalities_at_zoom_13(maps, demo_engine):
    """Municipalities painted solid on a green page: no green pixel along a shared boundary at zoom 13 (each
    outline simplified on its own left gaps of up to the 30 m tolerance, 2-3 pixels at this zoom)."""
    import shapely
    import sqlalchemy as sa

    with demo_engine.connect() as conn:
        a, b = (
            shapely.from_wkb(bytes(w))
            for (w,) in conn.execute(
                sa.text("SELECT ST_AsBinary(geom) FROM municipality WHERE code IN ('GM0221', 'GM1876') ORDER BY code")
            )
        )
    shared = shapely.intersection(a.boundary, b.boundary)
    points = [shared.interpolate(f, normalized=True) for f in (0.2, 0.5, 0.8)]
    for where, (uncovered, pixels, _width) in uncovered_pixels(maps["overview"], "municipalities", points):
        assert pixels > 1000 and uncovered == 0, (where, uncovered, pixels)


def test_no_gaps_or_slivers_between_wijken_at_zoom_13(maps, demo_engine):
    """The overview's 3,475 wijken painted solid: no uncovered pixel at zoom 13 where the source (CBS) leaves gaps
    between neighbouring wijken. The points are the widest such gaps in Gelderland (holes in the union of its wijken
    narrower than 25 m and larger than 2 ha, at least 1.5 km inside its outline), found in the loaded data: drawn as
    loaded, each shows green pixels; cleaned into a coverage (once, kept in map_area_cache), none."""
    import shapely

    from geo.maps.geodata import read_areas

    wijken = read_areas(demo_engine, "wijk", province="PV25")
    union = shapely.union_all(wijken.geometry.to_numpy())
    gaps = []
    for part in getattr(union, "geoms", [union]):
        shell = shapely.Polygon(part.exterior)
        for ring in part.interiors:
            hole = shapely.Polygon(ring)
            width = 2 * hole.area / hole.length
            point = hole.representative_point()
            if width < 25 and hole.area > 20_000 and shell.contains(point.buffer(1500)):
                gaps.append((hole.area, point))
    gaps.sort(key=lambda g: -g[0])
    points = [p for _, p in gaps[:3]]
    assert len(points) == 3, "the loaded wijken of Gelderland have no visible gaps to check"
    results = uncovered_pixels(maps["overview"], "districts", points)
    for where, (uncovered, pixels, _width) in results:
        assert pixels > 1000 and uncovered == 0, (where, uncovered, pixels)


def test_metric_scale_bar_and_pdok_backgrounds(maps, demo_engine, browser, tmp_path):
    """One scale bar, metric only; with a background the layer list offers OSM, PDOK BRT-Achtergrondkaart, PDOK
    luchtfoto and none (the tiles are refused here, so only the list and the tile URLs are checked)."""
    for page in maps.values():
        lines = page.locator(".leaflet-control-scale-line").all_inner_texts()
        assert len(lines) == 1 and re.fullmatch(r"\d+ k?m", lines[0].strip()), lines
    page, _errors, _dialogs, _ = open_map(
        browser, _write(tmp_path, overview_map(demo_engine, tiles="brt", lang="nl")), viewport=VIEW
    )
    try:
        names = page.locator(".leaflet-control-layers-base label").all_inner_texts()
        assert [n.strip() for n in names] == [
            "BRT-Achtergrondkaart (PDOK)",
            "OpenStreetMap",
            "Luchtfoto (PDOK)",
            "geen achtergrondkaart",
        ]
        checked = page.locator(".leaflet-control-layers-base input:checked").locator("xpath=..").inner_text()
        assert checked.strip() == "BRT-Achtergrondkaart (PDOK)"
        urls = {r for r in browser.refused if "pdok" in r}
        assert any("/brt/achtergrondkaart/" in u for u in urls), sorted(urls)[:3]
    finally:
        page.close()
        browser.refused.clear()


def _write(folder, text: str):
    path = folder / "map.html"
    path.write_text(text, encoding="utf-8")
    return path
