"""Scoring: proportional fit, proximity to services, task contribution and rules, per target group.

One implementation serves the CLI, the API, the maps and the notebooks:

- :func:`score_location`: one location (point or polygon), capacity and profile -> explanation;
- :func:`score_candidates`: every candidate building in a scope, ranked (and stored as a run).
"""

from __future__ import annotations

import numpy as np
import shapely

from geo.domain import NL_BOUNDS_RD
from geo.errors import InputError, OutsideError
from geo.score.data import ScoringData
from geo.score.explain import POINT_NOTE, explain, summary_lines
from geo.score.grade import grade
from geo.score.network import measure_with_network
from geo.score.profile import TARGET_GROUPS, Profile, available_profiles, load_profile, profile_for_group
from geo.score.runs import CandidateScores, best_target_group, read_run, score_candidates, store_run

MAX_CAPACITY = 10_000


def check_location(geometry: shapely.Geometry, capacity: int) -> shapely.Point:
    """Validate a location (EPSG:28992) and capacity; returns the point it is measured from."""
    if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer):
        raise InputError(f"capacity must be a whole number of places, got {capacity!r}")
    if capacity <= 0:
        raise InputError(f"capacity must be at least 1 place, got {capacity}")
    if capacity > MAX_CAPACITY:
        raise InputError(f"capacity {capacity} is not plausible (over {MAX_CAPACITY:,} places)")
    if geometry is None or shapely.is_empty(geometry):
        raise InputError("the location geometry is empty")
    if geometry.geom_type not in {"Point", "Polygon", "MultiPolygon"}:
        raise InputError(f"the location must be a Point, Polygon or MultiPolygon, not a {geometry.geom_type}")
    if not np.isfinite(shapely.get_coordinates(geometry)).all():
        raise InputError("the location has coordinates that are not finite numbers")
    if not shapely.is_valid(geometry):
        raise InputError(f"the location geometry is invalid: {shapely.is_valid_reason(geometry)}")
    xmin, ymin, xmax, ymax = NL_BOUNDS_RD
    bx0, by0, bx1, by1 = geometry.bounds
    if bx0 < xmin or by0 < ymin or bx1 > xmax or by1 > ymax:
        raise InputError("the location lies outside the Netherlands")
    return geometry if geometry.geom_type == "Point" else shapely.point_on_surface(geometry)


def require_inside(data: ScoringData, graded_or_index, xy: np.ndarray) -> list[OutsideError | None]:
    """For each location: ``None`` when it lies in a Dutch municipality, else the :class:`OutsideError` to raise
    (the locate rule is :func:`geo.score.data.in_netherlands`; this only words its answer)."""
    municipality = np.asarray(graded_or_index)
    abroad = data.abroad.contains(np.asarray(xy).reshape(-1, 2)) if data.abroad is not None else None
    out: list[OutsideError | None] = []
    for i, index in enumerate(municipality):
        if index >= 0:
            out.append(None)
        elif abroad is not None and abroad[i]:
            out.append(OutsideError("the location lies abroad: in territory CBS codes as 'Buitenland' (WK099899)"))
        else:
            out.append(OutsideError("the location lies outside the Netherlands: in no Dutch municipality"))
    return out


def score_location(
    data: ScoringData, geometry: shapely.Geometry, capacity: int, profile: Profile, *, floor_area: float | None = None
) -> dict:
    """Score one location (EPSG:28992 geometry) and explain it item by item."""
    point = check_location(geometry, capacity)
    measures = measure_with_network(
        data, np.array([[point.x, point.y]]), list(profile.categories), profile.network_categories
    )
    (outside,) = require_inside(data, measures.area_index["municipality"], measures.xy)
    if outside is not None:
        raise outside
    graded = grade(
        data, measures, np.array([capacity]), profile, floor_area=None if floor_area is None else np.array([floor_area])
    )
    result = explain(graded, 0, data)
    if geometry.geom_type != "Point":
        result["notes"].append(POINT_NOTE.replace("buildings are", "a polygon is"))
    result["measured_from"] = {"x": round(point.x, 3), "y": round(point.y, 3), "crs": "EPSG:28992"}
    return result


__all__ = [
    "TARGET_GROUPS",
    "CandidateScores",
    "Profile",
    "ScoringData",
    "available_profiles",
    "best_target_group",
    "check_location",
    "explain",
    "load_profile",
    "profile_for_group",
    "read_run",
    "require_inside",
    "score_candidates",
    "score_location",
    "store_run",
    "summary_lines",
]
