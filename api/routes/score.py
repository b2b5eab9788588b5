"""POST /score: score a location at once; nothing is stored."""

from __future__ import annotations

from functools import lru_cache

import orjson
from fastapi import APIRouter, Response

from api.deps import Reader, State
from api.errors import KEYED, problems
from api.geometry import location_to_rd
from api.models import ScoreRequest, ScoreResult
from geo.errors import InputError
from geo.score import available_profiles, load_profile, profile_for_group

router = APIRouter(tags=["score"], responses=problems(*KEYED, 400, 413))


@lru_cache(maxsize=32)
def profile_named(name: str | None, target_group: str | None = None):
    """The profile to score with: the named one, else the target group's (read once per process)."""
    if name is None:
        return profile_for_group(target_group)
    if name not in available_profiles():
        raise InputError(f"unknown profile {name!r}; choose one of {', '.join(available_profiles())}")
    return load_profile(name)


@router.post("/score", response_model=ScoreResult, summary="Score a location (nothing is stored)")
async def score(request: ScoreRequest, who: Reader, state: State):
    """The score of a location for a capacity and target group: every component, the raw measures (nearest service
    per category with name and distance, population shares per level, the gap it closes), flags, the profile
    version and the data vintage."""
    shape = location_to_rd(
        request.location.model_dump(exclude_none=True), request.crs, max_vertices=state.config.max_vertices
    )
    profile = profile_named(request.profile, request.target_group)
    result = await state.batcher.score(shape, request.capacity, profile, request.floor_area)
    return Response(orjson.dumps(result), media_type="application/json")
