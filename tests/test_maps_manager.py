"""The maps as a regional manager reads them (issue 15), in headless Chromium at 1366x768, network refused.

One browser per module and one page per map (overview, Doesburg, Drechtsteden); each test resets what it changes.
Screenshots go to tests/output/ (and are copied to the worktree's parent as maps-*.png by the screenshot test).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from geo.maps import overview_map, region_map
from geo.maps.browser import chromium, open_map
from geo.maps.labels import number
from geo.score import ScoringData, load_profile, score_candidates
from geo.settings import PROJECT_ROOT
from geo.task import placement_tasks

pytestmark = pytest.mark.browser

VIEW = (1366, 768)
DRECHTSTEDEN = ["GM0505", "GM0590", "GM0642"]  # Dordrecht (no buildings loaded), Papendrecht, Zwijndrecht
SHOTS = PROJECT_ROOT.parent  # /work/wt: maps-*.png beside the worktrees


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        refused: list[str] = []

        def refuse(route):
            refused.append(route.request.url)
            route.abort()

        context.route(re.compile(r"^(https?|wss?)://"), refuse)
        context.refused = refused
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
    path = output_dir / f"map_manager_{name}.png"
    page.screenshot(path=str(path))
    shutil.copyfile(path, SHOTS / f"maps-{name}.png")


CLUSTERS = """(key) => {
    const group = opvangmatch.layers[key], M = opvangmatch.meta[key], out = [];
    group._featureGroup.eachLayer(c => {
        if (!(c instanceof L.MarkerCluster)) return;
        const totals = c.getAllChildMarkers().map(m => m.options.total).filter(v => v !== null);
        const icon = c._icon && c._icon.querySelector('.om-cluster');
        const best = Math.max(...totals);
        out.push({n: c.getChildCount(), best: best, expected: opvangmatch.classColor(best, M.classes),
                  shown: icon ? getComputedStyle(icon).backgroundColor : null, text: icon ? icon.textContent : null});
    });
    return out;
}"""


def rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)))


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
    clusters = page.evaluate(CLUSTERS, "candidates")
    assert clusters, "Doesburg's candidates are clustered at the first zoom"
    for c in clusters:
        assert c["shown"] == rgb(c["expected"]), c  # the best score class, not the count
        assert c["text"] == number(c["n"], "nl")
    best = scores.frame.loc[scores.frame["rank"] == 1, "total"].iat[0]
    top = page.evaluate("() => opvangmatch.meta.candidates.classes.steps.at(-1)[1]")
    assert any(c["best"] == pytest.approx(best, abs=1e-4) and c["expected"] == top for c in clusters)
    # the toggle shows the excluded ones: grey clusters of their own
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text="Uitgesloten panden").locator("input")
    checkbox.click()
    assert page.evaluate("() => opvangmatch.map.hasLayer(opvangmatch.layers.excluded)") is True
    grey = page.evaluate(CLUSTERS, "excluded")
    assert grey and page.locator(".om-cluster-excluded").count() > 0
    assert page.evaluate("() => opvangmatch.count('excluded')") == excluded
    checkbox.click()
    assert page.locator(".om-cluster-excluded").count() == 0
    shoot(page, "doesburg", output_dir)


def test_no_candidates_message_and_stop_clusters_look_different(maps, output_dir):
    page = maps["drecht"]
    notice = page.locator(".om-notice").inner_text()
    assert "Geen kandidaatpanden" in notice and "Dordrecht" in notice
    assert page.evaluate("() => opvangmatch.count('candidates')") == 0
    assert page.locator(".om-svc-cluster").count() > 0, "bus stops are clustered"
    assert page.locator(".om-cluster").count() == 0, "no round score badges without candidates"
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
    page.mouse.move(5, 5)
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
