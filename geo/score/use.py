"""Building use from BAG verblijfsobjecten: per pand its use mix, usable floor area, units and unit status.

One rule, used by the engine (:func:`building_use`, pandas) and mirrored in SQL by
:func:`geo.score.reference.reference_building_use` (the tests require both to agree):

* a verblijfsobject's floor area (``oppervlakte``) is split equally over the panden it lies in (BAG links a unit to
  every pand it touches; the register does not say how much lies in each);
* inside a pand, a unit with several uses (gebruiksdoelen) counts its area equally for each use;
* the use mix is the share of the pand's unit floor area per use; units without a floor area then count one each
  (only where no unit of the pand has a floor area, so that the mix is never empty when units are known);
* a pand with no linked unit has use "unknown" (its columns are NaN / 0), never a use of its own.

Examples
--------
>>> import pandas as pd
>>> units = pd.DataFrame({"id": ["v1", "v2"], "building_ids": [["p1"], ["p1"]],
...                       "use": ["kantoorfunctie", "woonfunctie"], "floor_area": [300.0, 100.0],
...                       "status": ["Verblijfsobject in gebruik"] * 2})
>>> building_use(units).loc["p1", ["units", "usable_floor_area", "use_kantoorfunctie", "use_woonfunctie"]].tolist()
[2.0, 400.0, 0.75, 0.25]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

USES = (
    "woonfunctie",
    "bijeenkomstfunctie",
    "celfunctie",
    "gezondheidszorgfunctie",
    "industriefunctie",
    "kantoorfunctie",
    "logiesfunctie",
    "onderwijsfunctie",
    "sportfunctie",
    "winkelfunctie",
    "overige gebruiksfunctie",
)
"""The eleven BAG gebruiksdoelen (Catalogus BAG 2018), as LV-BAG and PDOK spell them."""

UNIT_OUT_OF_USE = "Verblijfsobject buiten gebruik"
USE_UNKNOWN_HINT = (
    "use unknown: no BAG verblijfsobjecten are loaded for these panden, so their use (gebruiksdoel), usable floor "
    "area and units are not known and capacity comes from the footprint; load them with 'opvangmatch load "
    "residences <LV-BAG verblijfsobject extract, GeoPackage or NLExtract adresplus CSV>' or 'opvangmatch fetch bag'"
)
"""What every surface (CLI, map legend, API) says where the use is unknown, and how to load it."""
USE_COLUMNS = tuple(f"use_{u.replace(' ', '_')}" for u in USES)
COLUMNS = ("units", "units_out_of_use", "usable_floor_area", "use_mix", *USE_COLUMNS)


def use_column(use: str) -> str:
    """``overige gebruiksfunctie`` -> ``use_overige_gebruiksfunctie``."""
    return f"use_{use.replace(' ', '_')}"


def normalise_use(text: str) -> str:
    """``Kantoorfunctie`` / ``overige_gebruiksfunctie`` -> the BAG spelling in :data:`USES` (unknown text kept)."""
    return " ".join(str(text).strip().lower().replace("_", " ").split())


def building_use(units: pd.DataFrame) -> pd.DataFrame:
    """Per pand (index: pand id) the columns of :data:`COLUMNS` from verblijfsobjecten with ``id, building_ids
    (list), use (comma-separated), floor_area, status``; panden without units are absent (use unknown)."""
    if units.empty:
        return pd.DataFrame(columns=list(COLUMNS), index=pd.Index([], name="building_id"))
    links = units[["id", "building_ids", "use", "floor_area", "status"]].copy()
    links["n_panden"] = links["building_ids"].map(len)
    links = links[links["n_panden"] > 0].explode("building_ids").rename(columns={"building_ids": "building_id"})
    area = pd.to_numeric(links["floor_area"], errors="coerce")
    links["area"] = np.where(np.isfinite(area) & (area > 0), area / links["n_panden"], np.nan)
    links["out"] = (links["status"].astype("string").str.strip() == UNIT_OUT_OF_USE).fillna(False).astype(int)
    per = links.groupby("building_id", sort=True)
    out = pd.DataFrame(
        {
            "units": per["id"].nunique().astype(np.int64),
            "units_out_of_use": per["out"].sum().astype(np.int64),
            "usable_floor_area": per["area"].sum(min_count=1),
        }
    )
    # Use shares: each unit's area (or, in a pand without any unit area, one per unit) split over its uses.
    has_area = per["area"].transform(lambda a: a.notna().any())
    weight = np.where(has_area, links["area"].fillna(0.0), 1.0)
    uses = links["use"].fillna("").astype(str).str.split(",")
    links = links.assign(weight=weight, uses=uses.map(lambda u: [normalise_use(x) for x in u if x.strip()]))
    links["n_uses"] = links["uses"].map(len)
    split = links[links["n_uses"] > 0].explode("uses")
    split = split.assign(weight=split["weight"] / split["n_uses"])
    table = split.pivot_table(index="building_id", columns="uses", values="weight", aggfunc="sum", fill_value=0.0)
    total = table.sum(axis=1)
    shares = table.div(total.where(total > 0), axis=0)
    for use in USES:
        out[use_column(use)] = (
            shares[use].reindex(out.index) if use in shares else np.where(out.index.isin(shares.index), 0.0, np.nan)
        )
    out["use_mix"] = _mix_text(shares).reindex(out.index)
    return out[list(COLUMNS)]


def _mix_text(shares: pd.DataFrame) -> pd.Series:
    """``kantoorfunctie 75%, woonfunctie 25%`` per pand (largest first; other uses than :data:`USES` included)."""
    long = shares.stack()
    long = long[long > 0].reset_index()
    long.columns = ["building_id", "use", "share"]
    long = long.sort_values(["building_id", "share", "use"], ascending=[True, False, True])
    long["text"] = long["use"] + " " + (long["share"] * 100).round().astype(int).astype(str) + "%"
    return long.groupby("building_id")["text"].agg(", ".join)


def accepted_share(frame: pd.DataFrame, accepted: tuple[str, ...]) -> np.ndarray:
    """Share of each pand's unit floor area in ``accepted`` uses (NaN where the use is unknown)."""
    known = frame["units"].to_numpy(dtype=float) > 0 if "units" in frame else np.zeros(len(frame), bool)
    total = np.zeros(len(frame))
    for use in accepted:
        column = use_column(use)
        if column in frame:
            total += np.nan_to_num(frame[column].to_numpy(dtype=float))
    return np.where(known, total, np.nan)
