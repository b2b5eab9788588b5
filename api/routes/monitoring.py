"""Pilot monitoring: records per pilot and period (JSON or a CSV import), evaluations, and the evaluation reports.

A municipality key writes and reads its own pilots only; coa and admin keys all; viewer keys read. Reports come as
JSON, CSV (``?format=csv``) or a self-contained HTML page with the trade-offs chart (``?format=html``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from api.deps import Connection, Reader, State, Writer
from api.errors import KEYED, problems
from api.models import IsoDate
from geo.errors import UnsupportedMediaType
from geo.monitoring import lifecycle, records
from geo.monitoring.evaluate import evaluate
from geo.monitoring.indicators import CHAIN_PARTNERS, INDICATORS, OUTCOMES, PARTIES, CostReference
from geo.monitoring.report import as_json, chart_svg, html_report, to_csv

router = APIRouter(tags=["monitoring"], responses=problems(*KEYED))
ProposalId = Annotated[int, Path(ge=1, le=2_147_483_647, description="proposal (pilot) id")]
PeriodText = Annotated[str, StringConstraints(pattern=r"^\d{4}-(Q[1-4]|0[1-9]|1[0-2])$")]
Format = Literal["json", "csv", "html"]
CSV = "text/csv; charset=utf-8"


CONFLICT = problems(404, 409)
WRITE = problems(400, 404, 409, 413)  # a JSON body: malformed (400) or too large (413)
REPORT = {
    200: {
        "description": "The evaluation: JSON (default), CSV (format=csv) or an HTML page (format=html)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    },
    **CONFLICT,
}


class ValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    indicator: Literal[tuple(INDICATORS)]  # type: ignore[valid-type]
    breakdown: Annotated[str, StringConstraints(max_length=40)] = ""
    partner: Literal[CHAIN_PARTNERS] | None = None  # type: ignore[valid-type]
    value: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    source: Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]


class PeriodIn(BaseModel):
    """One period's values of a pilot. A value left out stays missing (it is never taken as zero)."""

    model_config = ConfigDict(extra="forbid")
    period: PeriodText = Field(description="a quarter (2025-Q1) or a month (2025-03); one kind per pilot")
    values: Annotated[list[ValueIn], Field(min_length=1, max_length=200)]


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=5000, strip_whitespace=True)]
    party: Literal[PARTIES] | None = Field(  # type: ignore[valid-type]
        None, description="whose judgement: a municipality key records 'municipality', a coa key 'coa'; admin names it"
    )
    source: Annotated[str, StringConstraints(max_length=300)] | None = None


def _reference(state) -> CostReference:
    return CostReference.from_settings(state.settings)


@router.post("/proposals/{proposal_id}/monitoring", summary="Record a pilot's figures for one period", responses=WRITE)
def record_period(proposal_id: ProposalId, body: PeriodIn, who: Writer, conn: Connection) -> dict[str, Any]:
    """Write (or correct) values for a period; each value carries its source, and who entered it is recorded."""
    written = records.record(conn, who, proposal_id, body.period, [v.model_dump() for v in body.values])
    conn.commit()
    return {"written": written, **records.read(conn, who, proposal_id, body.period)}


@router.get("/proposals/{proposal_id}/monitoring", summary="A pilot's records per period", responses=problems(404))
def read_records(
    proposal_id: ProposalId, who: Reader, conn: Connection, period: PeriodText | None = None
) -> dict[str, Any]:
    return records.read(conn, who, proposal_id, period)


@router.post(
    "/monitoring/import",
    summary="Import monitoring records from CSV (all or nothing)",
    responses=problems(413, 415),
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
)
async def import_records(request: Request, who: Writer, state: State) -> dict[str, Any]:
    """Send the CSV as the body (``Content-Type: text/csv``; layout in the README). Every row is checked first; an
    error names its row and field and nothing is written. Sending the same file again changes nothing."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "text/csv":
        raise UnsupportedMediaType("send the CSV as the request body with Content-Type: text/csv")
    data = await request.body()

    def run() -> dict:
        with state.engine.begin() as conn:  # one transaction: rolled back on any error
            return records.import_csv(conn, who, data, "the uploaded CSV")

    return await run_in_threadpool(run)


@router.post(
    "/proposals/{proposal_id}/evaluations",
    status_code=201,
    summary="Record an evaluation of a pilot",
    responses=WRITE,
)
def record_evaluation(proposal_id: ProposalId, body: EvaluationIn, who: Writer, conn: Connection) -> dict[str, Any]:
    """Record COA's or the municipality's judgement. An extension needs both parties' latest to be positive;
    ``evaluated`` needs one on record."""
    lifecycle.record_evaluation(
        conn, who, proposal_id, body.outcome, body.summary, party=body.party, source=body.source
    )
    conn.commit()
    return {"evaluations": lifecycle.evaluations(conn, who, proposal_id)}


@router.get("/proposals/{proposal_id}/evaluations", summary="A pilot's recorded evaluations", responses=problems(404))
def list_evaluations(proposal_id: ProposalId, who: Reader, conn: Connection) -> dict[str, Any]:
    return {"evaluations": lifecycle.evaluations(conn, who, proposal_id)}


def _answer(result, fmt: str, proposal_id: int | None) -> Response | dict:
    if fmt == "csv":
        return Response(to_csv(result, proposal_id), media_type=CSV)
    if fmt == "html":
        return HTMLResponse(html_report(result, proposal_id))
    return as_json(result, proposal_id)


AsOf = Annotated[IsoDate | None, Query(description="evaluate as of this date, YYYY-MM-DD (default today)")]


@router.get("/evaluation/pilots/{proposal_id}", summary="One pilot's evaluation (JSON, CSV or HTML)", responses=REPORT)
def pilot_evaluation(
    proposal_id: ProposalId, who: Reader, state: State, conn: Connection, format: Format = "json", as_of: AsOf = None
):
    """The four dimensions per period and over the run, against the portfolio median and the cost reference;
    missing periods and values are null (CSV: empty), never zero."""
    result = evaluate(conn, who, as_of=as_of, reference=_reference(state), proposal_id=proposal_id)
    return _answer(result, format, proposal_id)


@router.get("/evaluation/portfolio", summary="The pilot portfolio's evaluation (JSON, CSV or HTML)", responses=REPORT)
def portfolio_evaluation(who: Reader, state: State, conn: Connection, format: Format = "json", as_of: AsOf = None):
    """Every visible pilot: status, months left, data completeness, the four dimensions with lights, the median."""
    return _answer(evaluate(conn, who, as_of=as_of, reference=_reference(state)), format, None)


@router.get(
    "/evaluation/portfolio/chart.svg",
    summary="The trade-offs chart (cost per place against integration)",
    response_class=Response,
    responses={200: {"description": "SVG image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}},
)
def portfolio_chart(who: Reader, state: State, conn: Connection, as_of: AsOf = None) -> Response:
    result = evaluate(conn, who, as_of=as_of, reference=_reference(state))
    return Response(chart_svg(result), media_type="image/svg+xml")
