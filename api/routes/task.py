"""GET /task: the placement task per province and municipality (required, realised, pipeline, gap)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from api.deps import Reader, State
from api.errors import KEYED, problems
from api.models import ProvinceCode, TaskTable

router = APIRouter(tags=["task"], responses=problems(*KEYED))


@router.get("/task", response_model=TaskTable, summary="The placement-task table")
def task(
    who: Reader,
    state: State,
    level: Literal["province", "municipality"] | None = None,
    province: ProvinceCode | None = None,
):
    """Required places (official or computed, with the source of each figure), realised (reception sites open on
    the reference date), undated (open sites not known to be open then, not counted), pipeline (proposals in
    preparation or with a signed agreement) and gap, per province and municipality; the reception rows not
    counted, with the reason."""
    tasks = state.snapshot.data().tasks.reset_index()
    report = state.snapshot.task_report
    if level:
        tasks = tasks[tasks["level"] == level]
    if province:
        tasks = tasks[(tasks["province_code"] == province) | (tasks["region_code"] == province)]
    return {
        "period": report.get("period", state.snapshot.period),
        "reference_date": report.get("reference_date"),
        "national_total": report.get("national_total"),
        "national_total_source": report.get("national_total_source"),
        "notes": list(report.get("notes", [])),
        "reconciliation": list(report.get("reconciliation", [])),
        "rows": tasks.astype(object).where(tasks.notna(), None).to_dict("records"),
        "reception_not_counted": [
            {k: row[k] for k in ("id", "name", "municipality_name", "capacity", "status", "reason")}
            for row in report.get("skipped_reception", [])
        ],
    }
