"""The placement task on the shipped Spreidingswet figures: sums exact, official figures kept, periods apart."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.db import make_engine
from geo.errors import InputError, SchemaError
from geo.proposals import pipeline_places
from geo.task import (
    COLUMNS,
    NATIONAL_TOTALS,
    _fill,
    _regions,
    largest_remainder,
    placement_tasks,
    task_summary,
)
from tests.conftest import DATA
from tests.helpers import cli_env, opvangmatch

SPREIDINGSWET = DATA / "spreidingswet"


@pytest.fixture(scope="module")
def tasks(demo_engine):
    return placement_tasks(demo_engine, "2024")


def _official_rows(demo_engine, period):
    with demo_engine.connect() as conn:
        return pd.read_sql(
            sa.text("SELECT region_code, places, source_url FROM placement_task WHERE period = :p"),
            conn,
            params={"p": period},
        )


def test_one_row_per_region_with_the_promised_columns(tasks, demo_engine):
    assert list(tasks.columns) == COLUMNS
    with demo_engine.connect() as conn:
        n_mun = conn.execute(sa.text("SELECT count(*) FROM municipality")).scalar_one()
        n_prov = conn.execute(sa.text("SELECT count(*) FROM province")).scalar_one()
    assert (tasks.level == "municipality").sum() == n_mun
    assert (tasks.level == "province").sum() == n_prov
    assert tasks.region_code.is_unique
    assert set(tasks.required_basis) <= {"official", "computed"}
    assert (tasks.gap == tasks.required - tasks.realised - tasks.pipeline).all()


def test_official_figures_are_never_replaced(tasks, demo_engine):
    official = _official_rows(demo_engine, "2024").set_index("region_code")
    shown = tasks.set_index("region_code").loc[official.index]
    assert (shown.required_basis == "official").all()
    assert (shown.required == official.places).all()
    assert (shown.required_source == official.source_url).all()
    # and nothing else claims to be official
    assert set(tasks.region_code[tasks.required_basis == "official"]) == set(official.index)


def test_municipal_tasks_add_up_exactly_to_each_province(tasks):
    prov = tasks[tasks.level == "province"].set_index("region_code").required
    mun = tasks[tasks.level == "municipality"].groupby("province_code").required.sum()
    pd.testing.assert_series_equal(mun.sort_index(), prov.sort_index(), check_names=False)
    # Fryslân has official and computed municipalities: the computed ones take exactly what the official leave
    fry = tasks[(tasks.level == "municipality") & (tasks.province_code == "PV21")]
    assert set(fry.required_basis) == {"official", "computed"}
    computed = fry[fry.required_basis == "computed"]
    rest = prov["PV21"] - fry.required[fry.required_basis == "official"].sum()
    assert computed.required.sum() == rest
    assert computed.required_source.str.contains(f"{rest:,} places").all()


def test_computed_municipal_shares_follow_population(tasks):
    """Largest remainder: each computed figure is within one place of its exact population quota."""
    for code, group in tasks[tasks.level == "municipality"].groupby("province_code"):
        figure = tasks.loc[tasks.region_code == code, "required"].item()
        computed = group[group.required_basis == "computed"]
        rest = figure - group.required[group.required_basis == "official"].sum()
        quota = rest * computed.population / computed.population.sum()
        assert ((computed.required - quota).abs() < 1).all(), code


def test_the_96002_discrepancy_is_kept_and_reported(tasks):
    with (SPREIDINGSWET / "provinciale_opgave_2024.csv").open(encoding="utf-8") as f:
        published = sum(int(row["opgave_opvangplekken_2024"]) for row in csv.DictReader(f))
    assert tasks.attrs["national_total"] == NATIONAL_TOTALS["2024"].places
    assert "96,000" in NATIONAL_TOTALS["2024"].source
    prov = tasks[tasks.level == "province"]
    assert prov.required.sum() == published == tasks.attrs["official_province_sum"]
    assert published != tasks.attrs["national_total"]
    surplus = published - tasks.attrs["national_total"]
    assert any(f"{published:,}" in n and f"{surplus:,} more" in n for n in tasks.attrs["notes"])
    assert any("kept as published" in line for line in task_summary(tasks))


def test_periods_are_kept_apart(tasks, demo_engine):
    later = _official_rows(demo_engine, "2025-07")
    assert len(later) == 1
    code, places = later.region_code.item(), later.places.item()
    first = _official_rows(demo_engine, "2024").set_index("region_code").places[code]
    assert first != places
    assert tasks.set_index("region_code").required[code] == first

    other = placement_tasks(demo_engine, "2025-07", national_total=96_000)
    row = other.set_index("region_code").loc[code]
    assert row.required == places and row.required_basis == "official"
    # no province figure exists for 2025-07: all computed, adding up exactly to the national total given
    prov = other[other.level == "province"]
    assert (prov.required_basis == "computed").all()
    assert prov.required.sum() == 96_000
    quota = 96_000 * prov.population / prov.population.sum()
    assert ((prov.required - quota).abs() < 1).all()
    mun = other[other.level == "municipality"].groupby("province_code").required.sum()
    assert (mun.sort_index().to_numpy() == prov.sort_values("region_code").required.to_numpy()).all()


def test_mixed_official_and_computed_provinces_add_up_to_the_national_total(demo_engine):
    """With only some official province figures, the others share the rest, and the total is exact."""
    with demo_engine.connect() as conn:
        provinces, _ = _regions(conn)
    official = _official_rows(demo_engine, "2024")
    some = official[official.region_code.isin(["PV20", "PV26", "PV28"])].assign(level="province")
    filled = _fill(provinces, some, 96_000, "computed {rest} over {n}")
    assert filled.required.sum() == 96_000
    kept = filled.set_index("region_code").loc[some.region_code]
    assert (kept.required.to_numpy() == some.places.to_numpy()).all()
    assert (filled.required_basis == "computed").sum() == len(provinces) - 3


def test_period_without_a_national_total_is_a_clear_error(demo_engine):
    with pytest.raises(InputError, match="no published national total for period '2031'"):
        placement_tasks(demo_engine, "2031")
    with pytest.raises(InputError, match="non-negative"):
        placement_tasks(demo_engine, "2024", national_total=-1)


def test_realised_is_matched_by_name_and_unmatched_rows_are_reported(tasks, demo_engine):
    with demo_engine.connect() as conn:
        rows = pd.read_sql(sa.text("SELECT id, municipality_name, capacity FROM reception_location"), conn)
        names = set(pd.read_sql(sa.text("SELECT name FROM municipality"), conn).name)
    skipped = pd.DataFrame(tasks.attrs["skipped_reception"])
    counted = rows[~rows.id.isin(skipped.id)]
    assert tasks.realised[tasks.level == "municipality"].sum() == counted.capacity.sum()
    assert tasks.realised[tasks.level == "province"].sum() == counted.capacity.sum()
    unmatched = rows[~rows.municipality_name.isin(names)]
    assert len(unmatched) > 0  # e.g. 'Hengelo' (CBS: 'Hengelo (O.)', matched by alias, no capacity): all reported
    assert set(unmatched.id) <= set(skipped.id)
    for row in skipped.itertuples():
        assert row.reason


def test_pipeline_counts_only_proposals_in_preparation_or_signed(empty_settings):
    engine = make_engine(empty_settings)
    try:
        with pytest.raises(SchemaError, match="run 'opvangmatch db up'"):
            pipeline_places(engine)  # not migrated: a server fault that says what to do, not "no proposals"
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE proposal (status text, capacity int, municipality_code text)"))
            conn.execute(
                sa.text(
                    "INSERT INTO proposal VALUES ('in_preparation', 40, 'GM0505'), ('agreement_signed', 60, 'GM0505'),"
                    " ('submitted', 500, 'GM0505'), ('rejected', 80, 'GM0221'), ('agreement_signed', 30, 'GM0221')"
                )
            )
        assert pipeline_places(engine).to_dict() == {"GM0505": 100, "GM0221": 30}
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE proposal DROP COLUMN capacity"))
        with pytest.raises(SchemaError, match="lacks what the pipeline needs"):
            pipeline_places(engine)
    finally:
        engine.dispose()


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(0, 100_000),
    weights=st.lists(st.integers(0, 1_000_000), min_size=1, max_size=30).filter(lambda w: sum(w) > 0),
)
def test_largest_remainder_is_exact_and_fair(total, weights):
    keys = [f"K{i:03d}" for i in range(len(weights))]
    parts = largest_remainder(total, weights, keys)
    assert parts.sum() == total
    whole = sum(weights)
    for part, w in zip(parts, weights, strict=True):
        assert abs(part - total * w / whole) < 1
    assert (parts == largest_remainder(total, weights, keys)).all()


def test_largest_remainder_breaks_ties_by_key():
    assert largest_remainder(2, [1, 1, 1], ["b", "a", "c"]).tolist() == [1, 1, 0]


def _env(settings, tmp_path):
    return cli_env(settings, tmp_path)


def test_cli_task_geojson_csv_and_errors(demo_settings, tasks, tmp_path, unchanged):
    env = _env(demo_settings, tmp_path)
    out = opvangmatch(["task", "--province", "PV28", "--format", "geojson"], env)
    assert out.returncode == 0, out.stderr
    collection = json.loads(out.stdout)
    features = collection["features"]
    expected = tasks[tasks.province_code == "PV28"]
    assert len(features) == len(expected)
    assert all(f["geometry"] and f["geometry"]["type"] in {"Polygon", "MultiPolygon"} for f in features)
    x, y = features[0]["geometry"]["coordinates"][0][0][0]
    assert 3 < x < 8 and 50 < y < 54  # EPSG:4326 (lon, lat)
    assert sum(f["properties"]["required"] for f in features if f["properties"]["level"] == "municipality") == (
        expected.required[expected.level == "province"].item()
    )
    table = opvangmatch(["task", "--format", "csv"], env)
    assert table.returncode == 0, table.stderr
    assert len(table.stdout.strip().splitlines()) == len(tasks) + 1
    assert "96,002" in table.stderr
    shown = opvangmatch(["task", "--province", "PV30"], env)
    assert shown.returncode == 0, shown.stderr
    assert "realised/reported" in shown.stdout.splitlines()[0]
    assert "realised against published figures: Netherlands:" in shown.stderr and "LOW COVERAGE" in shown.stderr
    bad = opvangmatch(["task", "--province", "PV99"], env)
    assert bad.returncode == 2 and "unknown province 'PV99'" in bad.stderr and "Traceback" not in bad.stderr
    nope = opvangmatch(["task", "--format", "xml"], env)
    assert nope.returncode == 2 and "--format must be one of" in nope.stderr
