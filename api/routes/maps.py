"""The Folium maps as HTML pages (``GET /maps/...``), with the same access rules as the data behind them.

Each page is sent with the Content-Security-Policy it carries in its meta element (its own inline scripts and
styles by hash, images from the tile servers only), plus ``frame-ancestors 'none'``, which only a header can set.

Every role may see the overview (the placement task is the same table as ``GET /task``). A municipality key sees
the region map of its own municipality only, and only the proposals it may read through ``GET /proposals/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import Connection, Reader, State
from api.errors import KEYED, problems
from api.models import MunicipalityCode, ProfileName, ProvinceCode
from api.routes.candidates import scope_for
from api.routes.proposals import ProposalId
from geo import proposals


def _reference(state):
    from geo.monitoring.indicators import CostReference

    return CostReference.from_settings(state.settings)


def _page(html_text: str) -> HTMLResponse:
    """A map page with its CSP as a header (and nosniff); the page's own meta element says the same."""
    from geo.maps.document import page_policy

    headers = {
        "Content-Security-Policy": page_policy(html_text) + "; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(html_text, headers=headers)


REGION_URL = "/maps/region"  # the task panel links each municipality to its region map here
router = APIRouter(prefix="/maps", tags=["maps"], responses=problems(*KEYED))
Tiles = Annotated[
    Literal["osm", "brt", "luchtfoto", "none"],
    Query(description="background tiles shown first (osm, PDOK brt or luchtfoto; all selectable; need internet)"),
]
Lang = Annotated[Literal["nl", "en"], Query(description="labels: Dutch or English")]


@router.get("/overview", response_class=HTMLResponse, summary="Map: the placement task per municipality")
def overview(
    who: Reader,
    state: State,
    color: Literal["gap_per_1000", "share_realised"] = "gap_per_1000",
    tiles: Tiles = "osm",
    lang: Lang = "nl",
) -> HTMLResponse:
    """Provinces and municipalities coloured by the placement task, wijken with population, reception."""
    from geo.maps import overview_map

    period = state.settings.task_period
    return _page(
        overview_map(
            state.engine,
            colour=color,
            tiles=tiles,
            lang=lang,
            period=period,
            region_url=REGION_URL,
            who=who,
            cost_reference=_reference(state),
        )
    )


@router.get("/region", response_class=HTMLResponse, summary="Map: a region with services and scored candidates")
def region(
    who: Reader,
    state: State,
    province: ProvinceCode,
    municipality: Annotated[
        list[MunicipalityCode] | None,
        Query(description="one or more municipality codes (repeat the parameter); none: the whole province"),
    ] = None,
    profile: ProfileName = "default",
    tiles: Tiles = "osm",
    lang: Lang = "nl",
) -> HTMLResponse:
    """Municipal boundaries, wijken/buurten, reception, services per category and candidates coloured by score."""
    from geo.maps import region_map

    codes = [scope_for(who, code) for code in municipality] if municipality else [scope_for(who, None)]
    html_text = region_map(
        state.engine,
        province,
        municipality=[c for c in codes if c] or None,
        region_url=REGION_URL,
        profile=profile,
        tiles=tiles,
        lang=lang,
        data=state.snapshot.data(),
        period=state.settings.task_period,
        who=who,
        cost_reference=_reference(state),
    )
    return _page(html_text)


@router.get(
    "/proposals/{proposal_id}",
    response_class=HTMLResponse,
    summary="Map: one proposal and its score",
    responses=problems(404),
)
def proposal(
    proposal_id: ProposalId, who: Reader, state: State, conn: Connection, tiles: Tiles = "osm", lang: Lang = "nl"
) -> HTMLResponse:
    """The proposal with its nearest service per category, 500 m / 1 km circles, its buurt and wijk."""
    from geo.maps import proposal_map

    proposals.read(conn, proposal_id, who)  # not visible to this key: 404, as GET /proposals/{id}
    return _page(proposal_map(state.engine, proposal_id, tiles=tiles, lang=lang, data=state.snapshot.data()))
