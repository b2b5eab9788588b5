"""The maps in a real browser: Debian's headless Chromium driven by Playwright (never ``playwright install``).

On the demo data: each map loads offline (tiles 'none', every network request refused and counted) with no console
errors, shows the expected numbers of municipalities, wijken, candidates and services, a click on a candidate opens
its score breakdown, the layer control hides and shows a layer, and names like ``<img src=x onerror=alert(1)>``
(loaded through the normal loaders into a database of their own) stay text. Screenshots go to tests/output/.
"""

from __future__ import annotations

import json
import re

import pytest
import shapely
import sqlalchemy as sa

from geo.db import prepare_database
from geo.io import load
from geo.maps import location_map, overview_map, region_map
from geo.maps.browser import open_map
from geo.score import ScoringData, explain, load_profile, profile_for_group, score_candidates, score_location
from tests.helpers import offline_chromium

pytestmark = pytest.mark.browser

PROBE = "<img src=x onerror=alert(1)>"
DOESBURG_RD = (205500.0, 446500.0)
COUNTS = "() => Object.fromEntries(Object.keys(opvangmatch.layers).map(k => [k, opvangmatch.count(k)]))"


@pytest.fixture(scope="module")
def browser():
    with offline_chromium() as context:
        yield context


@pytest.fixture(scope="module")
def scoring(demo_engine):
    return ScoringData.load(demo_engine)


def show(browser, path):
    page, errors, dialogs, _seconds = open_map(browser, path)
    assert errors == [], errors
    assert dialogs == []
    assert browser.refused == [], "a map with tiles 'none' must not touch the network"
    return page


def toggle(page, label: str, key: str) -> None:
    """Click a layer's box in the layer control twice: the layer leaves (or joins) the map, then is back as it was."""
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text=label).locator("input")
    on_map = f"() => opvangmatch.map.hasLayer(opvangmatch.layers[{json.dumps(key)}])"
    before = page.evaluate(on_map)
    assert checkbox.is_checked() == before
    checkbox.click()
    assert page.evaluate(on_map) is (not before)
    checkbox.click()
    assert page.evaluate(on_map) is before


def test_overview_in_browser(demo_engine, browser, tmp_path, output_dir, unchanged):
    path = tmp_path / "overview.html"
    path.write_text(overview_map(demo_engine, tiles="none", lang="nl"), encoding="utf-8")
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', path.read_text()), "assets must be inline"
    page = show(browser, path)
    with demo_engine.connect() as conn:
        municipalities = conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one()
        wijken = conn.execute(sa.text("SELECT count(*) FROM district")).scalar_one()
    counts = page.evaluate(COUNTS)
    assert (counts["municipalities"], counts["districts"], counts["provinces"]) == (municipalities, wijken, 12)
    assert municipalities == 342 and wijken == 3475
    toggle(page, "Gemeenten", "municipalities")
    toggle(page, "Wijken", "districts")  # hidden at start: shown, then hidden again
    page.screenshot(path=str(output_dir / "map_overview.png"))


