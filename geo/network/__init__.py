"""Walking distances over the street network (DESIGN.md 4c).

- :mod:`geo.network.rules`: which OSM ways a pedestrian may use, ferry costs, walking speed, snap limits;
- :mod:`geo.network.osm`: OSM extracts (PBF, XML, gzip) -> nodes and edges for PostGIS (pgRouting layout);
- :mod:`geo.network.graph`: the network read back into memory, snapping points to it;
- :mod:`geo.network.measure`: nearest service and counts along the network for many locations at once;
- :mod:`geo.network.reference`: the same distances with pgRouting in SQL (the reference path);
- :mod:`geo.network.walk`: routes and walking areas (isochrones) for maps.
"""
