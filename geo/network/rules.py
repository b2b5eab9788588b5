"""The walking rules, decided once: which OSM ways a pedestrian may use and what a ferry costs.

Costs are metres of walking. A ferry crossing costs its time (the ``duration`` tag, else its length at
:data:`FERRY_SPEED_KMH`) plus a wait of :data:`FERRY_WAIT_S`, converted to metres at
:data:`WALKING_SPEED_KMH`. Pedestrians may walk every way in both directions (``oneway`` binds vehicles).
"""

from __future__ import annotations

import re

# Ways a pedestrian may use unless foot/access tags say otherwise.
WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "track",
        "cycleway",
        "bridleway",
        "corridor",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
    }
)
# Never walkable, whatever their tags (motorways and trunk roads; pedestrians are not allowed on them).
NEVER_WALKABLE = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
ALLOWED = frozenset({"yes", "designated", "permissive", "official", "destination"})
FORBIDDEN = frozenset({"no", "private", "use_sidepath"})  # use_sidepath: walk the sidewalk

WALKING_SPEED_KMH = 5.0  # assumed walking speed for minutes <-> metres (walking areas, ferry costs)
FERRY_SPEED_KMH = 10.0  # a ferry without a duration tag
FERRY_WAIT_S = 300.0  # expected wait at the landing: half of a 10-minute headway

# Snapping locations and services to the network (metres, straight line to the nearest walkable edge).
SNAP_FLAG_M = 50.0  # a location farther than this from the network is flagged (the snap is still added)
SNAP_MAX_M = 500.0  # farther than this: outside the network's extent, the straight line is used (flagged)


def walk_metres(seconds: float) -> float:
    """Metres walked in ``seconds`` at :data:`WALKING_SPEED_KMH`."""
    return seconds * WALKING_SPEED_KMH / 3.6


def walkable(tags) -> str | None:
    """The edge kind of a way a pedestrian may use (its ``highway`` value, or ``"ferry"``), else None.

    ``tags`` is a mapping (OSM tags). ``foot=*`` decides first (yes/designated/permissive allow, no/private
    forbid), then ``access=*`` (no/private forbid). Motorways and trunk roads never count.
    """
    highway = tags.get("highway")
    foot = tags.get("foot")
    if tags.get("route") == "ferry" and highway is None:
        return None if foot in FORBIDDEN else "ferry"
    if highway is None or highway in NEVER_WALKABLE or highway not in WALKABLE_HIGHWAYS:
        return None
    if tags.get("area") == "yes" and highway not in {"pedestrian", "footway"}:
        return None  # an area (e.g. a service yard outline) is not a way along which one walks
    if foot in ALLOWED:
        return highway
    if foot in FORBIDDEN or tags.get("access") in {"no", "private"}:
        return None
    return highway


def ferry_cost_m(length_m: float, duration: str | None) -> float:
    """The walking-equivalent metres of a ferry crossing ``length_m`` long (OSM ``duration`` if valid)."""
    seconds = _duration_s(duration)
    if seconds is None:
        seconds = length_m / (FERRY_SPEED_KMH / 3.6)
    return walk_metres(seconds + FERRY_WAIT_S)


def _duration_s(text: str | None) -> float | None:
    """OSM ``duration``: ``mm``, ``hh:mm`` or ``hh:mm:ss``; None when absent or not understood."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)(?::(\d{1,2}))?(?::(\d{1,2}))?\s*", text)
    if not match:
        return None
    parts = [int(p) for p in match.groups() if p is not None]
    if len(parts) == 1:
        return parts[0] * 60.0
    if len(parts) == 2:
        return parts[0] * 3600.0 + parts[1] * 60.0
    return parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
