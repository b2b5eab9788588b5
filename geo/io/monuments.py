"""Rijksmonumenten of the Rijksdienst voor het Cultureel Erfgoed (RCE), for the candidates' monument flag.

RCE publishes the register's locations as two layers (WFS/WMS, described in the Nationaal Georegister; also on
PDOK): *Rijksmonumentpunten* (a point for as many monuments as possible, not all of them accurate) and
*Rijksmonumentcontouren* (a polygon where the contour is fixed by decision; only part of the monuments). Each
feature carries the monument number (``rijksmonumentnummer``; ``rijksmonum`` in the shapefile/GeoPackage
exports, whose field names are cut to 10 characters) and, for monuments in an ensemble, the complex number
(``complexnummer``/``complex_nu``). Both layers are EPSG:28992.

A file of either layer (GeoPackage, GeoJSON, shapefile, zip) is read here; a pand is a monument where a point
lies on its footprint or its representative point lies in a contour (:mod:`geo.score.monuments`). What the file
covers is declared with ``--coverage`` as for service layers; undeclared it is ``partial:NL`` (a pand without a
monument then has an *unknown* status, never "not a monument").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.errors import DataError
from geo.io._read import (
    check_unique,
    clean_geometries,
    feature_label,
    read_vector,
    require_columns,
    to_rd,
    year_from_name,
)
from geo.io.write import Prepared
from geo.models import Monument

NUMBER = ("rijksmonumentnummer", "rijksmonument_nummer", "rijksmonum", "monumentnummer", "monument_nummer")
COMPLEX = ("complexnummer", "complex_nummer", "complex_nu")
NAME = ("hoofdcategorie", "omschrijving", "naam", "hoofdcateg")
CATEGORY = "monument"
"""The key under which a monument layer's coverage is stored (``dataset.coverage``)."""


def load_monuments(path, *, year=None, crs=None, where=None, layer=None) -> Prepared:
    """A file of RCE's rijksmonument points or contours as ``monument`` rows (number, complex, location)."""
    frame = to_rd(path, read_vector(path, layer=layer, where=where), assume_crs=crs)
    lowered = frame.rename(columns={c: c.lower() for c in frame.columns if c != "geometry"})
    number_col = require_columns(path, lowered, NUMBER)[0]
    numbers = pd.to_numeric(lowered[number_col], errors="coerce")  # shapefile exports store it as a float
    bad = numbers.isna() | (numbers <= 0) | (numbers % 1 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            path,
            f"not a rijksmonument number: {lowered[number_col].iloc[i]!r} (a positive whole number)",
            row=feature_label("monument", i + 1),
            field=number_col,
        )
    ids = numbers.astype("int64").astype(str).reset_index(drop=True)
    check_unique(path, ids, field=number_col, label="monument")
    geoms = _geometries(path, lowered, ids)
    complex_col = next((c for c in COMPLEX if c in lowered.columns), None)
    name_col = next((c for c in NAME if c in lowered.columns), None)
    complexes = pd.to_numeric(lowered[complex_col], errors="coerce") if complex_col else None
    out = pd.DataFrame(
        {
            "id": ids,
            "complex_number": (
                complexes.astype("Int64").astype("string").reset_index(drop=True) if complexes is not None else None
            ),
            "name": lowered[name_col].astype("string").reset_index(drop=True) if name_col else None,
            "geom": geoms,
        }
    )
    kinds = pd.Series(shapely.get_type_id(geoms)).map({0: "points", 6: "contours"}).value_counts()
    notes = [", ".join(f"{n:,} {kind}" for kind, n in kinds.items())]
    return Prepared("monuments", Monument, out, year if year is not None else year_from_name(path), 0, 0, notes)


def _geometries(path, frame, ids: pd.Series) -> np.ndarray:
    """Points stay points; polygons are repaired as in every loader; anything else is refused, named."""
    geoms = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    types = shapely.get_type_id(geoms)
    if not len(geoms):
        raise DataError(path, "the file holds no monuments")
    points = types == 0
    out = np.empty(len(geoms), dtype=object)
    if points.any():
        out[points], _ = clean_geometries(
            path, frame[points], kind="point", ids=ids[points].reset_index(drop=True), label="monument"
        )
    if (~points).any():
        out[~points], _ = clean_geometries(
            path, frame[~points], kind="polygon", ids=ids[~points].reset_index(drop=True), label="monument"
        )
    return out
