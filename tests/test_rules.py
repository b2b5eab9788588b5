"""Domain rules decided once (issue 12, items 4-9): which reception sites count, the reference share, where a
location lies, coverage of service layers, and flags for every clipped, assumed or estimated value."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import DataError
from geo.io.tables import load_reception, partial_date
from geo.reception import site_status
from geo.score import ScoringData, profile_for_group, score_location
from geo.task import NATIONAL_TOTALS, placement_tasks, reference_date, task_summary


@pytest.fixture(scope="module")
def data(demo_engine) -> ScoringData:
    return ScoringData.load(demo_engine)


@pytest.fixture(scope="module")
def tasks(demo_engine) -> pd.DataFrame:
    return placement_tasks(demo_engine, "2024")


def _municipality(data: ScoringData, name: str) -> tuple[str, shapely.Geometry]:
    layer = data.areas["municipality"]
    i = list(layer.names).index(name)
    return layer.codes[i], layer.geoms[i]


# --- item 4: one rule decides which reception sites count ------------------------------------------------------


def test_fit_and_task_count_the_same_reception_places(data, tasks):
    """Old code: the fit counted closed, planned and summary rows (Weert 1,000, Doetinchem 675, Dordrecht 670,
    Sliedrecht 250) where the task counted 0, 225, 170, 0."""
    mun = tasks[tasks.level == "municipality"].set_index("region_code")
    layer = data.areas["municipality"]
    fit = pd.Series(layer.existing, index=layer.codes)
    assert (fit.reindex(mun.index).fillna(0).astype(int) == mun.realised).all()
    undated = pd.Series(layer.undated, index=layer.codes)
    assert (undated.reindex(mun.index).fillna(0).astype(int) == mun.undated).all()
    for name in ("Weert", "Doetinchem", "Dordrecht", "Sliedrecht"):
        code, _ = _municipality(data, name)
        assert fit[code] == mun.realised[code] == 0, name


def test_a_closed_azc_no_longer_weighs_on_a_small_location(data):
    """Weert, 40 places for families: old code 0.617 (fit 0: 1,000 places of an azc closed in 2019)."""
    _, geom = _municipality(data, "Weert")
    result = score_location(data, shapely.point_on_surface(geom), 40, profile_for_group("families"))
    assert result["proportional_fit"]["levels"]["municipality"]["existing_places"] == 0
    assert result["components"]["proportional_fit"]["value"] == 1.0
    assert result["total"] > 0.85  # v2: task credit counts 40 places against the preferred size (100), not 40/40


# --- item 5: validity on the reference date -------------------------------------------------------------------


def test_expired_and_temporary_sites_are_not_realised(tasks):
    """Old code: Wassenaar (Duinrell winter shelter 2020-21, 650) and Lelystad (emergency shelter 2015, 230)
    counted, and 8 municipalities and Flevoland had a negative gap."""
    mun = tasks[tasks.level == "municipality"].set_index("name")
    assert mun.realised["Wassenaar"] == 0 and mun.realised["Lelystad"] == 0
    assert mun.undated["Lelystad"] == 230  # opened 2015, no end date: listed as undated
    negative = tasks[(tasks.gap < 0)]
    # Only Maastricht: its permanent azc (650, in use since 2020, no end) exceeds its computed share.
    assert list(negative.name) == ["Maastricht"]
    skipped = {(r["municipality_name"], r["status"]) for r in tasks.attrs["skipped_reception"]}
    assert ("Wassenaar", "expired") in skipped and ("Weert", "not_open") in skipped
    assert ("Gorinchem", "undated") in skipped and ("Lelystad", "undated") in skipped
    assert tasks.attrs["reference_date"] == "2024-02-01"


def test_undated_places_are_shown_beside_realised(tasks):
    lines = task_summary(tasks)
    assert any(line.startswith("undated ") for line in lines)
    assert any("Gorinchem" in line and "undated: no start date" in line for line in lines)
    prov = tasks[tasks.level == "province"]
    assert prov.undated.sum() == tasks[tasks.level == "municipality"].undated.sum() > 0


def test_the_reference_date_decides(demo_engine):
    """On 1 Oct 2022 the Doetinchem crisis shelter (Aug-Dec 2022) and Musselkanaal (Sep 2020 - Sep 2023) count."""
    on_2022 = placement_tasks(demo_engine, "2024", on=date(2022, 10, 1)).set_index("name")
    assert on_2022.realised["Doetinchem"] == 225 and on_2022.realised["Stadskanaal"] == 428
    assert on_2022.realised["Wassenaar"] == 0  # ended 15 March 2021


def test_site_status_rule():
    """The rule in one function: open, with a capacity, valid on the date; undated when that cannot be told."""
    rows = pd.DataFrame(
        [
            ("azc", 100, date(2020, 1, 1), None, True),  # counted: open-ended
            ("azc", 100, date(2020, 1, 1), date(2024, 2, 1), False),  # counted: last day
            ("azc", 100, date(2020, 1, 1), date(2024, 1, 31), False),  # expired
            ("azc", 100, date(2024, 2, 2), None, True),  # not yet open
            ("azc", 100, date(2020, 1, 1), None, False),  # undated: no end
            ("azc", 100, None, None, False),  # undated: no start
            ("azc", 100, None, date(2030, 1, 1), False),  # undated: no start
            ("azc (gesloten)", 100, date(2020, 1, 1), None, True),  # not open
            ("azc (voorgenomen)", 100, None, None, False),  # planned
            ("azc", None, date(2020, 1, 1), None, True),  # no capacity
        ],
        columns=["kind", "capacity", "valid_from", "valid_until", "open_ended"],
    )
    status = site_status(rows, date(2024, 2, 1))
    assert list(status.status) == [
        "counted",
        "counted",
        "expired",
        "not_yet_open",
        "undated",
        "undated",
        "undated",
        "not_open",
        "not_open",
        "no_capacity",
    ]
    assert pd.isna(status.reason[0]) and "no end date" in status.reason[4] and "no start date" in status.reason[5]


def test_reception_dates_are_read_as_stated_and_checked(tmp_path):
    assert partial_date("2021-11", end=True) == date(2021, 11, 30)
    assert partial_date("2021-11", end=False) == date(2021, 11, 1)
    assert partial_date("2020", end=True) == date(2020, 12, 31)
    good = tmp_path / "constructed_reception.csv"
    good.write_text(
        "gemeente,name,capacity,valid_from,valid_until,places\n"
        "Weert,a,'630 terug naar 400',2020,open,400\nWeert,b,50,,,\n",
        encoding="utf-8",
    )
    frame = load_reception(good).frame
    assert frame.capacity.iloc[0] == 400 and pd.isna(frame.capacity.iloc[1])  # the places column decides
    assert frame.open_ended.tolist() == [True, False]
    assert frame.valid_from.iloc[0] == date(2020, 1, 1) and frame.valid_from.iloc[1] is None
    for body, field in (
        ("gemeente,name,valid_from\nWeert,a,zomer 2020\n", "valid_from"),
        ("gemeente,name,valid_from,valid_until\nWeert,a,2022,2021\n", "valid_from"),
        ("gemeente,name,places\nWeert,a,vijftig\n", "places"),
    ):
        bad = tmp_path / "constructed_bad_reception.csv"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(DataError) as caught:
            load_reception(bad)
        assert caught.value.field == field and caught.value.row == "line 2"


def test_shipped_capacity_is_the_current_figure(demo_engine):
    """Katwijk '630, terug naar 400': the old loader took 630, the first number."""
    sites = pd.read_sql("SELECT name, capacity FROM reception_location", demo_engine).set_index("name")
    assert sites.capacity["azc Katwijk"] == 400 and sites.capacity["azc Dronten"] == 1000


# --- item 8: one national reference share -----------------------------------------------------------------------


def test_one_reference_share_for_fit_and_task(data, tasks):
    """Old code: the fit used 96,002 (sum of the province figures) / population, the task 96,000."""
    population = tasks.attrs["national_population"]
    assert data.reference_share == tasks.attrs["reference_share"] == NATIONAL_TOTALS["2024"].places / population
    assert "96,000" in data.reference_note and "96,002" not in data.reference_note


def test_reference_date_of_a_period():
    assert reference_date("2024") == date(2024, 2, 1)
    assert reference_date("2025-07") == date(2025, 7, 1)
    assert reference_date("2024", date(2023, 1, 1)) == date(2023, 1, 1)


# --- item 6: a point outside every municipality is outside -----------------------------------------------------

ENCLAVES = [(4.92990, 51.43832), (4.9297, 51.4419)]  # Baarle-Hertog (Belgium), inside Baarle-Nassau's outline
ABROAD_IN_BOX = [(4.40, 51.22), (7.2, 52.3)]  # Antwerp, Germany: inside the Dutch bounding box


def _rd(lon: float, lat: float) -> tuple[float, float]:
    from pyproj import Transformer

    return Transformer.from_crs(4326, 28992, always_xy=True).transform(lon, lat)


@pytest.mark.parametrize("lon, lat", ENCLAVES + ABROAD_IN_BOX)
def test_territory_abroad_is_not_scored_as_dutch(data, lon, lat):
    """Old code: the enclaves were scored as Baarle-Nassau (GM0744, snapped in by the 250 m tolerance) and the
    others returned a result marked excluded."""
    from geo.errors import OutsideError

    with pytest.raises(OutsideError) as caught:
        score_location(data, shapely.Point(*_rd(lon, lat)), 40, profile_for_group("families"))
    assert ("abroad" in str(caught.value)) == ((lon, lat) in ENCLAVES)


def test_bulk_and_reference_paths_leave_abroad_outside(demo_engine, data):
    from geo.score.measure import measure
    from geo.score.reference import reference_measure

    xy = np.array([_rd(lon, lat) for lon, lat in ENCLAVES + ABROAD_IN_BOX] + [_rd(4.9426, 51.4440)])  # + Baarle
    fast = measure(data, xy, ["supermarket"])
    slow = reference_measure(demo_engine, data, xy, ["supermarket"])
    for level in fast.area_index:
        assert (fast.area_index[level] == slow.area_index[level]).all(), level
        assert (fast.area_index[level][:4] == -1).all(), level
    assert data.areas["municipality"].codes[fast.area_index["municipality"][4]] == "GM0744"


def test_the_api_refuses_places_abroad_with_a_422(demo_settings, demo_engine):
    import json

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api_helpers import assert_problem, clean_up, make_keys

    keys = make_keys(demo_engine)
    try:
        with TestClient(create_app(demo_settings)) as client:
            headers = {"X-API-Key": keys["coa"], "content-type": "application/json"}
            for lon, lat in ENCLAVES + ABROAD_IN_BOX:
                body = {"location": {"type": "Point", "coordinates": [lon, lat]}, "capacity": 40}
                response = client.post(
                    "/score", content=json.dumps({**body, "target_group": "families"}), headers=headers
                )
                assert_problem(response, 422, "abroad" if (lon, lat) in ENCLAVES else "outside the Netherlands")
                proposal = {
                    **body,
                    "title": "constructed test proposal",
                    "description": "abroad",
                    "target_group": "families",
                    "municipality_code": "GM0744",
                }
                response = client.post("/proposals", content=json.dumps(proposal), headers=headers)
                assert_problem(response, 422)
            baarle = {"type": "Point", "coordinates": [4.9426, 51.4440]}
            ok = client.post(
                "/score",
                content=json.dumps({"location": baarle, "capacity": 40, "target_group": "families"}),
                headers=headers,
            )
            assert ok.status_code == 200 and ok.json()["task"]["municipality"] == "GM0744"
    finally:
        clean_up(demo_engine)


# --- item 9: every clipped, assumed or estimated value carries a flag ------------------------------------------


@pytest.fixture(scope="module")
def doesburg(demo_engine, data):
    from geo.score import score_candidates

    return score_candidates(demo_engine, profile_for_group("families"), data, municipality="GM0221").frame


def test_a_capped_capacity_is_flagged(doesburg):
    """Old code: the 19,434 m2 hall (estimated 1,295 places) became an eligible '150 places' without a flag."""
    hall = doesburg.loc[doesburg.capacity_estimate.idxmax()]
    assert hall.capacity_estimate > 1000 and hall.capacity == 100  # v2: scored at the preferred size's upper end
    assert "capacity_capped" in hall["flags"]
    capped = doesburg.capacity_estimate > doesburg.capacity
    assert capped.any()
    assert (doesburg["flags"].map(lambda f: "capacity_capped" in f) == capped).all()
    one_storey = doesburg.capacity_method == "footprint_1_storey_assumed"
    assert (doesburg["flags"].map(lambda f: "one_storey_assumed" in f) == one_storey).all()
    assert doesburg["flags"].map(lambda f: "capacity_estimated" in f).all()
    # the floor-area rule is not applied where the capacity comes from that floor area
    assert not doesburg["flags"].map(lambda f: "floor_area_too_small" in f).any()


def test_the_floor_area_rule_checks_a_given_capacity(data):
    _, geom = _municipality(data, "Doesburg")
    point = shapely.point_on_surface(geom)
    small = score_location(data, point, 40, profile_for_group("families"), floor_area=300.0)  # 40 x 15 m2 = 600
    assert "floor_area_too_small" in small["flags"] and small["excluded"]
    roomy = score_location(data, point, 40, profile_for_group("families"), floor_area=900.0)
    assert "floor_area_too_small" not in roomy["flags"]


def test_flags_reach_the_cli_list_the_map_popup_and_the_api(demo_settings, demo_engine, data, tmp_path):
    import orjson

    from api.candidate_table import CandidateTable
    from geo.maps.candidates import Tables, candidate_rows
    from geo.score import score_candidates
    from tests.helpers import cli_env, opvangmatch

    run = opvangmatch(
        ["score", "--profile", "families", "--municipality", "GM0221", "--top", "500", "--no-store"],
        cli_env(demo_settings, tmp_path),
    )
    assert run.returncode == 0, run.stderr
    listed = [line for line in run.stdout.splitlines() if line.strip()[:1].isdigit()]
    capped_line = next(line for line in listed if "capacity_capped" in line)
    assert "estimated)" in capped_line  # e.g. '150 ... footprint_1_storey_assumed (of 1,295 estimated)'
    scores = score_candidates(demo_engine, profile_for_group("families"), data, municipality="GM0221")
    hall = int(scores.frame.capacity_estimate.idxmax())
    tables = Tables("en")
    rows = candidate_rows(scores, tables)
    popup_flags = tables.flagsets[rows[hall][12]]
    assert "capacity capped at the profile&#x27;s preferred size (part of the building)" in popup_flags  # map popup
    table = CandidateTable(scores, 0)
    hall_id = scores.frame.id[hall]
    feature = orjson.loads(table.features[table.row_of(hall_id)])  # GET /candidates
    assert "capacity_capped" in feature["properties"]["flags"]
    assert feature["properties"]["capacity_estimate"] > feature["properties"]["capacity"] == 100
    assert "capacity_capped" in table.explanation(hall_id)["flags"]  # GET /candidates/{id}


# --- item 7: coverage is declared per layer, category and area ------------------------------------------------


def test_a_partial_layer_never_gives_a_far_measurement_beside_a_near_estimate(doesburg):
    """Old code: a building of the Doesburg run lying in Zevenaar (one Jumbo there) got a 'measured' 8.4 km
    (score 0) while its Doesburg neighbours got the CBS estimate of 700 m (score 1)."""
    zevenaar = doesburg[doesburg.municipality_code == "GM0299"].iloc[0]
    assert np.isnan(zevenaar.supermarket_distance) and zevenaar.supermarket_estimate == 1100
    assert "estimated_supermarket" in zevenaar["flags"] and zevenaar.supermarket_score > 0.9
    # the Jumbo layer is partial everywhere: no supermarket distance is ever a measurement
    assert (np.isnan(doesburg.supermarket_distance) | doesburg.supermarket_bound).all()


def test_complete_layers_measure_partial_layers_bound(data):
    _, doesburg = _municipality(data, "Doesburg")
    result = score_location(data, shapely.point_on_surface(doesburg), 40, load_default())
    assert result["proximity"]["bus_stop"]["status"] == "measured"  # GTFS stops: complete in GM0221
    assert result["proximity"]["train_station"]["status"] == "measured"  # CHB: complete nationwide
    # next to a Jumbo in Dordrecht: the known point is nearer than the CBS estimate, so it is used as an upper bound
    layer = data.services["supermarket"]
    _, dordrecht = _municipality(data, "Dordrecht")
    shapely.prepare(dordrecht)
    x, y = next(p for p in layer.xy if dordrecht.contains(shapely.Point(p)))
    near = score_location(data, shapely.Point(x + 30, y), 40, load_default())
    item = near["proximity"]["supermarket"]
    assert item["status"] == "upper_bound" and item["distance_m"] < item["good_m"] and item["score"] == 1.0
    assert "upper_bound_supermarket" in near["flags"] and "bound_note" in item


def load_default():
    from geo.score import load_profile

    return load_profile("default")


def test_coverage_is_declared_when_loading(demo_engine, demo_settings, tmp_path):
    import sqlalchemy as sa

    from geo.errors import InputError
    from geo.io import parse_coverage, prepare
    from geo.settings import PROJECT_ROOT
    from tests.helpers import cli_env, opvangmatch

    libraries = PROJECT_ROOT / "data" / "drechtsteden" / "osm_bibliotheken.geojson"
    prepared = prepare("points", libraries, category="library", coverage="complete:GM0505;partial:PV28")
    assert prepared.coverage == {"library": {"GM0505": "complete", "PV28": "partial"}}
    assert prepare("points", libraries, category="library").coverage == {"library": {"NL": "partial"}}
    for bad in ("full", "complete:Dordrecht", "partial:GM05"):
        with pytest.raises(InputError):
            parse_coverage(bad)
    with pytest.raises(InputError, match="service layers"):
        prepare(
            "reception",
            PROJECT_ROOT / "data" / "reception" / "coa_locaties_overig_uit_paginas.csv",
            coverage="complete",
        )
    run = opvangmatch(
        ["load", "points", str(libraries), "--category", "library", "--coverage", "everything"],
        cli_env(demo_settings, tmp_path),
    )
    assert run.returncode != 0 and "--coverage must be one of" in run.stderr + run.stdout
    with demo_engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT source, coverage FROM dataset WHERE coverage IS NOT NULL")).all())
    assert stored["points:jumbo_stores"] == {"supermarket": {"NL": "partial"}}
    assert stored["chb-stations:stations"] == {"train_station": {"NL": "complete"}}
