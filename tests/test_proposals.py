"""The stappenplan's rules without a database (geo/proposals/rules.py): each refusal is a domain error that the API
answers with its status and the command line with its exit code. The same rules over HTTP: tests/test_api.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
import shapely

from geo.errors import ConflictError, InputError, PermissionDenied
from geo.proposals import TRANSITIONS, plan_change


@dataclass(frozen=True)
class Who:
    role: str
    municipality_code: str | None = None
    key: str = "test"

    @property
    def sees_all(self) -> bool:
        return self.role != "municipality"


COA, MUNICIPALITY, VIEWER = Who("coa"), Who("municipality", "GM0221"), Who("viewer")
HERE = shapely.Point(205_500, 446_500)


def row(**values) -> dict:
    base = {
        "id": 1,
        "version": 1,
        "status": "submitted",
        "geom": None,
        "capacity": None,
        "start_date": None,
        "end_date": None,
        "extended": False,
        "score": None,
        "target_group": "families",
        "floor_area": None,
        "municipality_code": "GM0221",
    }
    return {**base, **values}


def test_every_status_can_be_reached_from_submitted_and_the_final_ones_lead_nowhere():
    reached, todo = {"submitted"}, ["submitted"]
    while todo:
        for target in TRANSITIONS[todo.pop()]:
            if target not in reached:
                reached.add(target)
                todo.append(target)
    assert reached == set(TRANSITIONS)
    assert TRANSITIONS["evaluated"] == TRANSITIONS["withdrawn"] == ()


def test_a_stale_version_is_a_conflict_that_names_the_current_one():
    with pytest.raises(ConflictError) as caught:
        plan_change(row(version=3), COA, {"version": 2, "title": "x"}, None)
    assert caught.value.extra == {"current_version": 3} and caught.value.status == 409


@pytest.mark.parametrize(
    ("current", "who", "patch", "shape", "error", "message"),
    [
        ("submitted", VIEWER, {"title": "x"}, None, PermissionDenied, "viewer key may not change"),
        ("submitted", MUNICIPALITY, {"status": "in_preparation"}, None, PermissionDenied, "may only withdraw"),
        ("submitted", COA, {"status": "in_preparation"}, None, ConflictError, "needs a location and a capacity"),
        ("submitted", COA, {"status": "active"}, None, ConflictError, "from submitted it can go to"),
        ("withdrawn", COA, {"title": "x"}, None, ConflictError, "can no longer change"),
        ("agreement_signed", COA, {}, HERE, ConflictError, "location of a proposal in status agreement_signed"),
        ("submitted", COA, {}, None, InputError, "the change is empty"),
    ],
)
def test_refusals_say_why(current, who, patch, shape, error, message):
    proposal = row() if current == "submitted" else row(status=current, geom=HERE, capacity=20)
    with pytest.raises(error, match=message):
        plan_change(proposal, who, {"version": 1, **patch}, shape)


def test_a_pilot_runs_two_years_unless_extended_with_a_note():
    active = row(status="active", geom=HERE, capacity=20, start_date=date(2024, 2, 29))
    change = plan_change(active, COA, {"version": 1, "end_date": date(2025, 1, 1)}, None)
    assert change.new["end_date"] == date(2025, 1, 1) and change.recorded_events()[0][0] == "dates"
    with pytest.raises(InputError, match="at most 2 years"):
        plan_change(active, COA, {"version": 1, "end_date": date(2026, 3, 1)}, None)
    dated = {**active, "end_date": date(2026, 2, 28)}
    with pytest.raises(InputError, match="needs a note"):
        plan_change(dated, COA, {"version": 1, "extend_until": date(2027, 1, 1)}, None)
    with pytest.raises(PermissionDenied, match="decided with COA"):
        plan_change(dated, MUNICIPALITY, {"version": 1, "extend_until": date(2027, 1, 1), "note": "good"}, None)
    extended = plan_change(dated, COA, {"version": 1, "extend_until": date(2027, 1, 1), "note": "good"}, None)
    assert extended.new["extended"] and extended.new["end_date"] == date(2027, 1, 1)
    assert [kind for kind, _ in extended.recorded_events()] == ["extension"]


def test_a_new_location_or_capacity_is_scored_again_and_the_pipeline_follows_the_status():
    prepared = row(status="in_preparation", geom=HERE, capacity=20, score={"total": 0.5})
    bigger = plan_change(prepared, COA, {"version": 1, "capacity": 30}, None)
    assert bigger.rescore and bigger.pipeline_changed
    renamed = plan_change(prepared, COA, {"version": 1, "title": "new name"}, None)
    assert not renamed.rescore and not renamed.pipeline_changed
    withdrawn = plan_change(prepared, MUNICIPALITY, {"version": 1, "status": "withdrawn"}, None)
    assert withdrawn.pipeline_changed and withdrawn.new["status"] == "withdrawn"
