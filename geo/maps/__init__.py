"""Interactive Folium maps for regional managers: task overview, region with candidates, one proposal.

Each builder returns self-contained HTML (Leaflet and plugins inlined from ``geo/maps/static``), so a map
written to a file opens without internet; only background tiles (``tiles='osm'``) need it.
"""

from geo.maps.overview import overview_map
from geo.maps.proposal import location_map, proposal_map
from geo.maps.region import region_map

__all__ = ["location_map", "overview_map", "proposal_map", "region_map"]