def test_region_in_browser(demo_engine, browser, scoring, tmp_path, output_dir, unchanged):
    path = tmp_path / "doesburg.html"
    path.write_text(
        region_map(
            demo_engine, "PV25", municipality="GM0221", profile="families", tiles="none", lang="en", data=scoring
        ),
        encoding="utf-8",
    )
    page = show(browser, path)
    counts = page.evaluate(COUNTS)
    with demo_engine.connect() as conn:
        panden = conn.execute(sa.text("SELECT count(*) FROM building")).scalar_one()
        services = dict(
            conn.execute(
                sa.text(
                    "SELECT s.category, count(*) FROM service s, municipality m WHERE m.code = 'GM0221' "
                    "AND ST_Distance(s.geom, m.geom) <= 2000 GROUP BY s.category"
                )
            ).all()
        )
        gelderland = conn.execute(
            sa.text("SELECT count(*) FROM municipality_province WHERE province_code = 'PV25'")
        ).scalar_one()
    assert counts["candidates"] + counts["excluded"] == panden == 7395
    assert {k.removeprefix("service:"): v for k, v in counts.items() if k.startswith("service:")} == services
    assert counts["municipalities"] == gelderland

    scores = score_candidates(demo_engine, load_profile("families"), scoring, municipality="GM0221")
    best = int(scores.frame.index[scores.frame["rank"] == 1][0])
    expected = explain(scores.graded, best, scores.data)
    ident = scores.frame["id"].iat[best]
    point = page.evaluate(
        """(id) => new Promise(done => {
            const layer = opvangmatch.layers.candidates, map = opvangmatch.map;
            const row = layer.rows.find(r => r[2] === id);
            map.setView([row[0], row[1]], layer.aloneFrom(row, map.getZoom()), {animate: false});
            const p = map.latLngToContainerPoint([row[0], row[1]]);
            const box = map.getContainer().getBoundingClientRect();
            done([box.left + p.x, box.top + p.y]);
        })""",
        ident,
    )
    page.mouse.click(*point)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    content = popup.inner_text()
    assert f"building {ident}" in content
    shown_total = float(re.search(r"score (\d\.\d\d)", content).group(1))
    assert abs(shown_total - expected["total"]) <= 0.005
    for name in ("proportional fit", "proximity to services", "task contribution"):
        assert name in content
    measured = {k: v for k, v in expected["proximity"].items() if v["status"] == "measured" and v["weight"]}
    assert measured, "Doesburg has measured bus stops and schools"
    for category, v in measured.items():
        assert f"{category.replace('_', ' ')} {v['distance_m']:,.0f} m" in content
    assert f"closes {expected['task']['closes_places']:,.0f} of" in content
    assert expected["profile"]["version"] in content and expected["data_vintage"] in content
    # the demo has no monument layer: the popup flags the status as unknown and the legend says how to load one
    assert "monument status unknown" in content
    legend = page.locator(".om-use-unknown").all_inner_texts()
    assert any("monument status unknown" in t and "load monuments" in t for t in legend)
    page.screenshot(path=str(output_dir / "map_region_doesburg.png"))
    page.keyboard.press("Escape")
    toggle(page, "Candidate buildings", "candidates")


def test_location_map_in_browser(demo_engine, browser, scoring, tmp_path, output_dir, unchanged):
    profile = profile_for_group("families")
    geometry = shapely.Point(*DOESBURG_RD).buffer(12)
    path = tmp_path / "location.html"
    path.write_text(
        location_map(demo_engine, geometry, 40, profile, title=PROBE, tiles="none", lang="nl", data=scoring),
        encoding="utf-8",
    )
    page = show(browser, path)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    assert PROBE in popup.inner_text()
    assert page.locator('img[src="x"]').count() == 0
    counts = page.evaluate(COUNTS)
    explanation = score_location(scoring, geometry, 40, profile)
    measured = [c for c, v in explanation["proximity"].items() if v["status"] in ("measured", "upper_bound")]
    assert len(measured) >= 3
    assert counts["nearest"] == 2 * len(measured)  # a line and an end point per measured category
    assert counts["circles"] == 2 and counts["areas"] >= 1
    page.screenshot(path=str(output_dir / "map_location.png"))


