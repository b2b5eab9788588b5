"""The monument flag: a candidate pand that is a rijksmonument, or whose monument status is unknown.

A pand is a monument where a loaded monument point (RCE *Rijksmonumentpunten*) lies on its footprint, or its
representative point lies in a monument contour (*Rijksmonumentcontouren*). Where no pand-level hit is found, it
is known not to be a monument only where a loaded monument layer declares ``complete`` coverage of its
municipality (or province, or NL); everywhere else its status is unknown, flagged, never "not a monument".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo.io import declared_coverage
from geo.io.monuments import CATEGORY

MONUMENT_UNKNOWN_HINT = (
    "monument status unknown: no rijksmonumenten layer declares complete coverage of these panden's area, so a "
    "pand without a monument there is not known to be no monument; load RCE's rijksmonumenten (points or contours) "
    "with 'opvangmatch load monuments FILE --coverage complete:AREA'"
)
HITS = """
    SELECT DISTINCT b.id FROM monument m JOIN building b ON ST_Intersects(b.geom, m.geom)
    WHERE ST_Dimension(m.geom) = 0 OR ST_Intersects(m.geom, b.point)"""
DECLARED = """
    SELECT d.coverage FROM dataset d WHERE d.source IN (SELECT DISTINCT source FROM monument)"""
AREAS = """
    SELECT b.id, mu.code, mp.province_code FROM building b
    JOIN municipality mu ON ST_Intersects(mu.geom, b.point)
    LEFT JOIN municipality_province mp ON mp.municipality_code = mu.code
    WHERE b.id = ANY(:ids)"""


def monument_flags(engine: Engine, ids: pd.Series) -> dict[str, np.ndarray]:
    """``monument`` and ``monument_status_unknown`` masks for the candidate panden ``ids`` (in their order)."""
    ids = ids.astype(str)
    keys = ids.tolist()
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM monument)")).scalar_one():
            none = np.zeros(len(ids), dtype=bool)
            return {"monument": none, "monument_status_unknown": ~none}
        complete = {
            area
            for (coverage,) in conn.execute(sa.text(DECLARED))
            for area, kind in declared_coverage(coverage, CATEGORY).items()
            if kind == "complete"
        }
        hits = {row[0] for row in conn.execute(sa.text(HITS))}
        covered = np.zeros(len(ids), dtype=bool)
        if "NL" in complete:
            covered[:] = True
        elif complete and keys:
            areas = {i: (m, p) for i, m, p in conn.execute(sa.text(AREAS), {"ids": keys})}
            covered = np.array([bool(set(areas.get(i, ())) & complete) for i in keys], dtype=bool)
    monument = ids.isin(hits).to_numpy()
    return {"monument": monument, "monument_status_unknown": ~monument & ~covered}
