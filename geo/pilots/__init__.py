"""Pilots: choosing the portfolio of pilot locations.

- :mod:`geo.pilots.portfolio`: the portfolio itself, an integer programme (HiGHS) that picks up to k scored
  candidates of highest total score under constraints, and the comparison of two portfolios;
- :mod:`geo.pilots.provisional`: provisional candidates (one per municipality, labelled as such) for when no
  score runs are stored.
"""
