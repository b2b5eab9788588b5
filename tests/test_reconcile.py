"""Municipality names through CBS codes and aliases; realised beside the published national and provincial figures."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo.errors import DataError
from geo.io.tables import load_reported
from geo.names import aliases, match_municipalities, normalise, region_code_of
from geo.reconcile import LOW_COVERAGE, coverage_note, coverage_status, reconcile, reported_figures
from geo.task import placement_tasks, task_summary
from tests.conftest import DATA


def shipped_names() -> dict[str, str]:
    features = json.loads((DATA / "cbs" / "gemeenten_2024_kwb.geojson").read_text(encoding="utf-8"))["features"]
    return {f["properties"]["gemeentecode"]: f["properties"]["gemeentenaam"] for f in features}


def test_the_shipped_alias_table_is_derived_from_the_shipped_cbs_names():
    shipped = pd.read_csv(DATA / "cbs" / "gemeentenaam_aliassen.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(shipped, aliases(shipped_names()))
    by_alias = shipped.set_index("alias")
    assert by_alias.gemeentecode["Rijswijk"] == "GM0603" and by_alias.gemeentenaam_cbs["Rijswijk"] == "Rijswijk (ZH.)"
    assert by_alias.gemeentecode["Hengelo"] == "GM0164"
    assert {"Beek", "Stein", "Middelburg", "Laren"} <= set(by_alias.index[by_alias.gemeentecode != ""])
    assert (
        by_alias.gemeentecode["Bergen"] == ""
        and "GM0373" in by_alias.rule["Bergen"]
        and "GM0893" in by_alias.rule["Bergen"]
    )


def test_names_match_by_code_then_cbs_name_then_unique_alias_never_by_guess():
    names = shipped_names()
    rows = pd.DataFrame(
        {
            "municipality_name": [
                "Rijswijk",
                "Hengelo",
                "Bergen",
                "'s-Gravenhage",
                "  súdwest-FRYSLAN ",
                "Hengelo (O.)",
                "Atlantis",
                "Rijswijk",
                "Doesburg",
            ],
            "municipality_code": [None, None, None, None, None, None, None, "GM0221", "GM9999"],
        }
    )
    m = match_municipalities(rows, names)
    assert m.code.tolist()[:6] == ["GM0603", "GM0164", None, "GM0518", "GM1900", "GM0164"]
    assert m.matched_by.tolist() == ["alias", "alias", None, "name", "name", "name", None, "code", None]
    assert "ambiguous" in m.match_note[2] and "Bergen (NH.) GM0373" in m.match_note[2]
    assert m.match_note[0] == "'Rijswijk' read as CBS name 'Rijswijk (ZH.)'"
    assert m.code[6] is None and "not matched" in m.match_note[6]
    assert m.code[7] == "GM0221"  # a row's own code wins over its name
    assert m.code[8] is None and "GM9999" in m.match_note[8]
    assert normalise("  Súdwest-Fryslân ") == "sudwest-fryslan"
    assert (region_code_of("Fryslân"), region_code_of("friesland"), region_code_of("Nederland")) == (
        "PV21",
        "PV21",
        "NL",
    )
    assert region_code_of("Vlaanderen") is None


def test_a_bare_name_that_is_also_a_cbs_name_is_no_alias():
    table = aliases({"GM0001": "Stein", "GM0002": "Stein (L.)", "GM0003": "Beek (L.)"})
    assert table.set_index("alias").gemeentecode.to_dict() == {"Beek": "GM0003", "Stein": ""}


def test_reported_figures_are_loaded_with_their_dates_and_inexact_values_kept_as_text(tmp_path):
    prepared = load_reported(DATA / "spreidingswet" / "realisatie_provinciale_plannen_2024_2025.csv")
    frame = prepared.frame
    utrecht = frame[frame.region_code == "PV26"].iloc[0]
    assert pd.isna(utrecht.places) and utrecht.value_text == ">4000"
    brabant = frame[(frame.region_code == "PV30") & (frame.indicator == "plekken_gerealiseerd_ca")].iloc[0]
    assert (brabant.places, brabant.reference_date) == (8900, "2025-06")
    national = load_reported(DATA / "spreidingswet" / "capaciteitsraming_2026.csv").frame
    row = national[national.indicator == "meerjarig_beschikbaar_ca"].iloc[0]
    assert (row.region_code, row.places, row.reference_date) == ("NL", 50_000, "2026-02-05")
    bad = tmp_path / "constructed_reported.csv"
    bad.write_text("scope,indicator,waarde\nNederland,x,1\nAtlantis,x,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3") as caught:
        load_reported(bad)
    assert "Atlantis" in str(caught.value) and "scope" in str(caught.value)


def test_realised_is_reported_beside_the_published_figures(demo_engine):
    tasks = placement_tasks(demo_engine, "2024")
    rec = pd.DataFrame(tasks.attrs["reconciliation"]).set_index("region_code")
    realised = int(tasks[tasks.level == "province"].realised.sum())
    national = rec.loc["NL"]
    assert (national.realised, national.reported_places, national.reported_indicator) == (
        realised,
        50_000,
        "meerjarig_beschikbaar_ca",
    )
    assert national.realised_coverage == pytest.approx(realised / 50_000)
    assert "LOW COVERAGE" in national.coverage_note and f"{realised:,} places" in national.coverage_note
    # a province with a figure of existing places uses it (latest), not the larger 'found in plans'
    brabant = rec.loc["PV30"]
    assert (brabant.reported_places, brabant.reported_kind, brabant.reported_date) == (8900, "existing", "2025-06")
    # a province whose only figure is not a number of places ('>4000' short) has none, and says so
    assert pd.isna(rec.loc["PV26"].reported_places) and "unknown" in rec.loc["PV26"].coverage_note
    assert rec.loc["PV21"].reported_kind == "planned" and "plans" in rec.loc["PV21"].coverage_note
    # every task row carries the note; a province row its own figure and coverage
    prov = tasks[tasks.level == "province"].set_index("region_code")
    assert prov.reported_places["PV30"] == 8900
    assert prov.realised_coverage["PV30"] == pytest.approx(prov.realised["PV30"] / 8900)
    mun = tasks[tasks.level == "municipality"].set_index("region_code")
    assert mun.coverage_note["GM0221"].startswith("no published municipal figure; Gelderland:")
    assert mun.reported_places.isna().all()
    lines = task_summary(tasks)
    assert any(line.startswith("realised against published figures: Netherlands:") for line in lines)


def _row(realised: int, places: int | None, kind: str = "existing") -> dict:
    return {
        "region_code": "PV99",
        "name": "X",
        "realised": realised,
        "undated": 0,
        "reported_places": places,
        "reported_kind": kind,
        "reported_indicator": "plekken_gerealiseerd_ca",
        "reported_date": "2025-06",
        "reported_source": "u",
    }


def test_coverage_notes_say_low_high_and_unknown():
    low = coverage_note(_row(int(1000 * LOW_COVERAGE) - 1, 1000))
    assert "LOW COVERAGE" in low and "overstated by up to 501 places" in low
    assert "LOW COVERAGE" not in coverage_note(_row(600, 1000))
    assert "MORE than the published figure" in coverage_note(_row(1200, 1000))
    assert "unknown" in coverage_note(_row(10, None))
    assert [coverage_status(r, p) for r, p in [(499, 1000), (600, 1000), (1200, 1000), (10, None)]] == [
        "low",
        "fair",
        "more",
        "unknown",
    ]


def test_coverage_notes_in_dutch_from_the_label_table():
    """The same sentences in Dutch, with Dutch number formats; both languages fill every placeholder."""
    low = coverage_note({**_row(1499, 12000, "planned"), "undated": 1234}, "nl")
    assert low.startswith("X: de opvangrijen bevatten 1.499 plaatsen (naast 1.234 plaatsen van ongedateerde rijen")
    assert "12 % van de 12.000 gerealiseerde plaatsen (2025-06; u)" in low
    assert "LAGE DEKKING" in low and "tot 10.501 plaatsen te hoog" in low and "plannen" in low
    assert "MEER dan" in coverage_note(_row(1200, 1000), "nl")
    assert "onbekend" in coverage_note(_row(10, None), "nl")
    for lang in ("nl", "en"):
        for row in (_row(1, 1000), _row(2000, 1000, "planned"), _row(1, None)):
            assert "{" not in coverage_note(row, lang)


def test_without_reported_figures_coverage_is_unknown_not_zero(demo_engine):
    tasks = placement_tasks(demo_engine, "2024")
    rec = reconcile(tasks, reported_figures(demo_engine).iloc[0:0])
    assert rec.reported_places.isna().all() and rec.realised_coverage.isna().all()
    assert all("unknown" in note for note in rec.coverage_note)


def test_maps_and_api_show_the_coverage_beside_realised(demo_engine):
    """The task panel carries each row's coverage note (as raw text: the page shows it with textContent, see
    tests/test_hostile_text.py), and the overview states the national coverage."""
    from geo.maps.overview import overview_map
    from geo.maps.taskpanel import panel, task_measures

    tasks = placement_tasks(demo_engine, "2024")
    row = task_measures(tasks).loc["GM0221"].copy()
    row["coverage_note"] = "<b>rows</b> cover 2%; LOW COVERAGE"
    shown = panel(row, "GM0221", "municipality", ("PV25", "Gelderland"), [], "en")
    assert shown["coverage"]["source"] == "<b>rows</b> cover 2%; LOW COVERAGE"
    assert shown["realised"] == int(row.realised) and shown["undated"] == int(row.undated)
    page = overview_map(demo_engine, tiles="none", lang="en")
    national = next(r for r in tasks.attrs["reconciliation"] if r["region_code"] == "NL")
    assert "realised beside published figures" in page
    assert f"the reception rows hold {national['realised']:,} places" in page and "LOW COVERAGE" in page
    # the Dutch map says it in Dutch (from the label table), the panels too, and no English note is left
    dutch = overview_map(demo_engine, tiles="none", lang="nl")
    realised = f"{national['realised']:,}".replace(",", ".")
    assert f"Nederland: de opvangrijen bevatten {realised} plaatsen" in dutch and "LAGE DEKKING" in dutch
    assert "geen gepubliceerd gemeentelijk cijfer; Gelderland: de opvangrijen" in dutch
    assert "reception rows" not in dutch and "LOW COVERAGE" not in dutch
    assert national["coverage_status"] == "low"


def test_reception_rows_reach_their_municipality_through_the_alias(demo_engine):
    """'Rijswijk' (525 places) and 'Hengelo' used to be dropped as 'not matched'; now they are placed in GM0603 and
    GM0164 and judged by the counting rule (undated, no capacity), with the alias named."""
    from geo.reception import counting_sites
    from geo.task import reference_date

    sites = counting_sites(demo_engine, reference_date("2024")).set_index("municipality_name")
    assert sites.municipality_code["Rijswijk"] == "GM0603" and sites.municipality_code["Hengelo"] == "GM0164"
    assert sites.match_note["Rijswijk"] == "'Rijswijk' read as CBS name 'Rijswijk (ZH.)'"
    tasks = placement_tasks(demo_engine, "2024").set_index("region_code")
    assert tasks.undated["GM0603"] == 525 and tasks.name["GM0603"] == "Rijswijk (ZH.)"
    skipped = pd.DataFrame(tasks.attrs["skipped_reception"]).set_index("municipality_name")
    assert "not matched" not in skipped.reason["Rijswijk"] and "Rijswijk (ZH.)" in skipped.reason["Rijswijk"]
    assert skipped.reason["Hengelo"].startswith("no capacity figure")
    assert not any("not matched" in r for r in skipped.reason)
