"""The scoring API over HTTP on the demo database: scoring, proposals, roles, candidates, regions, task, bad input."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.batch import _Job, score_many
from api.geometry import location_to_rd
from geo.score import ScoringData, profile_for_group, score_location
from geo.settings import Settings
from tests.api_helpers import DOESBURG, DORDRECHT, assert_problem, h


def point(coords):
    return {"type": "Point", "coordinates": coords}


def score_body(**changes):
    return {"location": point(DOESBURG), "capacity": 40, "target_group": "families", **changes}


# --- health and access -----------------------------------------------------------------------------------------


def test_health_needs_no_key_and_names_the_vintage(client, demo_engine):
    from geo.db.status import data_vintage

    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["data_vintage"] == data_vintage(demo_engine)["id"]


@pytest.mark.parametrize(
    "method,path",
    [
        ("post", "/score"),
        ("get", "/proposals"),
        ("get", "/candidates"),
        ("get", "/task"),
        ("get", "/regions/provinces"),
        ("get", "/"),
        ("get", "/collections"),
        ("get", "/collections/municipalities/items"),
    ],
)
def test_every_endpoint_but_health_needs_a_valid_key(client, method, path):
    assert_problem(getattr(client, method)(path), 401, "X-API-Key")
    assert_problem(getattr(client, method)(path, headers={"X-API-Key": "om_not-a-key"}), 401, "not valid")


# --- scoring ------------------------------------------------------------------------------------------------------


def test_score_gives_every_component_measure_profile_and_vintage(client, keys, demo_engine):
    response = client.post("/score", json=score_body(), headers=h(keys, "viewer"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result["components"]) == {"proportional_fit", "proximity", "task_contribution", "size_fit"}
    assert result["task"]["municipality"] == "GM0221"
    assert result["use"]["state"] == "unknown" and "opvangmatch load residences" in result["use"]["note"]
    assert 0 <= result["proximity_weight"]["measured_share"] <= 1
    measured = [v for v in result["proximity"].values() if v["status"] == "measured"]
    assert measured and all(v["nearest"] is not None and v["distance_m"] >= 0 for v in measured)
    assert result["proportional_fit"]["levels"]["municipality"]["share"] > 0
    profile = profile_for_group("families")
    assert result["profile"] == {"name": "families", "version": profile.version, "target_group": "families"}
    # the same as the engine gives for the same location (the API only transforms the coordinates)
    data = ScoringData.load(demo_engine)
    expected = score_location(data, location_to_rd(point(DOESBURG)), 40, profile)
    assert result == json.loads(json.dumps(expected))


def test_score_says_which_kind_each_distance_is(client, keys):
    """A real BAG unit in central Amsterdam (on the shipped walking network) and Doesburg (off it)."""
    amsterdam = score_body(location=point([121956.0, 486881.0]), crs="EPSG:28992")
    body = client.post("/score", json=amsterdam, headers=h(keys, "viewer")).json()
    assert body["proximity"]["primary_school"]["distance_kind"] == "network"
    assert body["proximity"]["primary_school"]["service_snap_m"] is not None
    assert body["proximity"]["train_station"]["distance_kind"] == "straight"
    assert body["network"]["snap_m"] < 50 and "outside_network" not in body["flags"]
    doesburg = client.post("/score", json=score_body(), headers=h(keys, "viewer")).json()
    assert "outside_network" in doesburg["flags"]
    measured = [v for v in doesburg["proximity"].values() if v["status"] in ("measured", "upper_bound")]
    assert measured and {v["distance_kind"] for v in measured} == {"straight"}


def test_rd_coordinates_with_the_explicit_option_score_the_same(client, keys):
    x, y = location_to_rd(point(DOESBURG)).coords[0]
    rd = client.post("/score", json=score_body(location=point([x, y]), crs="EPSG:28992"), headers=h(keys, "viewer"))
    wgs = client.post("/score", json=score_body(), headers=h(keys, "viewer"))
    assert rd.status_code == 200 and rd.json()["total"] == wgs.json()["total"]


def test_a_polygon_is_scored_from_a_point_inside_it(client, keys):
    lon, lat = DORDRECHT
    ring = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat + 0.001], [lon, lat]]
    response = client.post(
        "/score",
        json=score_body(location={"type": "Polygon", "coordinates": [ring]}, floor_area=900),
        headers=h(keys, "viewer"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["task"]["municipality"] == "GM0505"
    assert any("polygon" in note for note in response.json()["notes"])


def test_batched_scoring_equals_scoring_one_by_one(demo_engine):
    data = ScoringData.load(demo_engine)
    profile = profile_for_group("single_adults")
    lon, lat = DORDRECHT
    shapes = [
        location_to_rd(point(DOESBURG)),
        location_to_rd(point(DORDRECHT)),
        location_to_rd(point([lon + 0.02, lat - 0.01])),
        location_to_rd(
            {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.002, lat], [lon, lat + 0.002], [lon, lat]]]}
        ),
    ]
    areas = [None, 400.0, None, 3000.0]
    # two profiles mixed in one batch: measured once, graded per profile
    profiles = [profile, profile_for_group("amv"), profile, profile_for_group("amv")]
    jobs = [
        _Job(s, shapely.point_on_surface(s) if s.geom_type != "Point" else s, 60, p, a, None)
        for s, a, p in zip(shapes, areas, profiles, strict=True)
    ]
    together = score_many(data, jobs)
    for job, result in zip(jobs, together, strict=True):
        alone = score_location(data, job.shape, 60, job.profile, floor_area=job.floor_area)
        assert json.dumps(result, sort_keys=True) == json.dumps(alone, sort_keys=True)


def _polygon_with(n: int) -> dict:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([DOESBURG[0] + 0.001 * np.cos(angles), DOESBURG[1] + 0.001 * np.sin(angles)])
    ring = np.vstack([ring, ring[:1]]).round(7).tolist()
    return {"type": "Polygon", "coordinates": [ring]}


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[6.13, 52.01], [6.14, 52.02], [6.14, 52.01], [6.13, 52.02], [6.13, 52.01]]],
}


@pytest.mark.parametrize(
    "body,status,words",
    [
        ('{"location": {"type": "Point", "coordinates": [6.1, 52.0]}, "capacity": 4', 400, ["not valid JSON"]),
        (
            {"location": {"type": "Pointy", "coordinates": [6.1, 52.0]}, "capacity": 40, "target_group": "families"},
            422,
            ["location"],
        ),
        (
            {"location": {"type": "Point", "coordinates": [6.1]}, "capacity": 40, "target_group": "families"},
            422,
            ["location"],
        ),
        (score_body(location=BOWTIE), 422, ["self-intersection"]),
        (
            score_body(
                location={
                    "type": "Polygon",
                    "coordinates": [[[6.13, 52.01], [6.14, 52.02], [6.14, 52.01], [6.135, 52.0]]],
                }
            ),
            422,
            ["location"],
        ),
        (score_body(location=point([52.0128, 6.1375])), 422, ["swapped"]),
        (score_body(location=point([195000.0, 445000.0])), 422, ["RD New", "EPSG:28992"]),
        (score_body(location=point([2.35, 48.85])), 422, ["outside the Netherlands"]),
        (score_body(location=point([6.1375, 52.0128]), crs="EPSG:28992"), 422, ["outside the Netherlands"]),
        (
            '{"location": {"type": "Point", "coordinates": [NaN, 52.0]}, "capacity": 40, "target_group": "families"}',
            422,
            ["finite"],
        ),
        (
            '{"location": {"type": "Point", "coordinates": [6.1, Infinity]}, "capacity": 40, '
            '"target_group": "families"}',
            422,
            ["finite"],
        ),
        (score_body(capacity=float("nan")), 422, ["capacity"]),
        # the two big bodies are built when their test runs, not when each worker collects the module
        (lambda: score_body(location=_polygon_with(20_000)), 422, ["20,001 vertices", "at most 10,000"]),
        (lambda: score_body(location=_polygon_with(1_000_000)), 413, ["limit"]),
        (score_body(target_group="tourists"), 422, ["target_group"]),
        (score_body(capacity=0), 422, ["capacity"]),
        (score_body(capacity=1_000_000), 422, ["capacity"]),
        (score_body(profile="'; DROP TABLE proposal; --"), 422, ["profile"]),
        (score_body(profile="nosuchprofile"), 422, ["profile", "families"]),
        (score_body(crs="EPSG:3857"), 422, ["crs"]),
        (score_body(extra_field=1), 422, ["extra"]),
    ],
    ids=[
        "malformed-json",
        "not-geojson",
        "short-position",
        "self-intersection",
        "unclosed-ring",
        "swapped",
        "rd-as-wgs84",
        "paris",
        "degrees-as-rd",
        "nan",
        "infinity",
        "nan-capacity",
        "20k-vertices",
        "1m-vertices",
        "target-group",
        "capacity-0",
        "capacity-huge",
        "sql-profile",
        "unknown-profile",
        "crs",
        "extra-field",
    ],
)
def test_bad_score_input_is_a_4xx_problem_that_says_what(client, keys, body, status, words):
    headers = {**h(keys, "viewer"), "content-type": "application/json"}
    if callable(body):
        body = body()
    if isinstance(body, str):
        response = client.post("/score", content=body, headers=headers)
    else:
        response = client.post("/score", content=json.dumps(body, allow_nan=True), headers=headers)
    assert_problem(response, status, *words)


def test_a_streamed_body_over_the_limit_is_refused(client, keys):
    def chunks():
        for _ in range(40):
            yield b" " * 50_000

    response = client.post(
        "/score", content=chunks(), headers={**h(keys, "viewer"), "content-type": "application/json"}
    )
    assert_problem(response, 413, "limit")


# --- candidates, regions, task, ids and limits ----------------------------------------------------------------------


def test_candidates_are_geojson_ranked_with_their_breakdown(client, keys):
    response = client.get("/candidates", params={"limit": 5, "municipality": "GM0221"}, headers=h(keys, "viewer"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["numberMatched"] > 1000 and body["numberReturned"] == 5
    ranks = [f["properties"]["rank"] for f in body["features"]]
    assert ranks == list(range(1, 6))  # the engine's ranking: score bands, then the secondary criteria
    bands = [f["properties"]["band"] for f in body["features"]]
    assert bands == sorted(bands)
    assert any("use unknown" in note for note in body["notes"]) and body["ranking"]["secondary"][-1] == "id"
    first = body["features"][0]
    assert set(first["properties"]["components"]) == {
        "proportional_fit",
        "proximity",
        "task_contribution",
        "size_fit",
    }
    assert first["properties"]["use"]["state"] == "unknown"
    assert 0 <= first["properties"]["proximity_weight"]["measured_share"] <= 1
    lon, lat = first["geometry"]["coordinates"]
    assert 6.0 < lon < 6.3 and 51.9 < lat < 52.1
    detail = client.get(f"/candidates/{first['id']}", headers=h(keys, "viewer")).json()
    assert detail["properties"]["total"] == first["properties"]["total"] and detail["properties"]["summary"]
    assert any("representative point" in note for note in body["notes"])
    assert any("representative point" in note for note in detail["properties"]["notes"])
    boxed = client.get(
        "/candidates",
        params={"bbox": f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}", "min_score": 0.0},
        headers=h(keys, "viewer"),
    ).json()
    assert first["id"] in {f["id"] for f in boxed["features"]}
    high = client.get("/candidates", params={"min_score": 0.99, "limit": 1000}, headers=h(keys, "viewer")).json()
    assert all(f["properties"]["total"] >= 0.99 for f in high["features"])


def strict_json(text: str):
    """Parse as RFC 8259 JSON: NaN and Infinity (which Python's json accepts) are errors."""

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("path", ["/candidates?limit=1000", "/collections/candidates/items?limit=1000"])
def test_every_candidate_feature_is_strict_json(client, keys, path):
    """Missing names and distances are null, never NaN (a browser's JSON.parse refuses NaN)."""
    body = strict_json(client.get(path, headers=h(keys, "viewer")).text)
    proximity = [p for f in body["features"] for p in f["properties"]["proximity"].values()]
    assert any(p["nearest"] is None for p in proximity) and any(isinstance(p["nearest"], str) for p in proximity)


@pytest.mark.parametrize(
    "path,status,words",
    [
        ("/candidates?limit=1001", 422, ["limit"]),
        ("/candidates?limit=0", 422, ["limit"]),
        ("/candidates?offset=-1", 422, ["offset"]),
        ("/candidates?municipality=GM0221'%20OR%201=1%20--", 422, ["municipality"]),
        ("/candidates?bbox=1,2,3", 422, ["bbox"]),
        ("/candidates?bbox=7,52,6,53", 422, ["bbox"]),
        ("/candidates?bbox=nan,1,2,3", 422, ["bbox"]),
        ("/candidates?min_score=inf", 422, ["min_score"]),
        ("/candidates?profile=nosuch", 422, ["profile", "default"]),
        ("/candidates/0000000000000000", 404, ["not a scored candidate"]),
        ("/candidates/abc;drop", 422, ["candidate_id"]),
        ("/proposals/999999", 404, ["does not exist"]),
        ("/proposals/abc", 422, ["proposal_id"]),
        ("/proposals/0", 422, ["proposal_id"]),
        ("/proposals?status=approved", 422, ["status"]),
        ("/regions/municipalities?province=PV25;--", 422, ["province"]),
        ("/collections/nosuch/items", 404, ["no collection"]),
        ("/collections/services/items?limit=10001", 422, ["limit"]),
        ("/collections/services/items/xyz", 404, ["no feature"]),
        ("/nowhere", 404, []),
    ],
)
def test_bad_ids_filters_and_limits_are_4xx_problems(client, keys, path, status, words):
    assert_problem(client.get(path, headers=h(keys, "admin")), status, *words)


def test_regions_carry_population_and_task_figures(client, keys):
    provinces = client.get("/regions/provinces", headers=h(keys, "viewer")).json()
    assert len(provinces["features"]) == 12
    assert sum(f["properties"]["required"] for f in provinces["features"]) >= 96_000
    south_holland = client.get("/regions/municipalities", params={"province": "PV28"}, headers=h(keys, "viewer"))
    features = south_holland.json()["features"]
    assert features and {f["properties"]["province_code"] for f in features} == {"PV28"}
    assert "GM0505" in {f["id"] for f in features}
    assert all(f["properties"]["population"] > 0 and "gap" in f["properties"] for f in features)


def test_task_table(client, keys):
    body = client.get("/task", params={"level": "province"}, headers=h(keys, "viewer")).json()
    assert body["national_total"] == 96_000 and len(body["rows"]) == 12
    assert {r["required_basis"] for r in body["rows"]} <= {"official", "computed"}
    # realised beside the published figures: the country and every province, with the coverage said in words
    national = body["reconciliation"][0]
    assert national["region_code"] == "NL" and national["reported_places"] == 50_000
    assert national["realised_coverage"] < 0.5 and "LOW COVERAGE" in national["coverage_note"]
    assert national["coverage_status"] == "low"  # the judgement as a field, beside the sentence
    assert len(body["reconciliation"]) == 13
    rows = {r["region_code"]: r for r in body["rows"]}
    assert rows["PV30"]["reported_places"] == 8900 and rows["PV30"]["coverage_note"].startswith("Noord-Brabant:")
    assert rows["PV26"]["reported_places"] is None and rows["PV26"]["realised_coverage"] is None


# --- proposals: roles, status machine, history, concurrency ----------------------------------------------------


def proposal_body(**changes):
    return {
        "title": "Voormalig kantoor",
        "description": "Leegstaand kantoor, 2 verdiepingen",
        "target_group": "families",
        **changes,
    }


def test_roles_see_and_change_only_what_they_may(client, keys):
    # a viewer reads but never writes
    assert_problem(
        client.post("/proposals", json=proposal_body(municipality_code="GM0505"), headers=h(keys, "viewer")),
        403,
        "viewer",
    )
    # a municipality submits for itself only
    mine = client.post("/proposals", json=proposal_body(), headers=h(keys, "dordrecht"))
    assert mine.status_code == 201 and mine.json()["municipality_code"] == "GM0505"
    assert_problem(
        client.post("/proposals", json=proposal_body(municipality_code="GM0221"), headers=h(keys, "dordrecht")),
        403,
        "GM0505",
    )
    theirs = client.post("/proposals", json=proposal_body(municipality_code="GM0221"), headers=h(keys, "coa")).json()
    pid = mine.json()["id"]
    # another municipality neither sees nor changes it; the list shows its own only
    assert_problem(client.get(f"/proposals/{pid}", headers=h(keys, "doesburg")), 404)
    assert_problem(
        client.patch(f"/proposals/{pid}", json={"version": 1, "title": "x"}, headers=h(keys, "doesburg")), 404
    )
    listed = client.get("/proposals", headers=h(keys, "doesburg")).json()["items"]
    assert {p["municipality_code"] for p in listed} == {"GM0221"} and theirs["id"] in {p["id"] for p in listed}
    assert_problem(client.get("/proposals?municipality=GM0505", headers=h(keys, "doesburg")), 403)
    # coa, admin and viewer see everything
    for role in ("coa", "admin", "viewer"):
        ids = {p["id"] for p in client.get("/proposals", headers=h(keys, role)).json()["items"]}
        assert {pid, theirs["id"]} <= ids
    # a municipality may not move the status forward, but may withdraw its own proposal
    assert_problem(
        client.patch(
            f"/proposals/{pid}", json={"version": 1, "status": "in_preparation"}, headers=h(keys, "dordrecht")
        ),
        403,
        "withdraw",
    )
    withdrawn = client.patch(
        f"/proposals/{pid}",
        json={"version": 1, "status": "withdrawn", "note": "ander pand"},
        headers=h(keys, "dordrecht"),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    # candidates: a municipality key sees its own municipality only
    own = client.get("/candidates", params={"limit": 1000}, headers=h(keys, "doesburg")).json()
    assert own["numberMatched"] > 0 and {f["properties"]["municipality_code"] for f in own["features"]} == {"GM0221"}
    assert client.get("/candidates", headers=h(keys, "dordrecht")).json()["numberMatched"] == 0
    assert_problem(client.get("/candidates?municipality=GM0221", headers=h(keys, "dordrecht")), 403)


def test_the_stappenplan_moves_step_by_step_with_reasons_and_history(client, keys):
    coa = h(keys, "coa")
    created = client.post(
        "/proposals",
        json=proposal_body(
            municipality_code="GM0221", chain_partners=["IND"], minimum_standards={"safety": "brandveilig"}
        ),
        headers=coa,
    )
    proposal = created.json()
    pid, version = proposal["id"], proposal["version"]
    assert proposal["status"] == "submitted" and proposal["location"] is None and proposal["score"] is None

    def patch(expect, **body):
        nonlocal version
        response = client.patch(f"/proposals/{pid}", json={"version": version, **body}, headers=coa)
        if expect == 200:
            assert response.status_code == 200, response.text
            version = response.json()["version"]
            return response.json()
        return assert_problem(response, expect)

    assert "from submitted it can go to in_preparation or withdrawn" in patch(409, status="agreement_signed")["detail"]
    assert "needs a location" in patch(409, status="in_preparation")["detail"]
    scored = patch(200, location=point(DOESBURG), capacity=40)
    assert scored["score"]["task"]["municipality"] == "GM0221" and scored["score"]["total"] is not None
    assert "not in the proposal's municipality" in patch(422, location=point(DORDRECHT))["detail"]
    before = client.get("/task", params={"province": "PV25"}, headers=coa).json()["rows"]
    patch(200, status="in_preparation")
    after = client.get("/task", params={"province": "PV25"}, headers=coa).json()["rows"]
    pipeline = {r["region_code"]: r["pipeline"] for r in after}
    assert pipeline["GM0221"] == {r["region_code"]: r["pipeline"] for r in before}["GM0221"] + 40
    patch(200, status="agreement_signed")
    assert "can no longer change" in patch(409, location=point([6.14, 52.013]))["detail"]
    assert "start_date" in patch(409, status="active")["detail"]
    assert "at most 2 years" in patch(422, status="active", start_date="2025-01-01", end_date="2027-06-01")["detail"]
    active = patch(200, status="active", start_date="2025-01-01")
    assert active["end_date"] == "2027-01-01" and not active["extended"]
    assert "positive evaluation" in patch(409, extend_until="2028-01-01", note="positief")["detail"]
    for key in ("coa", "doesburg"):
        evaluation = {"outcome": "positive", "summary": "positief"}
        assert client.post(f"/proposals/{pid}/evaluations", json=evaluation, headers=h(keys, key)).status_code == 201
    assert "note" in patch(422, extend_until="2028-01-01")["detail"]
    assert "at most 2 more years" in patch(422, extend_until="2031-01-01", note="positief")["detail"]
    extended = patch(200, extend_until="2028-01-01", note="positieve evaluatie")
    assert extended["extended"] and extended["end_date"] == "2028-01-01"
    assert "evaluation on record" in patch(409, status="evaluated")["detail"]  # the earlier one led to the extension
    evaluation = {"outcome": "negative", "summary": "afgerond"}
    assert client.post(f"/proposals/{pid}/evaluations", json=evaluation, headers=coa).status_code == 201
    patch(200, status="evaluated")
    assert "final status" in patch(409, status="active")["detail"]
    history = client.get(f"/proposals/{pid}", headers=coa).json()["history"]
    kinds = [(e["kind"], e["to_status"]) for e in history]
    assert kinds[0] == ("created", "submitted") and ("extension", "active") in kinds
    assert [to for kind, to in kinds if kind == "status"] == [
        "in_preparation",
        "agreement_signed",
        "active",
        "evaluated",
    ]
    assert any(e["note"] == "positieve evaluatie" for e in history)


def test_sql_in_text_fields_is_stored_as_text(client, keys, demo_engine):
    evil = "x'); DROP TABLE proposal; --"
    created = client.post(
        "/proposals",
        json=proposal_body(title=evil, description=evil, municipality_code="GM0505"),
        headers=h(keys, "coa"),
    )
    assert created.status_code == 201 and created.json()["title"] == evil
    with demo_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM proposal WHERE title = :t"), {"t": evil}).scalar_one() == 1
    assert_problem(
        client.post("/proposals", json=proposal_body(municipality_code="GM0505' OR '1'='1"), headers=h(keys, "coa")),
        422,
        "municipality_code",
    )
    assert_problem(
        client.post("/proposals", json=proposal_body(municipality_code="GM9999"), headers=h(keys, "coa")), 422, "GM9999"
    )


def test_concurrent_writes_lose_nothing(client, keys, demo_engine):
    def submit(i):
        return client.post("/proposals", json=proposal_body(title=f"parallel {i}"), headers=h(keys, "dordrecht"))

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(submit, range(16)))
    assert all(r.status_code == 201 for r in created)
    ids = {r.json()["id"] for r in created}
    assert len(ids) == 16
    with demo_engine.connect() as conn:
        titles = conn.execute(sa.text("SELECT title FROM proposal WHERE title LIKE 'parallel %'")).scalars().all()
    assert sorted(titles) == sorted(f"parallel {i}" for i in range(16))

    pid = min(ids)

    def change(i):
        return client.patch(f"/proposals/{pid}", json={"version": 1, "title": f"change {i}"}, headers=h(keys, "coa"))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(change, range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7, codes
    final = client.get(f"/proposals/{pid}", headers=h(keys, "coa")).json()
    winner = next(r for r in results if r.status_code == 200).json()["title"]
    assert final["version"] == 2 and final["title"] == winner
    assert [e["kind"] for e in final["history"]] == ["created", "changed"]


def test_intake_round_closing_date_refuses_new_proposals(demo_settings, keys):
    settings = Settings(**{**demo_settings.__dict__, "intake_closes": "2021-10-01"})
    with TestClient(create_app(settings)) as closed:
        response = closed.post("/proposals", json=proposal_body(), headers=h(keys, "dordrecht"))
    assert_problem(response, 409, "closed on 2021-10-01")


def test_statement_timeout_is_set_on_the_apps_connections(client):
    engine = client.app.state.opvangmatch.engine
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "5s"
        with pytest.raises(sa.exc.OperationalError):
            conn.execute(sa.text("SET statement_timeout = 100; SELECT pg_sleep(1)"))


# --- strict types: a number is a JSON number, a date is text ----------------------------------------------------

LOOSE = [
    ("capacity", "40"),
    ("capacity", True),
    ("capacity", 40.0),
    ("floor_area", "120"),
    ("floor_area", False),
]
LOOSE_LOCATIONS = [
    point(["6.1375", "52.0128"]),
    point([True, 52.0128]),
    {"type": "Point", "coordinates": DOESBURG, "bbox": ["6", 52, 6.2, 52.1]},
    {"type": "Polygon", "coordinates": [[[6.137, 52.012], [6.138, 52.012], ["6.138", 52.013], [6.137, 52.012]]]},
    {"type": "Point", "coordinates": "6.1375,52.0128"},
]


@pytest.mark.parametrize(("field", "value"), LOOSE)
def test_numbers_as_text_or_booleans_are_refused_in_every_request_body(client, keys, field, value):
    refused = assert_problem(client.post("/score", json=score_body(**{field: value}), headers=h(keys, "admin")), 422)
    assert [e["field"] for e in refused["errors"]] == [field]
    body = proposal_body(municipality_code="GM0221", location=point(DOESBURG), **{"capacity": 40, field: value})
    refused = assert_problem(client.post("/proposals", json=body, headers=h(keys, "admin")), 422)
    assert [e["field"] for e in refused["errors"]] == [field]
    refused = assert_problem(
        client.patch("/proposals/1", json={"version": 1, field: value}, headers=h(keys, "admin")), 422
    )
    assert [e["field"] for e in refused["errors"]] == [field]


@pytest.mark.parametrize("location", LOOSE_LOCATIONS)
def test_coordinates_must_be_json_numbers(client, keys, location):
    refused = assert_problem(client.post("/score", json=score_body(location=location), headers=h(keys, "admin")), 422)
    assert [e["field"] for e in refused["errors"]] == ["location"]
    body = proposal_body(municipality_code="GM0221", location=location)
    assert_problem(client.post("/proposals", json=body, headers=h(keys, "admin")), 422, "location")


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"version": "1"}, "version"),
        ({"version": True}, "version"),
        ({"version": 1, "start_date": 1767225600}, "start_date"),
    ],
)
def test_patch_version_and_dates_are_strict(client, keys, patch, field):
    refused = assert_problem(client.patch("/proposals/1", json=patch, headers=h(keys, "admin")), 422)
    assert [e["field"] for e in refused["errors"]] == [field]


def test_json_integers_are_fine_for_float_fields(client, keys):
    answer = client.post("/score", json=score_body(floor_area=600, capacity=40), headers=h(keys, "admin"))
    assert answer.status_code == 200, answer.text


def test_the_outage_bound_is_a_setting_checked_at_start():
    from api.server import served_config
    from geo.errors import ConfigError
    from geo.settings import Settings

    assert served_config(Settings.from_env({})).key_outage_seconds == 900
    assert served_config(Settings.from_env({"OPVANGMATCH_KEY_OUTAGE_SECONDS": "60"})).key_outage_seconds == 60
    for bad in ("soon", "-1", "nan"):
        with pytest.raises(ConfigError, match="OPVANGMATCH_KEY_OUTAGE_SECONDS"):
            Settings.from_env({"OPVANGMATCH_KEY_OUTAGE_SECONDS": bad})
