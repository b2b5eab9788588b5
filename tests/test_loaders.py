"""Loaders on the shipped real data, and on broken files: clear errors and an untouched database."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import sqlalchemy as sa

from geo.errors import DataError, InputError
from geo.io import load, prepare, unload
from tests.conftest import DATA, fingerprint
from tests.helpers import cli_env, opvangmatch

BAG_ZIP = DATA / "bag/0221PND15092020.zip"


def count(engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar_one()


def test_demo_counts(demo_engine):
    assert count(demo_engine, "SELECT count(*) FROM province") == 12
    assert count(demo_engine, "SELECT count(*) FROM municipality") == 342
    assert count(demo_engine, "SELECT count(*) FROM municipality WHERE population IS NOT NULL") == 342
    assert count(demo_engine, "SELECT count(*) FROM municipality_province") == 342
    assert count(demo_engine, "SELECT count(*) FROM district") == 3475
    assert count(demo_engine, "SELECT count(*) FROM district WHERE population IS NOT NULL") == 3393
    assert count(demo_engine, "SELECT count(*) FROM neighbourhood") == 358
    assert count(demo_engine, "SELECT count(*) FROM building") == 7395
    assert count(demo_engine, "SELECT count(*) FROM service WHERE category = 'train_station'") == 404
    assert count(demo_engine, "SELECT count(*) FROM placement_task WHERE level = 'province'") == 12
    assert count(demo_engine, "SELECT sum(places) FROM placement_task WHERE level = 'province'") == 96002


def test_demo_geometries_are_valid_rd_and_inside_their_regions(demo_engine):
    assert count(demo_engine, "SELECT count(*) FROM municipality WHERE NOT ST_IsValid(geom)") == 0
    assert count(demo_engine, "SELECT count(*) FROM district WHERE NOT ST_IsValid(geom)") == 0
    # Doesburg's panden lie in Doesburg (GM0221); the representative point lies inside the footprint.
    assert (
        count(
            demo_engine,
            """
        SELECT count(*) FROM building b JOIN municipality m ON m.code = 'GM0221'
        WHERE ST_Contains(ST_Buffer(m.geom, 200), b.point)""",
        )
        == 7395
    )
    assert count(demo_engine, "SELECT count(*) FROM building WHERE NOT ST_Intersects(geom, point)") == 0
    # Dordrecht's railway station is in Dordrecht.
    assert (
        count(
            demo_engine,
            """
        SELECT count(*) FROM service s JOIN municipality m ON m.code = 'GM0505'
        WHERE s.category = 'train_station' AND s.name = 'Dordrecht' AND ST_Contains(m.geom, s.geom)""",
        )
        == 1
    )


def test_population_no_data_codes_become_null(demo_engine):
    # The buurten file writes -99999999 (as text) for 'no data'.
    assert count(demo_engine, "SELECT count(*) FROM neighbourhood WHERE population IS NULL") >= 1
    assert count(demo_engine, "SELECT count(*) FROM neighbourhood WHERE population < 0") == 0


def test_loading_the_same_file_twice_leaves_the_same_rows(demo_engine):
    before = fingerprint(demo_engine)
    report = load(demo_engine, "districts", DATA / "cbs/wijken_2024_kwb.geojson")
    assert report.replaced == report.rows == 3475
    assert fingerprint(demo_engine) == before


def test_lvbag_zip_and_geopackage_give_the_same_buildings(tmp_path):
    from_zip = prepare("buildings", BAG_ZIP)
    frame = gpd.read_file(f"/vsizip/{BAG_ZIP}/0221PND15092020-000002.xml")
    gpkg = tmp_path / "panden.gpkg"
    frame.to_file(gpkg, layer="pand", driver="GPKG")
    from_gpkg = prepare("buildings", gpkg)
    assert set(from_gpkg.frame["id"]) <= set(from_zip.frame["id"])
    assert len(from_zip.frame) == 7395
    assert from_zip.frame["id"].str.fullmatch(r"\d{16}").all()


def test_verblijfsobjecten_sample_gives_use_and_floor_area():
    prepared = prepare("residences", DATA / "bag/0221VBO15092020-000001_sample.xml")
    frame = prepared.frame.set_index("id")
    assert len(frame) == 2 and prepared.skipped == 3
    assert frame["floor_area"].notna().all()
    assert all(len(ids) == 1 and len(ids[0]) == 16 for ids in frame["building_ids"])


def test_a_self_intersecting_polygon_is_repaired_and_counted(tmp_path):
    source = json.loads((DATA / "cbs/provincie_2023.geojson").read_text())
    bowtie = [[5.0, 52.0], [5.1, 52.1], [5.1, 52.0], [5.0, 52.1], [5.0, 52.0]]
    source["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [bowtie]}
    path = tmp_path / "provinces.geojson"
    path.write_text(json.dumps(source))
    prepared = prepare("provinces", path)
    assert prepared.repairs >= 1
    assert set(shapely.get_type_id(prepared.frame["geom"].to_numpy())) == {6}  # all MultiPolygon
    assert shapely.is_valid(prepared.frame["geom"].to_numpy()).all()


# --- broken files -----------------------------------------------------------------------------------


def _geojson(tmp_path: Path, name: str, source: Path, edit) -> Path:
    data = json.loads(source.read_text())
    edit(data["features"])
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _wijken(tmp_path, edit):
    return _geojson(tmp_path, "wijken_2024_kwb.geojson", DATA / "cbs/wijken_2024_kwb.geojson", edit)


def _set(features, index, key, value):
    features[index]["properties"][key] = value


def _shift_to_paris(features):
    features[5]["geometry"] = {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]}


def _text(tmp_path, name, source: Path, edit, encoding="utf-8") -> Path:
    lines = source.read_text(encoding=encoding).splitlines()
    edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def _replace_line(index, old, new):
    def edit(lines):
        lines[index] = lines[index].replace(old, new, 1)

    return edit


BROKEN = {
    "unreadable": (
        "districts",
        lambda t: _write(t / "wijken.geojson", b"\x00\x01 not json"),
        {},
        ["wijken.geojson", "cannot read"],
    ),
    "empty file": (
        "municipality-provinces",
        lambda t: _write(t / "x.csv", ""),
        {},
        ["x.csv", "empty"],
    ),
    "missing column": (
        "districts",
        lambda t: _wijken(t, lambda f: [p["properties"].pop("wijkcode") for p in f]),
        {},
        ["wijken_2024_kwb.geojson", "missing column 'wijkcode'", "field 'wijkcode'"],
    ),
    "duplicate id": (
        "districts",
        lambda t: _wijken(t, lambda f: _set(f, 10, "wijkcode", f[3]["properties"]["wijkcode"])),
        {},
        ["duplicate id", "feature 11", "field 'wijkcode'", "first at feature 4"],
    ),
    "negative population": (
        "districts",
        lambda t: _wijken(t, lambda f: _set(f, 7, "aantal_inwoners", -5)),
        {},
        ["negative count", "feature 8", "field 'aantal_inwoners'"],
    ),
    "empty geometry": (
        "districts",
        lambda t: _wijken(t, lambda f: f[2].update(geometry=None)),
        {},
        ["empty or missing geometry", "feature 3", "field 'geometry'"],
    ),
    "line instead of polygon": (
        "districts",
        lambda t: _wijken(
            t, lambda f: f[4].update(geometry={"type": "LineString", "coordinates": [[5.0, 52.0], [5.1, 52.1]]})
        ),
        {},
        ["expected a Polygon", "feature 5"],
    ),
    "outside the Netherlands": (
        "districts",
        lambda t: _wijken(t, _shift_to_paris),
        {},
        ["outside the Netherlands", "feature 6", "field 'geometry'"],
    ),
    "bad region code": (
        "municipalities",
        lambda t: _geojson(
            t,
            "gemeenten_2024_kwb.geojson",
            DATA / "cbs/gemeenten_2024_kwb.geojson",
            lambda f: _set(f, 0, "gemeentecode", "0221"),
        ),
        {},
        ["does not start with GM", "feature 1"],
    ),
    "mapping without column": (
        "municipality-provinces",
        lambda t: _text(
            t,
            "gemeentelijke-indeling.csv",
            DATA / "cbs/gemeentelijke-indeling.csv",
            _replace_line(0, "gemeentecode", "gm"),
        ),
        {},
        ["missing column 'gemeentecode'"],
    ),
    "negative distance": (
        "proximity",
        lambda t: _text(
            t, "nabijheid_gemeenten_2022.csv", DATA / "cbs/nabijheid_gemeenten_2022.csv", _negative_distance
        ),
        {},
        ["negative distance", "data row 3"],
    ),
    "gtfs bad latitude": (
        "gtfs-stops",
        lambda t: _text(t, "stops.txt", DATA / "services/gtfs_stops_2015_drechtsteden_doesburg.txt", _bad_latitude),
        {},
        ["not a coordinate", "line 4", "field 'stop_lat'"],
    ),
    "chb invalid json": (
        "chb-stations",
        lambda t: (
            _write(t / "stations.json", (DATA / "services/stations.json").read_text()[:5000]) or t / "stations.json"
        ),
        {},
        ["not valid JSON"],
    ),
    "chb missing field": (
        "chb-stations",
        lambda t: _json_edit(
            t, "stations.json", DATA / "services/stations.json", lambda recs: recs[2].pop("centroid_wgs84")
        ),
        {},
        ["station 3", "field 'centroid_wgs84'"],
    ),
    "schools outside NL": (
        "schools",
        lambda t: shutil.copy(DATA / "services/duo_vestigingen_2020_osmgeocoded.gpkg", t / "duo.gpkg"),
        {},
        ["outside the Netherlands", "18OZ00"],
    ),
    "unknown category": (
        "points",
        lambda t: shutil.copy(DATA / "services/ziekenhuizen_2016.geojson", t / "z.geojson"),
        {"category": "casino"},
        ["unknown service category 'casino'"],
    ),
    "bag truncated zip": (
        "buildings",
        lambda t: _write(t / "0221PND.zip", BAG_ZIP.read_bytes()[:200_000]),
        {},
        ["0221PND.zip", "not a valid zip"],
    ),
    "reception without municipality": (
        "reception",
        lambda t: _text(
            t,
            "opvang.csv",
            DATA / "reception/asielopvang_drechtsteden_achterhoek.csv",
            _replace_line(4, "Hendrik-Ido-Ambacht", ""),
        ),
        {},
        ["empty municipality", "line 5", "field 'gemeente'"],
    ),
    "task places not a number": (
        "task",
        lambda t: _text(
            t, "opgave.csv", DATA / "spreidingswet/provinciale_opgave_2024.csv", _replace_line(2, "3391", "veel")
        ),
        {},
        ["whole non-negative number", "line 3"],
    ),
    "task unknown region": (
        "task",
        lambda t: _text(
            t, "opgave.csv", DATA / "spreidingswet/provinciale_opgave_2024.csv", _replace_line(1, "PV20", "XX20")
        ),
        {},
        ["is not PVxx", "line 2"],
    ),
}


def _negative_distance(lines):
    header = lines[0].split(",")
    col = next(i for i, name in enumerate(header) if name.startswith("afstand_"))
    cells = lines[3].split(",")
    cells[col] = "-1.5"
    lines[3] = ",".join(cells)


def _bad_latitude(lines):
    rows = list(csv.reader(lines))
    rows[3][rows[0].index("stop_lat")] = "north"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    lines[:] = buffer.getvalue().splitlines()


def _json_edit(tmp_path, name, source, edit):
    data = json.loads(source.read_text())
    edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _resolve(maker, tmp_path):
    result = maker(tmp_path)
    return Path(result)


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_stops_with_a_clear_message_and_changes_nothing(case, tmp_path, demo_engine, unchanged):
    kind, maker, options, expected = BROKEN[case]
    path = _resolve(maker, tmp_path)
    demo_source = {
        "districts": "districts:wijken_2024_kwb",
        "municipalities": "municipalities:gemeenten_2024_kwb",
        "buildings": "buildings:0221PND15092020",
    }.get(kind)
    with pytest.raises(DataError) as info:
        load(demo_engine, kind, path, source=demo_source, **options)
    message = str(info.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_a_file_without_crs_is_refused_unless_one_is_given(tmp_path, demo_engine, unchanged):
    frame = gpd.read_file(DATA / "cbs/provincie_2023.geojson").drop(columns=["FID"]).to_crs("EPSG:28992")
    path = tmp_path / "provinces_no_crs.gpkg"
    frame.set_crs(None, allow_override=True).to_file(path, driver="GPKG")
    with pytest.raises(DataError, match="no coordinate reference system"):
        load(demo_engine, "provinces", path, source="provinces:provincie_2023")
    assert len(prepare("provinces", path, crs="EPSG:28992").frame) == 12


def test_an_option_that_does_not_apply_is_refused(demo_engine, unchanged):
    with pytest.raises(InputError, match="--category does not apply to provinces"):
        load(demo_engine, "provinces", DATA / "cbs/provincie_2023.geojson", category="gp")


def test_a_database_error_mid_load_rolls_back_the_replacement(tmp_path, demo_engine):
    """The old rows are deleted before COPY; a conflict during COPY must bring them back."""
    frame = gpd.read_file(f"/vsizip/{BAG_ZIP}/0221PND15092020-000002.xml")
    frame = frame[frame.eindGeldigheid.isna() & frame.eindRegistratie.isna() & frame.tijdstipInactief.isna()]
    extra = frame.head(1).copy()
    extra["identificatie"] = "NL.IMBAG.Pand.9999100000000001"
    other = tmp_path / "other.gpkg"
    extra.to_file(other, driver="GPKG")
    load(demo_engine, "buildings", other, source="buildings:other")
    try:
        before = fingerprint(demo_engine)
        clash = tmp_path / "clash.gpkg"
        gpd.GeoDataFrame(gpd.pd.concat([frame.head(50), extra]), crs=frame.crs).to_file(clash, driver="GPKG")
        with pytest.raises(DataError, match="already in building from another source"):
            load(demo_engine, "buildings", clash, source="buildings:0221PND15092020")
        assert fingerprint(demo_engine) == before
    finally:
        unload(demo_engine, "buildings:other")
    assert count(demo_engine, "SELECT count(*) FROM building") == 7395


@pytest.mark.slow
def test_cli_reports_a_broken_file_without_traceback(tmp_path, demo_settings, demo_engine, unchanged):
    bad = _wijken(tmp_path, lambda f: _set(f, 7, "aantal_inwoners", -5))
    env = cli_env(demo_settings, tmp_path)
    result = opvangmatch(["load", "districts", str(bad), "--source", "districts:wijken_2024_kwb"], env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "wijken_2024_kwb.geojson, feature 8" in result.stderr and "aantal_inwoners" in result.stderr
    ok = opvangmatch(["load", "reception", str(DATA / "reception/coa_locaties_overig_uit_paginas.csv")], env)
    assert ok.returncode == 0, ok.stderr
    assert "14 rows into reception_location (replaced 14)" in ok.stdout


def test_zip_reader_reads_every_part():
    names = [n for n in zipfile.ZipFile(BAG_ZIP).namelist() if n.endswith(".xml")]
    assert len(names) == 2
    assert prepare("buildings", BAG_ZIP).skipped == 13098 - 7395  # minus the 402 demolished or never built


def test_binary_copy_writes_what_csv_copy_writes(empty_settings):
    """The binary COPY (tables whose columns all have a binary form) and the CSV COPY store the same values:
    NULLs (None, NaN, empty text), unicode, extreme numbers, geometries with their SRID."""
    import numpy as np
    import pandas as pd
    from geoalchemy2 import Geometry

    from geo.db.copy import binary_forms, copy_binary, copy_frame
    from geo.db.engine import ensure_postgis, make_engine
    from geo.io.write import _ewkb

    metadata = sa.MetaData()
    tables = [
        sa.Table(
            name,
            metadata,
            sa.Column("big", sa.BigInteger),
            sa.Column("small", sa.Integer),
            sa.Column("ratio", sa.Float),
            sa.Column("label", sa.String(20)),
            sa.Column("flag", sa.Boolean),
            sa.Column("geom", Geometry("LINESTRING", srid=28992)),
        )
        for name in ("constructed_csv", "constructed_binary")
    ]
    frame = pd.DataFrame(
        {
            "big": [2**62, -1, 0],
            "small": pd.array([7, None, -(2**31)], dtype="Int64"),
            "ratio": [1.5, np.nan, -1e300],
            "label": ["Ĳsselmonde 't Hof", "", None],
            "flag": [True, False, None],
            "geom": [shapely.LineString([(0, 0), (1.25, 2)]), None, shapely.LineString([(5, 5), (6, 6), (7, 5)])],
        }
    )
    assert binary_forms(tables[1], frame.columns) == {
        "big": "int8",
        "small": "int4",
        "ratio": "float8",
        "label": "text",
        "flag": "bool",
        "geom": "ewkb",
    }
    engine = make_engine(empty_settings)
    ensure_postgis(engine)
    with engine.begin() as conn:
        metadata.create_all(conn)
        # all rows (a NULL geometry: through shapely), then the rows with lines (straight from their coordinates)
        for part in (frame, frame.iloc[[0, 2]].assign(big=[1, 2])):
            as_text = part.assign(geom=_ewkb(part["geom"].to_numpy()), flag=part["flag"].astype(object))
            copy_frame(conn, "constructed_csv", as_text)
            copy_binary(conn, tables[1], part, 28992, chunk_rows=2)
        rows = [
            conn.execute(
                sa.text(f"SELECT big, small, ratio, label, flag, ST_AsEWKT(geom) FROM {t.name} ORDER BY big")
            ).all()
            for t in tables
        ]
        with pytest.raises(ValueError, match="not a whole number"):
            copy_binary(conn, tables[1], frame.assign(small=[1.0, 2.5, 3.0]), 28992)
    engine.dispose()
    assert rows[0] == rows[1] and len(rows[1]) == 5
    assert rows[1][0] == (-1, None, None, None, False, None)
    assert rows[1][1] == (0, -(2**31), -1e300, None, None, "SRID=28992;LINESTRING(5 5,6 6,7 5)")
    assert rows[1][2] == (1, 7, 1.5, "Ĳsselmonde 't Hof", True, "SRID=28992;LINESTRING(0 0,1.25 2)")