def test_location_map_walks_along_the_network_in_amsterdam(demo_engine, browser, scoring, tmp_path, output_dir):
    """A real BAG unit in central Amsterdam: walking routes to the nearest services and 10 / 15 minute walking
    areas from the network instead of circles."""

    import pandas as pd

    from tests.conftest import DATA

    units = pd.read_csv(DATA / "bag" / "bag_amsterdam_adresplus_sample99_nlextract.csv", sep=";", dtype=str)
    unit = units.sort_values(["lat", "adresseerbaarobject_id"]).iloc[0]
    point = shapely.Point(float(unit["x"]), float(unit["y"]))
    profile = profile_for_group("families")
    path = tmp_path / "amsterdam.html"
    title = f"{unit['openbareruimtenaam']} {unit['huisnummer']}"
    path.write_text(
        location_map(demo_engine, point, 20, profile, title=title, tiles="none", lang="en", data=scoring),
        encoding="utf-8",
    )
    explanation = score_location(scoring, point, 20, profile)
    walked = [c for c, v in explanation["proximity"].items() if v.get("distance_kind") == "network"]
    assert walked, "the DUO primary schools lie inside the extract"
    page = show(browser, path)
    counts = page.evaluate(COUNTS)
    assert counts["walking"] == 2 and "circles" not in counts
    vertices = page.evaluate(
        """() => { const out = []; opvangmatch.layers.nearest.eachLayer(l => {
            if (l.getLatLngs) out.push(l.getLatLngs().length); }); return out; }"""
    )
    routes = [n for n in vertices if n > 2]  # walked lines follow the streets; straight lines have two points
    assert len(routes) == len(walked)
    drawn = [v for v in explanation["proximity"].values() if v["status"] in ("measured", "upper_bound")]
    assert len(vertices) == len(drawn)
    assert "walking distance along streets: primary school" in page.inner_text("body")
    page.locator(".leaflet-popup-close-button").click()
    page.wait_for_timeout(600)  # the popup fades out
    page.screenshot(path=str(output_dir / "map_location_amsterdam_network.png"))


