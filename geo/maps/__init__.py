"""Interactive Folium maps for regional managers: task overview, region with candidates, one proposal.

Each builder returns self-contained HTML (Leaflet and plugins inlined from ``geo/maps/static``), so a map
written to a file opens without internet; only background tiles (``tiles='osm'``) need it.

The builders are imported on first use (PEP 562), so a module that needs only ``geo.maps.labels`` (the task's
coverage notes, say) does not pay for Folium and the map templates.
"""

from __future__ import annotations

import importlib

_BUILDERS = {
    "location_map": "geo.maps.proposal",
    "overview_map": "geo.maps.overview",
    "proposal_map": "geo.maps.proposal",
    "region_map": "geo.maps.region",
}

__all__ = sorted(_BUILDERS)


def __getattr__(name: str):
    if name in _BUILDERS:
        return getattr(importlib.import_module(_BUILDERS[name]), name)
    raise AttributeError(f"module 'geo.maps' has no attribute {name!r}")
