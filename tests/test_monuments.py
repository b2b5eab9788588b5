"""The monument flag (issue 14): RCE rijksmonumenten loaded by ``load monuments``, intersected with the panden, and
the status "unknown" where no monument layer covers the area completely. The fixture is CONSTRUCTED
(``tests/fixtures/constructed_rijksmonumenten_doesburg.geojson``: invented monument numbers 900001-900003 in the
attribute layout of RCE's Rijksmonumentpunten export, placed on two real Doesburg panden and in Amsterdam)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from geo.errors import DataError, InputError
from geo.io import load, prepare, unload
from geo.score import load_profile, score_candidates

MONUMENTS = Path(__file__).resolve().parent / "fixtures/constructed_rijksmonumenten_doesburg.geojson"
SOURCE = "monuments:constructed_test"
ON_POINT, IN_CONTOUR = "0221100000315004", "0221100000316461"


def test_rce_points_and_contours_load_with_number_complex_and_coverage():
    prepared = prepare("monuments", MONUMENTS)
    frame = prepared.frame.set_index("id")
    assert list(frame.index) == ["900001", "900002", "900003"]
    assert frame.loc["900002", "complex_number"] == "900100" and frame["complex_number"].isna().sum() == 1
    assert frame.loc["900001", "geom"].geom_type == "Point" and frame.loc["900002", "geom"].geom_type == "MultiPolygon"
    assert "2 points, 1 contours" in prepared.notes
    assert prepared.coverage == {"monument": {"NL": "partial"}}
    assert any("monument status" not in n and "status unknown" in n for n in prepared.notes)
    declared = prepare("monuments", MONUMENTS, coverage="complete:GM0221")
    assert declared.coverage == {"monument": {"GM0221": "complete"}}


def _write(tmp_path: Path, features: list[dict], name: str = "constructed_bad_monuments.geojson") -> Path:
    path = tmp_path / name
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": features}))
    return path


def _feature(number, geometry=None) -> dict:
    return {
        "type": "Feature",
        "properties": {"rijksmonum": number},
        "geometry": geometry or {"type": "Point", "coordinates": [206_000.0, 448_000.0]},
    }


def test_bad_monument_files_are_named_by_row_and_field(tmp_path):
    with pytest.raises(DataError, match="not a rijksmonument number: 'abc'") as error:
        prepare("monuments", _write(tmp_path, [_feature(1.0), _feature("abc")]))
    assert "monument 2" in str(error.value) and "rijksmonum" in str(error.value)
    with pytest.raises(DataError, match="rijksmonum"):
        prepare("monuments", _write(tmp_path, [_feature(7.0), _feature(7.0)]))
    line = {"type": "LineString", "coordinates": [[206_000.0, 448_000.0], [206_010.0, 448_000.0]]}
    with pytest.raises(DataError, match="expected a Polygon or MultiPolygon, got LineString"):
        prepare("monuments", _write(tmp_path, [_feature(8.0, line)]))
    no_number = [{"type": "Feature", "properties": {"naam": "x"}, "geometry": _feature(1)["geometry"]}]
    with pytest.raises(DataError, match="rijksmonumentnummer"):
        prepare("monuments", _write(tmp_path, no_number))
    with pytest.raises(InputError, match="--coverage"):
        prepare("monuments", MONUMENTS, coverage="everything")


def _flags(engine) -> dict[str, tuple]:
    result = score_candidates(engine, load_profile("families"), municipality="GM0221")
    return dict(zip(result.frame["id"], result.frame["flags"], strict=True))


def _outside_gm0221(engine, ids: list[str]) -> set[str]:
    sql = (
        "SELECT b.id FROM building b WHERE b.id = ANY(:ids) AND NOT EXISTS "
        "(SELECT 1 FROM municipality m WHERE m.code = 'GM0221' AND ST_Intersects(m.geom, b.point))"
    )
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(sa.text(sql), {"ids": ids})}


@pytest.mark.slow
def test_monument_flag_and_unknown_status_follow_the_declared_coverage(demo_engine, unchanged):
    before = _flags(demo_engine)
    assert all("monument_status_unknown" in f and "monument" not in f for f in before.values())  # no layer loaded
    try:
        load(demo_engine, "monuments", MONUMENTS, source=SOURCE)  # undeclared: partial
        partial = _flags(demo_engine)
        assert {i for i, f in partial.items() if "monument" in f} == {ON_POINT, IN_CONTOUR}
        assert "monument_status_unknown" not in partial[ON_POINT]
        others = [f for i, f in partial.items() if i not in (ON_POINT, IN_CONTOUR)]
        assert others and all("monument_status_unknown" in f for f in others)  # not "no monument"
        load(demo_engine, "monuments", MONUMENTS, source=SOURCE, coverage="complete:GM0221")
        complete = _flags(demo_engine)
        assert {i for i, f in complete.items() if "monument" in f} == {ON_POINT, IN_CONTOUR}
        unknown = {i for i, f in complete.items() if "monument_status_unknown" in f}
        # only the panden just across the boundary (kept within the scope's tolerance) lie outside the declared area
        assert unknown == _outside_gm0221(demo_engine, list(complete)) and len(unknown) < len(complete) / 100
        load(demo_engine, "monuments", MONUMENTS, source=SOURCE, coverage="complete:GM0505")  # another area
        assert all(
            "monument_status_unknown" in f for i, f in _flags(demo_engine).items() if i != ON_POINT and i != IN_CONTOUR
        )
    finally:
        unload(demo_engine, SOURCE)


@pytest.mark.slow
def test_cli_and_api_say_the_monument_status_is_unknown_and_show_the_flag(
    client, keys, demo_settings, demo_engine, tmp_path
):
    from tests.api_helpers import h
    from tests.helpers import cli_env, opvangmatch

    body = client.get("/candidates", params={"limit": 3, "municipality": "GM0221"}, headers=h(keys, "viewer")).json()
    assert any("monument status unknown" in note and "load monuments" in note for note in body["notes"])
    assert all("monument_status_unknown" in f["properties"]["flags"] for f in body["features"])
    env = cli_env(demo_settings, tmp_path)
    args = ["score", "--profile", "families", "--municipality", "GM0221", "--top", "0"]
    try:
        loaded = opvangmatch(["load", "monuments", str(MONUMENTS), "--source", SOURCE], env)
        assert loaded.returncode == 0, loaded.stderr
        assert "3 rows into monument" in loaded.stdout
        scored = opvangmatch(args, env)
    finally:
        unload(demo_engine, SOURCE)
    assert scored.returncode == 0, scored.stderr
    assert "monument 2" in scored.stdout and "candidates: monument status unknown" in scored.stdout
    bad = opvangmatch(["load", "monuments", str(MONUMENTS), "--coverage", "complete:XX"], env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--coverage" in bad.stderr