@pytest.fixture(scope="module")
def probe_settings(databases, tmp_path_factory):
    """A database of its own with reception, a service and the maps' base data, names set to the XSS probe."""
    from geo.settings import PROJECT_ROOT

    data = PROJECT_ROOT / "data"
    settings = databases.create("mapsxss")
    engine = prepare_database(settings)
    folder = tmp_path_factory.mktemp("probe")
    reception = folder / "reception_probe.csv"
    reception.write_text(
        "gemeente,locatie_zoals_in_bron,soort,capaciteit_zoals_in_bron,lon,lat,source_url\n"
        f'Doesburg,"{PROBE}","{PROBE}",40,6.1350,52.0130,https://example.org/x\n'
        f'Doesburg,"{PROBE} 2",azc,30,,,https://example.org/y\n',
        encoding="utf-8",
    )
    gp = folder / "gp_probe.geojson"
    gp.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": PROBE},
                        "geometry": {"type": "Point", "coordinates": [6.1370, 52.0120]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    for kind, path, options in (
        ("provinces", data / "cbs/provincie_2023.geojson", {}),
        ("municipalities", data / "cbs/gemeenten_2024_kwb.geojson", {}),
        ("municipality-provinces", data / "cbs/gemeentelijke-indeling.csv", {}),
        ("districts", data / "cbs/wijken_2024_kwb.geojson", {"where": "gemeentecode = 'GM0221'"}),
        ("buildings", data / "bag/0221PND15092020.zip", {}),
        ("task", data / "spreidingswet/provinciale_opgave_2024.csv", {"period": "2024"}),
        ("reception", reception, {}),
        ("points", gp, {"category": "gp"}),
    ):
        load(engine, kind, path, **options)
    engine.dispose()
    return settings


def test_xss_probe_stays_text(probe_settings, browser, tmp_path, output_dir):
    from geo.db import make_engine

    engine = make_engine(probe_settings)
    try:
        region = tmp_path / "probe_region.html"
        region.write_text(
            region_map(engine, "PV25", municipality="GM0221", profile="families", tiles="none", lang="en"),
            encoding="utf-8",
        )
        overview = tmp_path / "probe_overview.html"
        overview.write_text(overview_map(engine, tiles="none", lang="en"), encoding="utf-8")
    finally:
        engine.dispose()
    assert PROBE not in region.read_text() and PROBE not in overview.read_text(), "raw markup must not reach the page"

    page = show(browser, region)
    texts = page.evaluate(
        """() => {
            const out = [];
            for (const [key, layer] of Object.entries(opvangmatch.layers)) {
                if (key === "candidates" || key === "excluded") continue;  // 7,395 popups: one is opened below
                layer.eachLayer(l => {
                    for (const c of [l.getTooltip && l.getTooltip(), l.getPopup && l.getPopup()]) {
                        if (!c) continue;
                        let html = c.getContent();
                        if (typeof html === "function") html = html(l);
                        const div = document.createElement("div");
                        div.innerHTML = html;  // parsed but not attached: a live <img> would exist here
                        if (div.querySelector("img")) out.push("IMG in " + key);
                        out.push(div.textContent);
                    }
                });
            }
            return out;
        }"""
    )
    assert not [t for t in texts if t.startswith("IMG in")]
    assert any(PROBE in t for t in texts), "the probe is shown as text in a popup or tooltip"
    # open the reception popup, a candidate popup (nearest GP is the probe) and search tips in the real DOM
    page.evaluate("() => { opvangmatch.layers.reception.getLayers()[0].openPopup(); }")
    assert PROBE in page.locator(".leaflet-popup-content").inner_text()
    page.evaluate("() => { opvangmatch.map.closePopup(); }")
    page.evaluate(
        """() => new Promise(done => {
            const c = opvangmatch.layers.candidates, gp = L.latLng(52.012, 6.137);
            const d = r => L.latLng(r[0], r[1]).distanceTo(gp);
            const row = c.rows.reduce((a, b) => (d(a) <= d(b) ? a : b));
            opvangmatch.openCandidate(c, row, done); })"""
    )
    assert PROBE in page.locator(".leaflet-popup-content").last.inner_text()
    page.locator(".leaflet-control-search .search-button").click()
    page.locator(".leaflet-control-search input.search-input").press_sequentially("<img", delay=30)
    page.locator(".leaflet-control-search .search-tip").first.wait_for(timeout=5000)
    assert PROBE in page.locator(".leaflet-control-search .search-tooltip").inner_text()
    assert page.locator('img[src="x"]').count() == 0
    page.screenshot(path=str(output_dir / "map_xss_probe.png"))
    page = show(browser, overview)
    page.evaluate("() => opvangmatch.pin(opvangmatch.regions.GM0221.feature.properties.p, opvangmatch.regions.GM0221)")
    assert f"{PROBE} 2" in page.locator(".om-panel").inner_text()  # the row without coordinates: in its panel
    assert page.locator('img[src="x"]').count() == 0


def test_maps_api_uses_the_same_access_rules(probe_settings):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import create_key
    from geo.db import make_engine

    engine = make_engine(probe_settings)
    try:
        dordrecht = create_key(engine, "municipality", "GM0505")
        app = create_app(replace(probe_settings, api_keys=(("viewer-key", "viewer"),)), engine)
        with TestClient(app) as client:
            assert client.get("/maps/overview?tiles=none").status_code == 401
            ok = client.get("/maps/overview?tiles=none&lang=en", headers={"X-API-Key": "viewer-key"})
            assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/html")
            assert "L.map(" in ok.text and "municipalities" in ok.text
            query = "/maps/region?province=PV25&municipality=GM0221&profile=families&tiles=none"
            assert client.get(query, headers={"X-API-Key": dordrecht}).status_code == 403
            region = client.get(query, headers={"X-API-Key": "viewer-key"})
            assert region.status_code == 200 and "markerClusterGroup" in region.text
            assert client.get("/maps/proposals/999", headers={"X-API-Key": "viewer-key"}).status_code == 404
            with engine.begin() as conn:
                proposal_id = conn.execute(
                    sa.text(
                        "INSERT INTO proposal (title, description, target_group, municipality_code, capacity, geom) "
                        "VALUES (:t, 'test', 'families', 'GM0221', 40, "
                        "ST_SetSRID(ST_MakePoint(205500, 446500), 28992)) "
                        "RETURNING id"
                    ),
                    {"t": PROBE},
                ).scalar_one()
            url = f"/maps/proposals/{proposal_id}?tiles=none"
            assert client.get(url, headers={"X-API-Key": dordrecht}).status_code == 404  # not its municipality
            shown = client.get(url, headers={"X-API-Key": "viewer-key"})
            assert shown.status_code == 200 and PROBE not in shown.text and "candidatePopup" in shown.text
    finally:
        engine.dispose()
