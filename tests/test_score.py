"""The scoring engine on the demo data: components, explanations, runs, and the SQL reference path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geo.db import prepare_database
from geo.errors import ConfigError, InputError, NotFoundError
from geo.score import (
    TARGET_GROUPS,
    ScoringData,
    available_profiles,
    best_target_group,
    explain,
    load_profile,
    profile_for_group,
    read_run,
    score_candidates,
    score_location,
    summary_lines,
)
from geo.score.candidates import estimate_capacity, read_candidates
from geo.score.data import FEW_POINTS
from geo.score.grade import STEPS, grade, rank
from geo.score.measure import SORT_FROM, measure
from geo.score.reference import reference_measure
from geo.task import placement_tasks
from tests.helpers import cli_env, opvangmatch


@pytest.fixture(scope="module")
def data(demo_engine) -> ScoringData:
    return ScoringData.load(demo_engine)


@pytest.fixture(scope="module")
def families():
    return profile_for_group("families")


def dordrecht_station(demo_engine) -> shapely.Point:
    with demo_engine.connect() as conn:
        x, y = conn.execute(
            sa.text(
                "SELECT ST_X(geom), ST_Y(geom) FROM service WHERE category = 'train_station' AND name = 'Dordrecht'"
            )
        ).one()
    return shapely.Point(x, y)


# --- profiles -------------------------------------------------------------------------------------------------


def test_every_target_group_has_a_valid_profile():
    assert set(TARGET_GROUPS) < set(available_profiles())
    versions = {profile_for_group(g).version for g in TARGET_GROUPS}
    assert len(versions) == len(TARGET_GROUPS)  # different content, different version


def test_profile_version_is_a_hash_of_its_content(families):
    assert load_profile("families").version == families.version
    changed = families.changed(weights={"proximity": 0.9})
    assert changed.version != families.version
    assert families.changed(weights={"proximity": families.weights["proximity"]}).version == families.version


DEFAULT_TOML = (Path(__file__).resolve().parents[1] / "geo/profiles/default.toml").read_text()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("task_contribution = 0.15", "", "missing weight weights.task_contribution"),
        ("proportional_fit = 0.30", "proportional_fit = -1", "weights.proportional_fit must be zero or more"),
        (
            "gp = { weight = 3, good = 1000, too_far = 3000 }",
            "gp = { weight = 3, good = 5000, too_far = 3000 }",
            r"gp: good \(5000 m\) must be below too_far",
        ),
        ("gp = { weight = 3,", "casino = { weight = 3,", "unknown service category 'casino'"),
        ("buurt = { good = 5.0, too_much = 15.0 }", "buurt = { good = 5.0 }", "buurt needs good and too_much"),
        ("max_places = 150", "max_places = 5", r"min_places \(10\) exceeds max_places \(5\)"),
        ("[weights]", "[weights", "not valid TOML"),
    ],
)
def test_a_bad_profile_file_is_refused_with_the_reason(tmp_path, old, new, message):
    assert old in DEFAULT_TOML
    path = tmp_path / "bad.toml"
    path.write_text(DEFAULT_TOML.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_profile(path)


def test_unknown_profile_and_group_are_named():
    # a name the caller chose is the caller's input (422 / exit 2), not a server fault like a broken profile file
    with pytest.raises(InputError, match="unknown profile 'pensioners'"):
        load_profile("pensioners")
    with pytest.raises(InputError, match="unknown target group 'tourists'"):
        profile_for_group("tourists")


# --- one location ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("geometry", "capacity", "message"),
    [
        (shapely.Point(155_000, 463_000), 0, "at least 1 place"),
        (shapely.Point(155_000, 463_000), -5, "at least 1 place"),
        (shapely.Point(155_000, 463_000), 10_001, "not plausible"),
        (shapely.Point(155_000, 463_000), 12.5, "whole number"),
        (shapely.Point(4.67, 51.81), 40, "outside the Netherlands"),  # WGS84 degrees given as RD metres
        (shapely.Point(), 40, "empty"),
        (
            shapely.Polygon([(155_000, 463_000), (155_100, 463_100), (155_100, 463_000), (155_000, 463_100)]),
            40,
            "invalid: Self-intersection",
        ),
        (shapely.LineString([(155_000, 463_000), (155_100, 463_100)]), 40, "Point, Polygon or MultiPolygon"),
    ],
)
def test_bad_location_input_is_refused(data, families, geometry, capacity, message):
    with pytest.raises(InputError, match=message):
        score_location(data, geometry, capacity, families)


def test_a_location_next_to_dordrecht_station_is_explained(demo_engine, data, families):
    station = dordrecht_station(demo_engine)
    location = shapely.Point(station.x + 300, station.y + 400)
    result = score_location(data, location, 40, families)
    assert result["profile"] == {"name": "families", "version": families.version, "target_group": "families"}
    assert result["data_vintage"] == data.vintage["id"]
    train = result["proximity"]["train_station"]
    assert train["status"] == "measured" and train["nearest"] == "Dordrecht"
    assert train["distance_m"] == pytest.approx(500.0, abs=0.05)
    levels = result["proportional_fit"]["levels"]
    assert levels["municipality"]["code"] == "GM0505"
    assert levels["buurt"]["code"].startswith("BU0505") and levels["wijk"]["code"].startswith("WK0505")
    for level in levels.values():  # share = (existing + capacity) / population, as reported
        assert level["share"] == pytest.approx((level["existing_places"] + 40) / level["population"], abs=1e-6)
    fits = [v["fit"] for v in levels.values() if v["fit"] is not None]
    assert result["components"]["proportional_fit"]["value"] == pytest.approx(min(fits), abs=1e-4)
    tasks = placement_tasks(demo_engine).set_index("region_code")
    gap = tasks.loc["GM0505", "gap"]
    assert result["task"]["municipality_gap"] == gap
    assert result["task"]["municipality_required"] == 611  # official Spreidingswet figure for Dordrecht
    # v2: the absolute places closed, relative to the gap or (a larger gap) to the preferred size's upper end
    reference = min(max(gap, 0), families.size.high)
    credit = min(min(40, max(gap, 0)) / reference, 1.0) if reference > 0 else 0.0
    assert result["components"]["task_contribution"]["value"] == pytest.approx(credit, abs=1e-4)
    w = families.weights
    total = sum(w[c] * result["components"][c]["value"] for c in w) / sum(w.values())
    assert result["total"] == pytest.approx(total, abs=1e-3)
    assert any(line.startswith("train_station 500 m") for line in summary_lines(result))


def test_a_category_without_points_uses_the_cbs_estimate_and_says_so(demo_engine, data, families):
    result = score_location(data, dordrecht_station(demo_engine), 40, families)
    gp = result["proximity"]["gp"]  # no GP points ship with the demo
    with demo_engine.connect() as conn:
        km = conn.execute(
            sa.text("SELECT distance_km FROM area_proximity WHERE area_code = 'GM0505' AND category = 'gp'")
        ).scalar_one()
    assert gp["status"] == "estimated" and gp["estimate_m"] == pytest.approx(km * 1000)
    assert "estimated_gp" in result["flags"]
    no_estimate = families.changed(proximity={"use_cbs_estimate": False})
    plain = score_location(data, dordrecht_station(demo_engine), 40, no_estimate)
    assert plain["proximity"]["gp"]["status"] == "missing" and "missing_gp" in plain["flags"]


def test_more_places_never_fit_better(demo_engine, data, families):
    station = dordrecht_station(demo_engine)
    fits = [
        score_location(data, station, c, families)["components"]["proportional_fit"]["value"]
        for c in (10, 50, 150, 600, 3000)
    ]
    assert fits == sorted(fits, reverse=True) and fits[0] > fits[-1]
    big = score_location(data, station, 600, families)
    assert big["excluded"] and "capacity_outside_band" in big["flags"]


def test_a_polygon_is_measured_from_a_point_inside_it(data, families):
    square = shapely.box(105_000, 424_000, 105_200, 424_200)  # in Dordrecht
    result = score_location(data, square, 30, families)
    point = shapely.Point(result["measured_from"]["x"], result["measured_from"]["y"])
    assert square.contains(point)
    assert any("polygon is measured from a representative point" in note for note in result["notes"])


# --- candidates and runs -----------------------------------------------------------------------------------------


def test_doesburg_candidates_are_scored_ranked_and_stored(demo_engine, data, families):
    result = score_candidates(demo_engine, families, data, municipality="GM0221", store=True)
    frame = result.frame
    assert len(frame) == 7395  # 7,797 current panden less 402 demolished or never built
    # Two Doesburg panden lie just across the generalised CBS boundary: they are scored with their neighbour.
    assert (frame["municipality_code"] == "GM0221").sum() == 7393
    eligible = frame[~frame["excluded"]]
    assert sorted(eligible["rank"]) == list(range(1, len(eligible) + 1))
    assert (frame.loc[frame["excluded"], "rank"] == 0).all()
    ordered = eligible.sort_values("rank")
    # v2: ranked by score band, then the secondary criteria; each band's totals lie within band_width of its best
    assert (np.diff(ordered["band"].to_numpy()) >= 0).all()
    per_band = ordered.groupby("band")["total"]
    assert ((per_band.max() - per_band.min()) <= families.ranking.band_width + 1e-12).all()
    assert (per_band.max().diff().dropna() < 0).all()  # a later band's best is below an earlier band's best
    assert (frame["capacity"] <= families.size.high).all()
    assert set(frame["capacity_method"]) == {"footprint_1_storey_assumed"}  # no verblijfsobjecten in the demo
    assert (frame["use_state"] == "unknown").all() and all("use_unknown" in f for f in frame["flags"])
    standing = ["Pand in gebruik", "Pand in gebruik (niet ingemeten)", "Verbouwing pand", "Pand buiten gebruik"]
    assert frame.loc[~frame["status"].isin([*standing, "Sloopvergunning verleend"]), "excluded"].all()
    assert all("no_buurt_data" in flags for flags in frame["flags"])  # no buurten ship for Doesburg
    stored = read_run(demo_engine, result.run_id)
    assert len(stored) == 7395
    merged = stored.merge(frame, left_on="candidate_id", right_on="id", suffixes=("_db", ""))
    assert (merged["rank_db"] == merged["rank"]).all()
    assert np.allclose(merged["total_db"], merged["total"])
    with demo_engine.connect() as conn:
        run = conn.execute(
            sa.text("SELECT profile, profile_version, data_vintage, candidates FROM score_run WHERE id = :r"),
            {"r": result.run_id},
        ).one()
    assert tuple(run) == ("families", families.version, data.vintage["id"], 7395)
    with demo_engine.connect() as conn:
        names = conn.execute(
            sa.text("SELECT measure_names FROM score_run WHERE id = :r"), {"r": result.run_id}
        ).scalar()
    first = frame.sort_values("id").iloc[0]
    measures = dict(zip(names, stored.sort_values("candidate_id").iloc[0]["measures"], strict=True))
    assert measures["wijk_code"] == first["wijk_code"] and measures["wijk_share"] == pytest.approx(first["wijk_share"])
    assert measures["bus_stop_distance"] == pytest.approx(first["bus_stop_distance"], abs=0.0005)  # stored to the mm
    assert measures["closes_places"] == first["closes_places"]


def test_capacity_comes_from_bag_floor_area_else_footprint_and_storeys(empty_settings, families):
    """A verblijfsobject over two panden gives each half its floor area; without one, footprint x storeys
    (one storey assumed when unknown). The method is recorded per candidate."""
    engine = prepare_database(empty_settings)
    square = "ST_Multi(ST_MakeEnvelope({x}, 440000, {x} + 20, 440020, 28992))"  # 400 m2
    with engine.begin() as conn:
        for bid, x, storeys in (("A", 200000, None), ("B", 200100, None), ("C", 200200, 3), ("D", 200300, None)):
            conn.execute(
                sa.text(
                    f"INSERT INTO building (id, status, storeys, geom, point, source, year) VALUES (:id, 'Pand in "
                    f"gebruik', :storeys, {square.format(x=x)}, ST_SetSRID(ST_MakePoint({x} + 10, 440010), 28992), "
                    "'test', 2026)"
                ),
                {"id": bid, "storeys": storeys},
            )
        conn.execute(
            sa.text(
                "INSERT INTO residence (id, building_ids, use, floor_area, source, year) "
                "VALUES ('V1', ARRAY['A', 'B'], 'woonfunctie', 900, 'test', 2026)"
            )
        )
    frame = estimate_capacity(read_candidates(engine), families).set_index("id")
    engine.dispose()
    assert frame["capacity_method"].to_dict() == {
        "A": "bag_floor_area",
        "B": "bag_floor_area",
        "C": "footprint_x_storeys",
        "D": "footprint_1_storey_assumed",
    }
    assert frame["floor_area"].round(6).to_dict() == {"A": 450.0, "B": 450.0, "C": 1200.0, "D": 400.0}
    assert frame["capacity_estimate"].to_dict() == {
        bid: int(area // families.m2_per_place) for bid, area in frame["floor_area"].items()
    }


def test_scoring_is_deterministic(demo_engine, data, families):
    a = score_candidates(demo_engine, families, data, municipality="GM0221").frame
    b = score_candidates(demo_engine, families, ScoringData.load(demo_engine), municipality="GM0221").frame
    pd.testing.assert_frame_equal(a, b)


def test_scores_do_not_depend_on_the_order_of_the_locations(demo_engine, data, families):
    """The engine sorts internally (a Z-order for measuring, totals for bands; neither sort need be stable): the
    Doesburg candidates, each twice (exact ties in place and total), given in another order get the same scores,
    bands and flags row by row."""
    candidates = estimate_capacity(read_candidates(demo_engine, municipality="GM0221"), families)
    candidates = pd.concat([candidates, candidates], ignore_index=True)
    assert len(candidates) >= SORT_FROM  # the spatially ordered path
    order = np.random.default_rng(3).permutation(len(candidates))

    def graded(rows: pd.DataFrame, timings: dict | None = None) -> pd.DataFrame:
        rows = rows.reset_index(drop=True)
        measures = measure(data, rows[["x", "y"]].to_numpy(float), list(families.categories))
        return grade(data, measures, rows["capacity"].to_numpy(), families, building=rows, timings=timings).frame

    timings: dict[str, float] = {}
    given = graded(candidates, timings)
    shuffled = graded(candidates.iloc[order]).iloc[np.argsort(order)].reset_index(drop=True)
    pd.testing.assert_frame_equal(given, shuffled)
    assert given["band"].nunique() > 2 and (given["band"] > 0).any()
    assert list(timings) == [step.__name__.lstrip("_") for step in STEPS]  # the benchmark's step timers


def test_ties_are_broken_by_id():
    frame = pd.DataFrame({"total": [0.5, 0.7, 0.5, 0.5], "excluded": [False, False, True, False]})
    ids = pd.Series(["b", "z", "a", "a2"])
    assert list(rank(frame, ids)) == [3, 1, 0, 2]


def test_the_best_target_group_per_candidate(demo_engine, data):
    results = {
        g: score_candidates(demo_engine, profile_for_group(g), data, municipality="GM0221") for g in TARGET_GROUPS
    }
    best = best_target_group(results).set_index("id")
    totals = pd.DataFrame(
        {g: r.frame.set_index("id")["total"].where(~r.frame.set_index("id")["excluded"]) for g, r in results.items()}
    )
    eligible = totals.dropna(how="all")
    assert set(best.index) == set(eligible.index)
    assert np.allclose(best["best_total"], eligible.max(axis=1).reindex(best.index))
    assert (best["margin"].dropna() >= 0).all()


def test_explanation_of_a_candidate_matches_its_row(demo_engine, data, families):
    result = score_candidates(demo_engine, families, data, municipality="GM0221")
    i = int(np.flatnonzero(result.frame["rank"] == 1)[0])
    explanation = explain(result.graded, i, data)
    assert explanation["total"] == pytest.approx(result.frame["total"].iloc[i], abs=1e-4)
    direct = score_location(
        data,
        shapely.Point(result.frame["x"].iloc[i], result.frame["y"].iloc[i]),
        int(result.frame["capacity"].iloc[i]),
        families,
    )
    assert direct["total"] == explanation["total"]


def test_unknown_scope_is_named(demo_engine, data, families):
    with pytest.raises(NotFoundError, match="GM9999"):
        score_candidates(demo_engine, families, data, municipality="GM9999")
    with pytest.raises(InputError, match="not both"):
        read_candidates(demo_engine, municipality="GM0221", province="PV25")


# --- the reference path ------------------------------------------------------------------------------------------


def test_fast_and_reference_paths_agree(demo_engine, data, families):
    """Doesburg candidates (a sample) and every Drechtsteden buurt centre: same distances, areas and ranks."""
    doesburg = read_candidates(demo_engine, municipality="GM0221").iloc[::8]
    with demo_engine.connect() as conn:
        buurten = conn.execute(
            sa.text(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                "FROM neighbourhood ORDER BY code"
            )
        ).all()
    xy = np.vstack([doesburg[["x", "y"]].to_numpy(float), np.array([[x, y] for _, x, y in buurten])])
    ids = pd.Series(list(doesburg["id"]) + [code for code, _, _ in buurten])
    categories = list(families.categories)
    fast = measure(data, xy, categories)
    ref = reference_measure(demo_engine, data, xy, categories)
    for category in categories:
        both = np.isfinite(fast.distance[category])
        assert (both == np.isfinite(ref.distance[category])).all()
        assert np.abs(fast.distance[category][both] - ref.distance[category][both]).max(initial=0) < 0.001
        for radius in (500, 1000):
            assert (fast.within[(category, radius)] == ref.within[(category, radius)]).all()
    for level in fast.area_index:
        assert (fast.area_index[level] == ref.area_index[level]).all(), level
    capacity = np.full(len(xy), 40)
    fast_rank = rank(grade(data, fast, capacity, families).frame, ids)
    ref_rank = rank(grade(data, ref, capacity, families).frame, ids)
    assert (fast_rank == ref_rank).all()
    assert (fast_rank > 0).sum() > 100


def test_bulk_measuring_agrees_with_point_by_point(demo_engine, data, families):
    """Many locations are measured in spatial order and located block by block: the results must be those of
    the point-by-point path (chunks below FEW_POINTS), also for points exactly on shared boundaries and
    points in no area."""
    rng = np.random.default_rng(7)
    doesburg = read_candidates(demo_engine, municipality="GM0221")[["x", "y"]].to_numpy(float)
    vertices = shapely.get_coordinates(data.areas["buurt"].geoms)
    vertices = vertices[rng.choice(len(vertices), min(len(vertices), 6_000), replace=False)]
    xmin, ymin = vertices.min(axis=0)
    xmax, ymax = vertices.max(axis=0)
    scattered = np.column_stack([rng.uniform(xmin - 5_000, xmax + 5_000, 6_000), rng.uniform(ymin, ymax, 6_000)])
    xy = np.vstack([doesburg, vertices, scattered])
    rng.shuffle(xy)
    assert len(xy) >= SORT_FROM
    categories = list(families.categories)
    bulk = measure(data, xy, categories)
    chunks = [measure(data, xy[i : i + FEW_POINTS - 1], categories) for i in range(0, len(xy), FEW_POINTS - 1)]
    for level in bulk.area_index:
        one_by_one = np.concatenate([c.area_index[level] for c in chunks])
        assert (bulk.area_index[level] == one_by_one).all(), level
    assert (bulk.area_index["buurt"] >= 0).any() and (bulk.area_index["buurt"] < 0).any()  # buurten: a region
    for category in categories:
        assert (bulk.distance[category] == np.concatenate([c.distance[category] for c in chunks])).all()
        assert (bulk.nearest[category] == np.concatenate([c.nearest[category] for c in chunks])).all()
        for radius in (500, 1000):
            key = (category, radius)
            assert (bulk.within[key] == np.concatenate([c.within[key] for c in chunks])).all()


# --- the command line ----------------------------------------------------------------------------------------------


def _env(settings, tmp_path):
    return cli_env(settings, tmp_path)


@pytest.mark.slow
def test_cli_scores_every_target_group(demo_settings, tmp_path):
    result = opvangmatch(
        ["score", "--profile", "all", "--municipality", "GM0221", "--top", "3"], _env(demo_settings, tmp_path)
    )
    assert result.returncode == 0, result.stderr
    for group in TARGET_GROUPS:
        assert f"profile {group} " in result.stdout
    assert "which target group fits where" in result.stdout
    assert "representative point inside the footprint" in result.stdout


@pytest.mark.slow
def test_cli_refuses_an_unknown_profile(demo_settings, tmp_path):
    result = opvangmatch(["score", "--profile", "pensioners"], _env(demo_settings, tmp_path))
    assert result.returncode == 2 and "unknown profile 'pensioners'" in result.stderr
    assert "Traceback" not in result.stderr
