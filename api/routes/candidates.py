"""Candidate buildings with their score breakdown, as GeoJSON (``application/geo+json``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from api.deps import Reader, State
from api.errors import KEYED, problems
from api.models import BBOX_PATTERN, FeatureCollectionOut, MunicipalityCode, ProfileName, ProvinceCode
from api.responses import GEOJSON, GeoJSONResponse
from api.routes.score import profile_named
from geo.domain import WGS84
from geo.errors import NotFoundError, PermissionDenied
from geo.scope import parse_bbox
from geo.score import POINT_NOTE
from geo.score.monuments import MONUMENT_UNKNOWN_HINT
from geo.score.use import USE_UNKNOWN_HINT

router = APIRouter(prefix="/candidates", tags=["candidates"], responses=problems(*KEYED))
MAX_LIMIT = 1000
CandidateId = Annotated[str, Path(pattern=r"^[0-9A-Za-z._-]{1,20}$", description="candidate id (BAG pand id)")]
BBOX = Query(
    description="minlon,minlat,maxlon,maxlat in degrees (EPSG:4326), min <= max, longitude -180..180, latitude -90..90",
    pattern=BBOX_PATTERN,
)


def scope_for(who, municipality: str | None) -> str | None:
    """A municipality key sees its own municipality only."""
    if who.sees_all:
        return municipality
    if municipality and municipality != who.municipality_code:
        raise PermissionDenied(f"a municipality key sees candidates in {who.municipality_code} only")
    return who.municipality_code


@router.get(
    "",
    response_model=FeatureCollectionOut,
    response_class=GeoJSONResponse,
    summary="Scored candidate buildings, best first",
)
def list_candidates(
    who: Reader,
    state: State,
    municipality: MunicipalityCode | None = None,
    province: ProvinceCode | None = None,
    bbox: Annotated[str | None, BBOX] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)] = None,
    profile: ProfileName = "default",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}")] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    spread_per: Annotated[
        Literal["buurt", "wijk"] | None,
        Query(description="spread the shortlist: at most spread_most candidates per buurt or wijk"),
    ] = None,
    spread_most: Annotated[int, Query(ge=1, le=1000, description="with spread_per: candidates per area")] = 1,
):
    """Every candidate building scored with ``profile`` on the current data, filtered, ranked best first (score bands,
    then the profile's secondary criteria; excluded ones last). Each feature carries total, rank, band, components,
    use, shares, distances, the share of proximity weight on measurements, flags and the gap it closes."""
    box = None if bbox is None else parse_bbox(bbox, WGS84, name="bbox")
    table = state.snapshot.candidates(profile_named(profile))
    rows = table.select(
        municipality=scope_for(who, municipality),
        province=province,
        bbox=box,
        min_score=min_score,
        spread_per=spread_per,
        spread_most=spread_most,
    )
    notes = [POINT_NOTE]
    if table.use_unknown[rows].any():
        notes.append(f"{int(table.use_unknown[rows].sum()):,} of these candidates: {USE_UNKNOWN_HINT}")
    if table.monument_unknown[rows].any():
        notes.append(f"{int(table.monument_unknown[rows].sum()):,} of these candidates: {MONUMENT_UNKNOWN_HINT}")
    extra = {
        "numberMatched": len(rows),
        "numberReturned": len(rows[offset : offset + limit]),
        "profile": {"name": table.profile.name, "version": table.profile.version},
        "data_vintage": table.scores.data.vintage["id"],
        "ranking": {
            "band_width": table.profile.ranking.band_width,
            "secondary": [*table.profile.ranking.secondary, "id"],
            "spread": None if spread_per is None else {"per": spread_per, "most": spread_most},
        },
        "notes": notes,
    }
    return Response(table.collection(rows, offset, limit, extra), media_type=GEOJSON)


@router.get(
    "/{candidate_id}",
    response_class=GeoJSONResponse,
    summary="One candidate with its full explanation",
    responses=problems(404),
)
def get_candidate(candidate_id: CandidateId, who: Reader, state: State, profile: ProfileName = "default"):
    table = state.snapshot.candidates(profile_named(profile))
    i = table.row_of(candidate_id)
    if not who.sees_all and table.municipality[i] != who.municipality_code:
        raise NotFoundError(f"candidate {candidate_id} is not a scored candidate building")
    return GeoJSONResponse(
        {
            "type": "Feature",
            "id": candidate_id,
            "geometry": {"type": "Point", "coordinates": [round(table.lon[i], 7), round(table.lat[i], 7)]},
            "properties": {
                "id": candidate_id,
                "rank": int(table.frame["rank"].iat[i]),
                **table.explanation(candidate_id),
            },
        }
    )
