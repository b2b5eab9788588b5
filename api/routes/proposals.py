"""Proposals: submit (scored at once when a location is given), list, read with history, change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Connection, Reader, State, Writer
from api.errors import KEYED, problems
from api.geometry import location_to_rd, rd_to_geojson
from api.models import MunicipalityCode, ProposalCreate, ProposalList, ProposalOut, ProposalPatch, Status
from api.routes.score import profile_named
from geo import proposals as service
from geo.score import score_location

router = APIRouter(prefix="/proposals", tags=["proposals"], responses=problems(*KEYED))
ProposalId = Annotated[int, Path(ge=1, le=2_147_483_647, description="proposal id")]


def _scorer(state):
    def score(shape, capacity, target_group, floor_area):
        profile = profile_named(None, target_group)
        return score_location(state.snapshot.data(), shape, capacity, profile, floor_area=floor_area)

    return score


def _out(row: dict) -> dict:
    out = dict(row)
    out["location"] = rd_to_geojson(out.pop("geom"))
    return out


def _shape(body, state):
    if body.location is None:
        return None
    return location_to_rd(body.location.model_dump(exclude_none=True), body.crs, max_vertices=state.config.max_vertices)


@router.post(
    "",
    status_code=201,
    response_model=ProposalOut,
    summary="Submit a proposal (the inventory step)",
    responses=problems(400, 409, 413),
)
def create_proposal(body: ProposalCreate, who: Writer, state: State, conn: Connection):
    """Submit a proposal. Its location may wait until the plan of action; with a location and capacity it is
    scored at once. After the intake round's closing date, proposals are refused (409)."""
    shape = _shape(body, state)
    fields = body.model_dump(exclude={"location", "crs"}, exclude_none=True)
    proposal_id = service.create(conn, who, fields, shape, _scorer(state), state.settings.intake_closes)
    conn.commit()
    return _out(service.read(conn, proposal_id, who))


@router.get("", response_model=ProposalList, summary="List proposals (a municipality key sees its own)")
def list_proposals(
    who: Reader,
    state: State,
    conn: Connection,
    status: Status | None = None,
    municipality: MunicipalityCode | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    rows, total = service.listing(conn, who, status=status, municipality=municipality, limit=limit, offset=offset)
    return {"items": [_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get(
    "/{proposal_id}",
    response_model=ProposalOut,
    summary="A proposal with its score and history",
    responses=problems(404),
)
def get_proposal(proposal_id: ProposalId, who: Reader, conn: Connection):
    return _out(service.read(conn, proposal_id, who))


@router.patch(
    "/{proposal_id}",
    response_model=ProposalOut,
    summary="Change a proposal, its status or its dates",
    responses=problems(400, 404, 409, 413),
)
def patch_proposal(proposal_id: ProposalId, body: ProposalPatch, who: Writer, state: State, conn: Connection):
    """Change inventory fields, the location (until the agreement is signed), the status (coa/admin; a
    municipality may withdraw), the start and end dates, or extend the pilot (``extend_until`` with a ``note``).
    ``version`` must be the version you read: a stale one is refused with 409. Invalid transitions are refused
    with the reason."""
    shape = _shape(body, state)
    patch = body.model_dump(exclude={"location", "crs"}, exclude_unset=True)
    pipeline_changed = service.update(conn, who, proposal_id, patch, shape, _scorer(state))
    conn.commit()
    if pipeline_changed:
        state.snapshot.tasks_changed()
    return _out(service.read(conn, proposal_id, who))
