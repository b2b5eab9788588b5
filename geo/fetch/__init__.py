"""Fetch fresh open data for a region: PDOK (BAG, CBS, bestuurlijke gebieden, Locatieserver) and OSM.

Every download goes through one cached, polite HTTP client (:mod:`geo.fetch.http`), is written as a
file to the cache folder and loaded through the same validated, atomic path as ``opvangmatch load``.
"""
