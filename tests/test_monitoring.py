"""Pilot monitoring and evaluation over the API, the CLI and the maps, on the demo database.

Every monitoring figure here is CONSTRUCTED for the tests (no real per-pilot data is public): the CSV fixtures are
named ``constructed_*`` and their source column says so.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from geo.monitoring.evaluate import light
from geo.monitoring.indicators import CostReference, period, periods_between
from geo.monitoring.lifecycle import add_months, end_warning, months_left
from tests.api_helpers import DOESBURG, DORDRECHT, assert_problem, h
from tests.helpers import cli_env, opvangmatch

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = "2026-11-15"  # six weeks before the walked pilot's end (2027-01-01)
SOURCE = "CONSTRUCTED test record (not real data)"


def make_pilot(client, keys, *, where=DOESBURG, code="GM0221", start="2025-01-01", title="Constructed pilot"):
    """A proposal walked by COA to ``active`` from ``start`` (end two years later)."""
    coa = h(keys, "coa")
    body = {
        "title": title,
        "description": "constructed for the monitoring tests",
        "target_group": "families",
        "municipality_code": code,
        "capacity": 40,
        "location": {"type": "Point", "coordinates": where},
    }
    created = client.post("/proposals", json=body, headers=coa)
    assert created.status_code == 201, created.text
    pid, version = created.json()["id"], created.json()["version"]
    for step in (
        {"status": "in_preparation"},
        {"status": "agreement_signed"},
        {"status": "active", "start_date": start},
    ):
        response = client.patch(f"/proposals/{pid}", json={"version": version, **step}, headers=coa)
        assert response.status_code == 200, response.text
        version = response.json()["version"]
    return pid


def values(**figures):
    """``indicator__breakdown=(value, partner)`` or ``indicator=value`` into API values, all CONSTRUCTED."""
    out = []
    for name, given in figures.items():
        indicator, _, breakdown = name.partition("__")
        value, partner = given if isinstance(given, tuple) else (given, None)
        out.append(
            {"indicator": indicator, "breakdown": breakdown, "value": value, "partner": partner, "source": SOURCE}
        )
    return out


Q2 = values(
    residents__families=30,
    operating_costs=180_000,
    complaints__nuisance=2,
    incidents__safety=1,
    neighbourhood_meetings=2,
    volunteers=10,
    survey_support__residents=55,
    in_language_courses=12,
    children_in_school=14,
    adults_in_work__work=2,
    departures__housed_with_permit=(2, "VluchtelingenWerk"),
    departures__unknown=0,
    standard_met__safety=1,
    standard_met__health=1,
    standard_met__education_guidance=1,
)
Q3 = values(  # incidents not recorded this quarter: missing, not zero
    residents__families=34,
    operating_costs=230_000,
    complaints__nuisance=1,
    in_language_courses=17,
    children_in_school=15,
    departures__housed_with_permit=(2, "VluchtelingenWerk"),
    departures__forced_return=(1, "DT&V"),
    departures__unknown=1,
    standard_met__safety=1,
    standard_met__health=1,
    standard_met__education_guidance=1,
)


def fixture_csv(pid: int, name: str = "constructed_monitoring_2025q4.csv") -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").replace("{pilot}", str(pid))


def monitoring_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT proposal_id, period, indicator, breakdown, partner, value, source, entered_by, entered_at "
                    "FROM monitoring_value ORDER BY 1, 2, 3, 4"
                )
            )
        ]


# --- pure rules ------------------------------------------------------------------------------------------------


def test_periods_parse_and_cover_the_run():
    assert period("2025-Q3").start == date(2025, 7, 1) and period("2025-Q3").end == date(2025, 9, 30)
    assert period("2024-02").days == 29
    for bad in ("2025-Q5", "2025-13", "25-Q1", "2025Q1", "2025-Q1; drop", ""):
        with pytest.raises(ValueError, match="period must be"):
            period(bad)
    quarters = periods_between(date(2025, 1, 30), date(2027, 1, 30), "quarter")
    assert [quarters[0].label, quarters[-1].label, len(quarters)] == ["2025-Q1", "2027-Q1", 9]
    assert [p.label for p in periods_between(date(2025, 11, 5), date(2026, 2, 1), "month")] == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]


def test_end_warning_starts_three_months_before_the_end():
    end = date(2027, 1, 1)
    assert end_warning("active", end, date(2026, 9, 30)) is None
    assert "ends on 2027-01-01 (in 92 days)" in end_warning("active", end, date(2026, 10, 1))
    assert "ended on 2027-01-01" in end_warning("active", end, date(2027, 1, 5))
    assert end_warning("evaluated", end, date(2026, 12, 1)) is None
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28) and months_left(end, date(2026, 11, 1)) == 2.0


def test_cost_reference_is_configurable_with_source_and_year():
    ref = CostReference.parse("53400:2022:nieuws.nl 2023-11-28 (emergency shelter)")
    assert (ref.eur_per_place_year, ref.year) == (53_400, 2022) and "emergency" in ref.source
    assert CostReference().eur_per_place_year == 27_100 and CostReference().year == 2022
    for bad in ("27100", "x:2022:s", "27100:2022:", "-5:2022:s", "nan:2022:s"):
        with pytest.raises(ValueError, match="OPVANGMATCH_COST_REFERENCE"):
            CostReference.parse(bad)


def test_lights_missing_is_its_own_state():
    assert light("costs", float("nan")) == "missing" and light("costs", None) == "missing"
    assert [light("costs", v) for v in (0.9, 1.1, 1.3)] == ["green", "amber", "red"]
    assert [light("integration", v) for v in (0.6, 0.3, 0.1)] == ["green", "amber", "red"]


# --- the walk: active, three quarters (API and CSV), warning, extension refused and accepted, report -----------------


@pytest.mark.slow  # runs the console script
def test_a_pilot_walked_from_active_to_an_extension_and_its_report(client, keys, demo_engine, demo_settings, tmp_path):
    coa, doesburg = h(keys, "coa"), h(keys, "doesburg")
    pid = make_pilot(client, keys)
    base = f"/proposals/{pid}/monitoring"

    # quarter 2 by the municipality, quarter 3 by COA, over the API (JSON)
    first = client.post(base, json={"period": "2025-Q2", "values": Q2}, headers=doesburg)
    assert first.status_code == 200, first.text
    assert first.json()["written"] == len(Q2)
    stored = first.json()["periods"][0]["values"]
    assert {v["entered_by"].split(":")[0] for v in stored} == {"municipality"} and {v["source"] for v in stored} == {
        SOURCE
    }
    assert client.post(base, json={"period": "2025-Q3", "values": Q3}, headers=coa).json()["written"] == len(Q3)
    # quarter 4 from a CSV, imported through the API; the same file again changes nothing
    csv_text = fixture_csv(pid)
    imported = client.post("/monitoring/import", content=csv_text, headers={**coa, "Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 16, "written": 16, "unchanged": 0}
    before = monitoring_rows(demo_engine)
    again = client.post("/monitoring/import", content=csv_text, headers={**coa, "Content-Type": "text/csv"})
    assert again.json() == {"rows": 16, "written": 0, "unchanged": 16} and monitoring_rows(demo_engine) == before
    # ... and through the CLI (same file on disk): still nothing changes
    path = tmp_path / "constructed_monitoring_2025q4.csv"
    path.write_text(csv_text, encoding="utf-8")
    run = opvangmatch(["monitoring", "import", str(path), "--entered-by", "tests"], cli_env(demo_settings, tmp_path))
    assert run.returncode == 0, run.stderr
    assert (
        "16 rows, 0 values written or changed, 16 already so" in run.stderr and monitoring_rows(demo_engine) == before
    )

    # read back per pilot and per period
    back = client.get(base, headers=h(keys, "viewer")).json()
    assert [p["period"] for p in back["periods"]] == ["2025-Q2", "2025-Q3", "2025-Q4"]
    q4 = client.get(base, params={"period": "2025-Q4"}, headers=coa).json()["periods"]
    assert len(q4) == 1 and len(q4[0]["values"]) == 16
    partners = {(v["breakdown"], v["partner"]) for v in q4[0]["values"] if v["indicator"] == "departures"}
    assert partners == {("housed_with_permit", "VluchtelingenWerk"), ("voluntary_return", "DT&V"), ("unknown", None)}

    # the evaluation, recomputed here from the constructed figures
    report = client.get(f"/evaluation/pilots/{pid}", params={"as_of": AS_OF}, headers=coa).json()
    pilot = next(p for p in report["pilots"] if p["id"] == pid)
    place_years = (30 * 91 + 34 * 92 + 38 * 92) / 365.25
    cost = (180_000 + 230_000 + 260_000) / place_years
    assert pilot["cost_per_place_year"] == pytest.approx(cost)
    assert pilot["cost_vs_reference"] == pytest.approx(cost / 27_100) and pilot["costs_light"] == "green"
    assert pilot["course_share"] == pytest.approx(np.mean([12 / 30, 17 / 34, 21 / 38]))
    assert pilot["signals_per_10_residents"] == pytest.approx(np.mean([3 * 10 / 30, 1 * 10 / 38]))  # Q3: missing
    assert pilot["unknown_departure_share"] == pytest.approx(2 / 11)
    assert pilot["standards_met_share"] == pytest.approx(8 / 9)
    assert pilot["costs_trend"] == "rising" and pilot["integration_trend"] == "rising"
    assert pilot["periods_missing"] == ["2025-Q1", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert pilot["completeness"] == pytest.approx((9 + 8 + 9) / (7 * 9))
    periods = {p["period"]: p for p in report["periods"]}
    assert periods["2025-Q3"]["incidents"] is None and periods["2025-Q3"]["signals_per_10_residents"] is None
    assert periods["2025-Q1"]["recorded"] is False and periods["2025-Q1"]["residents"] is None
    assert periods["2025-Q2"]["departures_unknown"] == 0  # recorded zero stays zero
    assert "ends on 2027-01-01" in pilot["warning"] and pilot["months_left"] == pytest.approx(1.5)
    assert report["reference"]["eur_per_place_year"] == 27_100 and report["reference"]["year"] == 2022
    csv_out = client.get(f"/evaluation/pilots/{pid}", params={"as_of": AS_OF, "format": "csv"}, headers=coa)
    assert csv_out.headers["content-type"].startswith("text/csv")
    q1_line = next(line for line in csv_out.text.splitlines() if ",2025-Q1," in line)
    assert ",0," not in q1_line and q1_line.endswith(",,"), q1_line  # missing is an empty cell, never 0

    # the warning before the end, on the proposal too (API) when today is near the end
    near = make_pilot(client, keys, start=add_months(date.today(), -22).isoformat(), title="Near its end")
    warned = client.get(f"/proposals/{near}", headers=coa).json()["warnings"]
    assert len(warned) == 1 and "positive evaluation" in warned[0]
    far = make_pilot(client, keys, start=add_months(date.today(), -1).isoformat(), title="Far from its end")
    assert client.get(f"/proposals/{far}", headers=coa).json()["warnings"] == []

    # extension refused without a positive evaluation by both, accepted with it
    version = client.get(f"/proposals/{pid}", headers=coa).json()["version"]

    def extend(expect):
        body = {"version": version, "extend_until": "2028-01-01", "note": "na evaluatie"}
        response = client.patch(f"/proposals/{pid}", json=body, headers=coa)
        return response.json() if expect == 200 and response.status_code == 200 else assert_problem(response, expect)

    assert "coa has recorded no evaluation" in extend(409)["detail"]
    ok = {"outcome": "positive", "summary": "CONSTRUCTED: draagvlak en integratie goed"}
    assert client.post(f"/proposals/{pid}/evaluations", json=ok, headers=doesburg).status_code == 201
    bad = {"outcome": "negative", "summary": "CONSTRUCTED: kosten te hoog"}
    assert client.post(f"/proposals/{pid}/evaluations", json=bad, headers=coa).status_code == 201
    assert "coa has recorded a negative evaluation" in extend(409)["detail"]
    assert client.post(f"/proposals/{pid}/evaluations", json=ok, headers=coa).status_code == 201
    extended = extend(200)
    assert extended["extended"] and extended["end_date"] == "2028-01-01" and extended["warnings"] == []
    listed = client.get(f"/proposals/{pid}/evaluations", headers=h(keys, "viewer")).json()["evaluations"]
    assert [(e["party"], e["outcome"]) for e in listed] == [
        ("municipality", "positive"),
        ("coa", "negative"),
        ("coa", "positive"),
    ]
    assert not any(e["current"] for e in listed)  # they led to this extension: a next one needs new evaluations

    # the report from the CLI, with the chart
    chart = tmp_path / "chart.svg"
    env = cli_env(demo_settings, tmp_path)
    run = opvangmatch(["evaluate", "pilot", str(pid), "--as-of", AS_OF, "--chart", str(chart)], env)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    print(out)
    assert f"#{pid} GM0221 families | active | 2025-01-01 to 2028-01-01 (extended)" in out
    assert "missing: 2025-Q1 2026-Q1 2026-Q2 2026-Q3" in out
    assert f"EUR {cost:,.0f}" in out and "2025-Q3" in out and "missing" in out
    assert f"#{pid} GM0221" in chart.read_text() and "regular place EUR 27,100 (2022)" in chart.read_text()
    portfolio = opvangmatch(["evaluate", "portfolio", "--as-of", AS_OF, "--format", "csv"], env)
    assert portfolio.returncode == 0 and portfolio.stdout.startswith("id,title,")


@pytest.mark.browser
def test_the_evaluation_chart_renders_in_chromium(client, keys, demo_settings, output_dir):
    from geo.maps.browser import chromium

    coa = h(keys, "coa")
    pid = make_pilot(client, keys, title="Chart pilot")
    for when, figures in (("2025-Q2", Q2), ("2025-Q3", Q3)):
        client.post(f"/proposals/{pid}/monitoring", json={"period": when, "values": figures}, headers=coa)
    client.post("/monitoring/import", content=fixture_csv(pid), headers={**coa, "Content-Type": "text/csv"})
    page_html = client.get(f"/evaluation/pilots/{pid}", params={"as_of": AS_OF, "format": "html"}, headers=coa)
    assert page_html.status_code == 200 and page_html.headers["content-type"].startswith("text/html")
    path = output_dir / "pilot_evaluation.html"
    path.write_text(page_html.text, encoding="utf-8")
    with chromium(demo_settings.chromium) as context:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.resolve().as_uri(), wait_until="load")
        chart = page.locator("#chart svg")
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 200
        chart.screenshot(path=str(output_dir / "monitor-chart.png"))
        page.screenshot(path=str(output_dir / "monitor-report.png"), full_page=True)
        assert not errors
        text = page.inner_text("body")
    chart_part = page_html.text[page_html.text.index("<div id='chart'>") :]
    assert f"#{pid} GM0221" in chart_part and "regular place EUR 27,100 (2022)" in chart_part
    assert "missing" in text and (output_dir / "monitor-chart.png").stat().st_size > 10_000


# --- roles ------------------------------------------------------------------------------------------------------------


def test_a_municipality_writes_and_reads_its_own_pilots_only(client, keys, demo_engine):
    doesburg_pilot = make_pilot(client, keys, title="Doesburg pilot")
    dordrecht_pilot = make_pilot(client, keys, where=DORDRECHT, code="GM0505", title="Dordrecht pilot")
    before = monitoring_rows(demo_engine)
    body = {"period": "2025-Q2", "values": Q2[:2]}
    # Dordrecht may not write (nor see) Doesburg's records, over JSON or CSV
    assert_problem(client.post(f"/proposals/{doesburg_pilot}/monitoring", json=body, headers=h(keys, "dordrecht")), 404)
    assert_problem(client.get(f"/proposals/{doesburg_pilot}/monitoring", headers=h(keys, "dordrecht")), 404)
    csv_text = fixture_csv(doesburg_pilot)
    response = client.post(
        "/monitoring/import", content=csv_text, headers={**h(keys, "dordrecht"), "Content-Type": "text/csv"}
    )
    assert_problem(response, 422, "row 2", "proposal_id", "not visible")
    # a viewer reads but does not write; nor does it record evaluations
    assert_problem(client.post(f"/proposals/{doesburg_pilot}/monitoring", json=body, headers=h(keys, "viewer")), 403)
    evaluation = {"outcome": "positive", "summary": "x"}
    assert_problem(
        client.post(f"/proposals/{doesburg_pilot}/evaluations", json=evaluation, headers=h(keys, "viewer")), 403
    )
    # a municipality records its own judgement, not COA's, and not on another's pilot
    assert_problem(
        client.post(
            f"/proposals/{doesburg_pilot}/evaluations", json={**evaluation, "party": "coa"}, headers=h(keys, "doesburg")
        ),
        403,
        "municipality evaluation",
    )
    assert_problem(
        client.post(f"/proposals/{doesburg_pilot}/evaluations", json=evaluation, headers=h(keys, "dordrecht")), 404
    )
    assert monitoring_rows(demo_engine) == before
    # each writes its own
    ok = client.post(f"/proposals/{dordrecht_pilot}/monitoring", json=body, headers=h(keys, "dordrecht"))
    assert ok.status_code == 200 and ok.json()["written"] == 2
    # a municipality's portfolio holds its own pilots only; COA's all
    mine = client.get("/evaluation/portfolio", headers=h(keys, "dordrecht")).json()["pilots"]
    assert {p["municipality_code"] for p in mine} == {"GM0505"}
    everyone = {p["id"] for p in client.get("/evaluation/portfolio", headers=h(keys, "coa")).json()["pilots"]}
    assert {doesburg_pilot, dordrecht_pilot} <= everyone
    assert_problem(client.get(f"/evaluation/pilots/{doesburg_pilot}", headers=h(keys, "dordrecht")), 404)


def test_records_need_an_active_pilot_and_a_period_in_its_run(client, keys, demo_engine):
    coa = h(keys, "coa")
    created = client.post(
        "/proposals",
        json={"title": "t", "description": "d", "target_group": "amv", "municipality_code": "GM0221"},
        headers=coa,
    ).json()
    body = {"period": "2025-Q2", "values": Q2[:1]}
    assert_problem(client.post(f"/proposals/{created['id']}/monitoring", json=body, headers=coa), 409, "submitted")
    pid = make_pilot(client, keys, title="Period checks")
    assert_problem(
        client.post(f"/proposals/{pid}/monitoring", json={**body, "period": "2024-Q4"}, headers=coa), 422, "outside"
    )
    assert_problem(
        client.post(f"/proposals/{pid}/monitoring", json={**body, "values": Q2[:1] * 2}, headers=coa), 422, "twice"
    )
    wrong = [{**Q2[0], "breakdown": "dogs"}]
    assert_problem(
        client.post(f"/proposals/{pid}/monitoring", json={**body, "values": wrong}, headers=coa),
        422,
        "values[0].breakdown",
    )
    fraction = [{**Q2[0], "value": 2.5}]
    assert_problem(
        client.post(f"/proposals/{pid}/monitoring", json={**body, "values": fraction}, headers=coa), 422, "whole number"
    )
    assert client.post(f"/proposals/{pid}/monitoring", json=body, headers=coa).status_code == 200
    monthly = client.post(f"/proposals/{pid}/monitoring", json={**body, "period": "2025-08"}, headers=coa)
    assert_problem(monthly, 422, "per quarter")
    assert_problem(client.get(f"/evaluation/pilots/{created['id']}", headers=coa), 409, "not an active")


# --- bad CSV input: a clear error naming row and field, the database unchanged ----------------------------------------


def _mutate(text: str, row: int, column: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


BAD_ROWS = [
    (5, "indicator", "complaint", "unknown indicator"),
    (2, "breakdown", "children", "needs breakdown"),
    (4, "value", "-3", "between 0 and"),
    (4, "value", "lots", "not a number"),
    (4, "value", "", "missing is not zero"),
    (2, "value", "12.5", "whole number"),
    (12, "partner", "COA", "partner for departures"),
    (2, "partner", "IND", "must be empty"),
    (3, "period", "2025-Q5", "period must be"),
    (3, "period", "2023-Q1", "outside pilot"),
    (3, "period", "2025-11", "per quarter"),
    (7, "source", "", "needs its source"),
    (9, "proposal_id", "abc", "not a proposal id"),
    (9, "proposal_id", "999999", "does not exist"),
    (16, "value", "1e400", "not a finite number"),
    (17, "value", "2", "between 0 and 1"),
]


@pytest.fixture(scope="module")
def csv_pilot(client, keys):
    pid = make_pilot(client, keys, title="CSV checks")
    client.post(f"/proposals/{pid}/monitoring", json={"period": "2025-Q2", "values": Q2}, headers=h(keys, "coa"))
    return pid


@pytest.mark.parametrize("row,column,value,words", BAD_ROWS, ids=[f"{c}-{v or 'empty'}" for _, c, v, _ in BAD_ROWS])
def test_a_bad_csv_row_is_named_and_nothing_is_imported(
    client, keys, demo_engine, csv_pilot, row, column, value, words
):
    text = _mutate(fixture_csv(csv_pilot), row, column, value)
    before = monitoring_rows(demo_engine)
    response = client.post("/monitoring/import", content=text, headers={**h(keys, "coa"), "Content-Type": "text/csv"})
    body = assert_problem(response, 422, words, f"row {row}", f"field '{column}'", "nothing was imported")
    assert body["detail"].startswith("the uploaded CSV, row")
    assert monitoring_rows(demo_engine) == before


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "empty file"),
        ("proposal_id,period,indicator,value\n", "'source' is missing"),
        ("proposal_id,period,indicator,value,source,colour\n1,2025-Q1,residents,1,s,red\n", "unknown column 'colour'"),
        ("proposal_id,period,indicator,breakdown,partner,value,source\n", "no data rows"),
        ("proposal_id,period,indicator,breakdown,partner,value,source\n1,2,3,4,5,6,7,8\n", "row 2: 8 fields"),
        ('proposal_id,period,indicator,breakdown,partner,value,source\n1,"2025-Q1\n', "not a readable CSV"),
    ],
    ids=["empty", "missing-column", "unknown-column", "header-only", "extra-field", "unclosed-quote"],
)
def test_a_malformed_csv_is_refused_with_the_reason(client, keys, demo_engine, text, words):
    before = monitoring_rows(demo_engine)
    response = client.post("/monitoring/import", content=text, headers={**h(keys, "coa"), "Content-Type": "text/csv"})
    assert_problem(response, 422, words)
    assert monitoring_rows(demo_engine) == before


def test_csv_duplicates_encoding_and_media_type(client, keys, demo_engine, csv_pilot):
    before = monitoring_rows(demo_engine)
    text = fixture_csv(csv_pilot)
    lines = text.splitlines()
    doubled = "\n".join([*lines, lines[3]]) + "\n"
    coa_csv = {**h(keys, "coa"), "Content-Type": "text/csv"}
    assert_problem(client.post("/monitoring/import", content=doubled, headers=coa_csv), 422, "row 18", "as row 4")
    assert_problem(client.post("/monitoring/import", content=b"\xff\xfe" + b"a,b\n", headers=coa_csv), 422, "UTF-8")
    assert_problem(
        client.post("/monitoring/import", content=text, headers={**h(keys, "coa"), "Content-Type": "application/json"}),
        415,
    )
    assert monitoring_rows(demo_engine) == before


@pytest.mark.slow  # runs the console script
def test_cli_import_of_a_bad_file_names_file_row_and_field(demo_settings, demo_engine, csv_pilot, tmp_path):
    path = tmp_path / "constructed_bad.csv"
    path.write_text(_mutate(fixture_csv(csv_pilot), 6, "value", "-1"), encoding="utf-8")
    before = monitoring_rows(demo_engine)
    run = opvangmatch(["monitoring", "import", str(path)], cli_env(demo_settings, tmp_path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"{path}, row 6, field 'value': incidents must lie between 0 and" in run.stderr
    assert monitoring_rows(demo_engine) == before
    missing = opvangmatch(["monitoring", "import", str(tmp_path / "nope.csv")], cli_env(demo_settings, tmp_path))
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr


def test_text_in_csv_reports_cannot_become_a_formula(client, keys):
    pid = make_pilot(client, keys, title='=HYPERLINK("http://x","y")')
    portfolio = client.get("/evaluation/portfolio", params={"format": "csv"}, headers=h(keys, "coa")).text
    row = next(line for line in portfolio.splitlines() if line.startswith(f"{pid},"))
    assert row.startswith(f"{pid},\"'=HYPERLINK(")


def test_text_from_users_is_escaped_in_the_html_report_and_the_map(client, keys):
    evil = "<script>alert(1)</script>{{7*7}}"
    pid = make_pilot(client, keys, title=evil)
    page = client.get(f"/evaluation/pilots/{pid}", params={"format": "html"}, headers=h(keys, "coa")).text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in page
    overview = client.get("/maps/overview", params={"tiles": "none"}, headers=h(keys, "coa")).text
    mine = next(r for r in _layer_rows(overview, "pilots") if f"#{pid} " in r[2])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in mine[2] and "<script>" not in mine[2]


# --- maps ---------------------------------------------------------------------------------------------------------


def test_pilots_on_the_maps_with_status_months_left_and_lights(client, keys, csv_pilot):
    overview = client.get("/maps/overview", params={"tiles": "none", "lang": "en"}, headers=h(keys, "coa"))
    assert overview.status_code == 200
    rows = _layer_rows(overview.text, "pilots")
    mine = next(r for r in rows if f"#{csv_pilot} " in r[2])
    assert "active" in mine[2] and "months left" in mine[2]
    for dim in ("support", "integration", "return", "costs"):
        assert dim in mine[2]
    assert "style=" not in mine[2] and 'class="om-light om-light-' in mine[2]  # CSP: no style attributes
    assert f'href=\\"/evaluation/pilots/{csv_pilot}?format=html\\"' in json.dumps(mine[3])
    warns = end_warning("active", date(2027, 1, 1), date.today()) is not None  # the pilot ends on 2027-01-01
    assert ("&#9888;" in mine[3]) == warns
    region = client.get(
        "/maps/region", params={"province": "PV25", "municipality": "GM0221", "tiles": "none"}, headers=h(keys, "coa")
    )
    assert any(f"#{csv_pilot} " in r[2] for r in _layer_rows(region.text, "pilots"))
    own = client.get("/maps/overview", params={"tiles": "none"}, headers=h(keys, "dordrecht")).text
    seen = _layer_rows(own, "pilots") if '"key":"pilots"' in own else []
    assert not any(f"#{csv_pilot} " in r[2] for r in seen)  # Dordrecht's key does not see Doesburg's pilot


def _layer_rows(page: str, key: str) -> list:
    """The rows of a PointLayer in a map page (the page's JSON data block, by the layer's key)."""
    start = page.index('<script type="application/json" id="opvangmatch-data">')
    block = page[page.index(">", start) + 1 : page.index("</script>", start)]
    found = [p["rows"] for p in json.loads(block).values() if isinstance(p, dict) and p.get("key") == key]
    assert found, f"no {key} layer"
    return found[0]


def test_a_date_is_iso_text_never_a_number_read_as_unix_time(client, keys):
    """``as_of=0`` used to evaluate as of 1970-01-01 (and a proposal's ``"start_date": "0"`` was taken the same way):
    a date is YYYY-MM-DD text, anything else is a 422 naming the field."""
    coa = h(keys, "coa")
    for path in ("/evaluation/portfolio", "/evaluation/portfolio/chart.svg"):
        for bad in ("0", "1700000000", "20250101"):
            assert_problem(client.get(path, params={"as_of": bad}, headers=coa), 422, "as_of", "YYYY-MM-DD")
    assert client.get("/evaluation/portfolio", params={"as_of": AS_OF}, headers=coa).json()["as_of"] == AS_OF
    body = {"title": "t", "description": "d", "target_group": "amv", "municipality_code": "GM0221"}
    pid = client.post("/proposals", json=body, headers=coa).json()["id"]
    patch = {"version": 1, "status": "in_preparation", "start_date": "0"}
    assert_problem(client.patch(f"/proposals/{pid}", json=patch, headers=coa), 422, "start_date", "YYYY-MM-DD")
