"""BAG (Basisregistratie Adressen en Gebouwen): panden and verblijfsobjecten.

Reads the official LV-BAG extract (XML, or the zip that holds its parts) through GDAL's LVBAG
driver, or a GeoPackage/GeoJSON with the same field names (``identificatie``, ``status``,
``oorspronkelijkBouwjaar``...). Only current voorkomens are kept: no ``eindGeldigheid``, no
``eindRegistratie`` and not inactive. Objects whose status says they no longer or never existed
(:data:`GONE_STATUSES`: demolished, never built, withdrawn, registered in error) are left out, and
counted per status in the load report.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import DataError
from geo.io._read import (
    check_unique,
    clean_geometries,
    read_table,
    read_vector,
    require_columns,
    to_rd,
    year_from_name,
)
from geo.io.write import Prepared
from geo.models import Building, Residence

UNKNOWN_BUILD_YEAR = 9999
PAND_REF_COLUMNS = ("pandRef", "pand_identificatie", "pand.href")  # LV-BAG, BAG GeoPackage, PDOK OGC API
BAG_ID = re.compile(r"\d{16}")
# BAG 2.0 status values (Catalogus BAG 2018; as in LV-BAG extracts and PDOK's BAG OGC API v2) of
# objects that do not stand: they add no floor area and are no candidates.
GONE_STATUSES = {
    "buildings": ("Pand gesloopt", "Niet gerealiseerd pand", "Pand ten onrechte opgevoerd"),
    "residences": (
        "Verblijfsobject ingetrokken",
        "Niet gerealiseerd verblijfsobject",
        "Verblijfsobject ten onrechte opgevoerd",
    ),
}


def _bag_id(values: pd.Series) -> pd.Series:
    """``NL.IMBAG.Pand.0221100000311191`` or an OGC API link ``.../pand/items/0221100000311191``
    -> ``0221100000311191``."""
    return (
        values.astype("string")
        .str.strip()
        .str.replace(r"^NL\.IMBAG\.\w+\.", "", regex=True)
        .str.replace(r"[?#].*$", "", regex=True)
        .str.replace(r"^https?://.*/", "", regex=True)
    )


def _standing(frame: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, str | None, int]:
    """Leave out objects whose status is in :data:`GONE_STATUSES`; (kept, note, count left out)."""
    if "status" not in frame.columns:
        return frame, None, 0
    gone = {s.lower() for s in GONE_STATUSES[kind]}
    status = frame["status"].astype("string").str.strip()
    mask = status.str.lower().isin(gone).fillna(False).astype(bool)
    if not mask.any():
        return frame, None, 0
    counts = status[mask].value_counts()
    note = f"left out {int(mask.sum()):,} that no longer or never stood: " + ", ".join(
        f"{name} {n:,}" for name, n in counts.items()
    )
    return frame[~mask].reset_index(drop=True), note, int(mask.sum())


def _current(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    mask = pd.Series(True, index=frame.index)
    for col in ("eindGeldigheid", "eindRegistratie", "tijdstipInactief"):
        if col in frame.columns:
            mask &= frame[col].isna()
    return frame[mask].reset_index(drop=True), int((~mask).sum())


def load_buildings(path: Path, *, year=None, crs=None, where=None, layer=None) -> Prepared:
    frame = to_rd(path, read_vector(path, layer=layer, where=where), assume_crs=crs)
    require_columns(path, frame, "identificatie")
    frame, history = _current(frame)
    frame, gone_note, gone = _standing(frame, "buildings")
    ids = _bag_id(frame["identificatie"])
    check_unique(path, ids, field="identificatie")
    geoms, repairs = clean_geometries(path, frame, kind="polygon", ids=ids)
    build_year = pd.to_numeric(frame.get("oorspronkelijkBouwjaar", frame.get("bouwjaar")), errors="coerce")
    if build_year is not None:
        build_year = build_year.mask(build_year == UNKNOWN_BUILD_YEAR).astype("Int64")
    out = pd.DataFrame(
        {
            "id": ids,
            "status": frame["status"].astype("string") if "status" in frame else None,
            "build_year": build_year,
            "geom": geoms,
            "point": shapely.point_on_surface(geoms),
        }
    )
    notes = ["representative point: shapely point_on_surface of the footprint"]
    if gone_note:
        notes.insert(0, gone_note)
    if history:
        notes.insert(0, f"kept {len(out) + gone:,} current voorkomens, skipped {history:,} historic ones")
    return Prepared(
        "buildings",
        Building,
        out,
        year if year is not None else year_from_name(path),
        repairs,
        history + gone,
        notes,
        geometry_columns=("geom", "point"),
    )


def load_residences(path: Path, *, year=None, crs=None, where=None, layer=None) -> Prepared:
    """Verblijfsobjecten: ``gebruiksdoel`` (list) and ``oppervlakte`` (m2), linked to their panden by
    ``pandRef`` (LV-BAG), ``pand_identificatie`` or ``pand.href`` (PDOK's OGC API); or NLExtract's "adres plus"
    CSV (:func:`read_adresplus`)."""
    skipped_notes: list[str] = []
    if Path(path).suffix.lower() in (".csv", ".txt"):
        frame, skipped_notes = read_adresplus(path)
    else:
        frame = to_rd(path, read_vector(path, layer=layer, where=where), assume_crs=crs)
    _, pand_col, _, _ = require_columns(path, frame, "identificatie", PAND_REF_COLUMNS, "gebruiksdoel", "oppervlakte")
    frame, history = _current(frame)
    frame, gone_note, gone = _standing(frame, "residences")
    ids = _bag_id(frame["identificatie"])
    check_unique(path, ids, field="identificatie")

    def as_list(value) -> list[str]:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return []
        if isinstance(value, list | tuple | np.ndarray):
            return [str(v) for v in value]
        return [part for part in str(value).strip("{}()[]").replace('"', "").split(",") if part]

    refs = frame[pand_col]
    for other in PAND_REF_COLUMNS:
        if other in frame.columns and other != pand_col:
            refs = refs.where(refs.notna(), frame[other])
    pand_refs = refs.map(as_list).map(lambda refs: [_bag_id(pd.Series([r])).iloc[0] for r in refs])
    _check_pand_refs(path, pand_refs, ids, field=pand_col)
    uses = frame["gebruiksdoel"].map(as_list).map(lambda u: ",".join(sorted(u)) or None)
    area = pd.to_numeric(frame["oppervlakte"], errors="coerce")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if len(geoms) and not shapely.is_missing(geoms).all():
        present = ~shapely.is_missing(geoms)
        points, _ = clean_geometries(path, frame[present], kind="point", ids=ids[present])
        geoms = geoms.copy()
        geoms[present] = points
    out = pd.DataFrame(
        {
            "id": ids,
            "building_ids": pand_refs,
            "use": uses,
            "floor_area": area,
            "status": frame["status"].astype("string"),
            "geom": geoms,
        }
    )
    notes = [f"kept {len(out) + gone:,} current voorkomens, skipped {history:,} historic ones", *skipped_notes]
    if gone_note:
        notes.append(gone_note)
    unlinked = int((out["building_ids"].map(len) == 0).sum())
    if unlinked:
        notes.append(f"{unlinked:,} without a pand link (their floor area is counted for no building)")
    year = year if year is not None else year_from_name(path)
    return Prepared("residences", Residence, out, year, 0, history + gone, notes)


def _check_pand_refs(path: Path, refs: pd.Series, ids: pd.Series, *, field: str) -> None:
    """Every pand reference must be a 16-digit BAG identificatie (not a PDOK feature UUID)."""
    for i, values in enumerate(refs):
        bad = next((v for v in values if not BAG_ID.fullmatch(str(v))), None)
        if bad is not None:
            hint = (
                "a PDOK OGC API feature id (UUID), not a BAG identificatie; 'opvangmatch fetch bag' maps "
                "these links through the panden of the same fetch"
                if len(bad) == 36 and bad.count("-") == 4
                else "not a 16-digit BAG pand identificatie"
            )
            raise DataError(
                path, f"pand reference {bad!r} is {hint}", row=f"feature {i + 1} ({ids.iloc[i]})", field=field
            )


ADRESPLUS_USE_FLAGS = {
    "woonfunctie": "woonfunctie",
    "bijeenkomstfunctie": "bijeenkomstfunctie",
    "celfunctie": "celfunctie",
    "gezondheidszorgfunctie": "gezondheidszorgfunctie",
    "industriefunctie": "industriefunctie",
    "kantoorfunctie": "kantoorfunctie",
    "logiesfunctie": "logiesfunctie",
    "onderwijsfunctie": "onderwijsfunctie",
    "sportfunctie": "sportfunctie",
    "winkelfunctie": "winkelfunctie",
    "overige_gebruiksfunctie": "overige gebruiksfunctie",
}
"""NLExtract "adres plus" flag column -> BAG gebruiksdoel."""


def read_adresplus(path: Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """NLExtract's "adres plus" CSV (``;``-separated, one row per address) as verblijfsobjecten in the fields of an
    LV-BAG extract (``identificatie, pand_identificatie, gebruiksdoel, oppervlakte, status``, RD points).

    Ligplaatsen and standplaatsen (no pand) are left out and counted; an object with several addresses (nevenadres)
    is one verblijfsobject. Use flags must be 0 or 1 and ``x``/``y`` RD metres, else a :class:`DataError` names the
    row and field."""
    table = read_table(path, sep=";")
    require_columns(
        path,
        table,
        "adresseerbaarobject_id",
        "typeadresseerbaarobject",
        "pand_id",
        "x",
        "y",
        "opp_adresseerbaarobject_m2",
        "adresseerbaarobject_status",
        *ADRESPLUS_USE_FLAGS,
    )
    kind = table["typeadresseerbaarobject"].str.strip()
    keep = kind.str.lower() == "verblijfsobject"
    notes = []
    if (~keep).any():
        counts = kind[~keep].value_counts()
        notes.append(
            "left out addresses of other objects than verblijfsobjecten (no pand): "
            + ", ".join(f"{k or '(empty)'} {n:,}" for k, n in counts.items())
        )
    table = table[keep]
    for column in ADRESPLUS_USE_FLAGS:
        bad = ~table[column].str.strip().isin(["0", "1"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                path,
                f"use flag must be 0 or 1, got {table[column].iloc[i]!r}",
                row=int(table.index[i]) + 2,
                field=column,
            )
    for column in ("x", "y"):
        values = pd.to_numeric(table[column].str.strip(), errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(path, f"not a number: {table[column].iloc[i]!r}", row=int(table.index[i]) + 2, field=column)
    uses = [
        [use for column, use in ADRESPLUS_USE_FLAGS.items() if row[column].strip() == "1"]
        for _, row in table[list(ADRESPLUS_USE_FLAGS)].iterrows()
    ]
    frame = pd.DataFrame(
        {
            "identificatie": table["adresseerbaarobject_id"].str.strip(),
            "pand_identificatie": table["pand_id"].str.strip().map(lambda p: [p] if p else []),
            "gebruiksdoel": uses,
            "oppervlakte": pd.to_numeric(table["opp_adresseerbaarobject_m2"].str.strip(), errors="coerce"),
            "status": table["adresseerbaarobject_status"].str.strip(),
            "x": pd.to_numeric(table["x"].str.strip()),
            "y": pd.to_numeric(table["y"].str.strip()),
        }
    )
    # One row per address: a verblijfsobject with nevenadressen repeats; its pand links are united.
    first = frame.drop_duplicates("identificatie").set_index("identificatie")
    first["pand_identificatie"] = frame.groupby("identificatie")["pand_identificatie"].agg(
        lambda refs: sorted({r for rs in refs for r in rs})
    )
    first = first.reset_index()
    geometry = gpd.points_from_xy(first["x"], first["y"], crs="EPSG:28992")
    out = gpd.GeoDataFrame(first.drop(columns=["x", "y"]), geometry=geometry, crs="EPSG:28992")
    return out, notes
