"""CBS regions: provinces, municipalities (gemeenten), districts (wijken), neighbourhoods (buurten).

Accepts the PDOK / CBS field names (``statcode``, ``gemeentecode``, ``aantalInwoners``...) and the
renamed ones in the shipped files (``aantal_inwoners``, ``huishoudens``...). CBS no-data codes
(the families ``-99999999``...``-99999990`` and ``-99999``...``-99990``, :func:`geo.io._read.is_no_data`)
become missing values; any other negative count or distance stops the load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geo.errors import DataError
from geo.io._read import (
    check_unique,
    clean_geometries,
    is_no_data,
    read_table,
    read_vector,
    require_columns,
    to_count,
    to_rd,
    year_from_name,
)
from geo.io.write import Prepared
from geo.models import (
    AreaProximity,
    District,
    Municipality,
    MunicipalityProvince,
    Neighbourhood,
    Province,
)

POPULATION = ("aantal_inwoners", "aantalInwoners", "AANT_INW", "bevolkingAantalInwoners", "population")
HOUSEHOLDS = ("huishoudens", "aantalHuishoudens", "aantal_huishoudens", "AANTAL_HH", "households")
NOT_A_MUNICIPALITY = {"GM0998"}  # "Buitenland" (Baarle enclaves) in CBS files


@dataclass(frozen=True)
class RegionKind:
    """How one kind of CBS region is read: accepted field names, code prefix, parent codes, counts."""

    kind: str
    table: type
    code: tuple[str, ...]
    name: tuple[str, ...]
    prefix: str
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    counts: bool = True


def _regions(
    path: Path, spec: RegionKind, *, year: int | None, crs: str | None, where: str | None, layer: str | None
) -> Prepared:
    frame = to_rd(path, read_vector(path, layer=layer, where=where), assume_crs=crs)
    code_col, name_col = require_columns(path, frame, spec.code, spec.name)
    codes = frame[code_col].astype("string").str.strip()
    notes, skipped = [], 0
    keep = ~codes.isin(NOT_A_MUNICIPALITY) if spec.table is Municipality else pd.Series(True, index=frame.index)
    if not keep.all():
        skipped = int((~keep).sum())
        notes.append(f"skipped {skipped} non-municipality area(s): {', '.join(codes[~keep])}")
    bad = keep & ~codes.fillna("").str.match(rf"^{spec.prefix}\w+$")
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            path, f"code {codes.iloc[i]!r} does not start with {spec.prefix}", row=f"feature {i + 1}", field=code_col
        )
    check_unique(path, codes[keep], field=code_col)
    geoms, repairs = clean_geometries(path, frame, kind="polygon", ids=codes)
    out = pd.DataFrame({"code": codes, "name": frame[name_col].astype("string")})
    for target, names in spec.extra.items():
        col = require_columns(path, frame, names)[0]
        out[target] = frame[col].astype("string").str.strip()
    if spec.counts:
        for target, names in (("population", POPULATION), ("households", HOUSEHOLDS)):
            col = next((n for n in names if n in frame.columns), None)
            if col is None:
                out[target] = pd.array([None] * len(frame), dtype="Int64")
                notes.append(f"no {target} column ({' / '.join(names)}): {target} left empty")
            else:
                out[target] = to_count(path, frame[col].astype("string"), field=col, ids=codes)
        no_pop = int(out.loc[keep, "population"].isna().sum())
        if no_pop:
            notes.append(f"{no_pop} area(s) without population data (kept; scoring flags them)")
    out["geom"] = geoms
    out = out[keep.to_numpy()].reset_index(drop=True)
    year = year if year is not None else year_from_name(path)
    return Prepared(spec.kind, spec.table, out, year, repairs, skipped, notes)


def _loader(spec: RegionKind):
    def load(path: Path, *, year=None, crs=None, where=None, layer=None) -> Prepared:
        return _regions(path, spec, year=year, crs=crs, where=where, layer=layer)

    load.__name__ = load.__qualname__ = f"load_{spec.kind}"
    load.__doc__ = f"CBS {spec.kind} ({spec.prefix} codes) from any OGR vector file."
    return load


load_provinces = _loader(
    RegionKind(
        "provinces",
        Province,
        ("statcode", "provinciecode", "identificatie", "code"),
        ("statnaam", "name", "provincienaam", "naam"),
        "PV",
        counts=False,
    )
)
load_municipalities = _loader(
    RegionKind(
        "municipalities",
        Municipality,
        ("gemeentecode", "statcode", "identificatie", "code"),
        ("gemeentenaam", "statnaam", "naam", "name"),
        "GM",
    )
)
load_districts = _loader(
    RegionKind(
        "districts",
        District,
        ("wijkcode", "statcode", "code"),
        ("wijknaam", "statnaam", "naam", "name"),
        "WK",
        extra={"municipality_code": ("gemeentecode",)},
    )
)
load_neighbourhoods = _loader(
    RegionKind(
        "neighbourhoods",
        Neighbourhood,
        ("buurtcode", "statcode", "code"),
        ("buurtnaam", "statnaam", "naam", "name"),
        "BU",
        extra={"municipality_code": ("gemeentecode",), "district_code": ("wijkcode",)},
    )
)


def load_municipality_provinces(path: Path, *, year=None) -> Prepared:
    """CBS gemeentelijke indeling (``provinciecode;provincienaam;gemeentecode;gemeentenaam;begindatum;einddatum``).

    Only the rows in force (no ``einddatum``) are kept.
    """
    frame = read_table(path)
    pv, pvn, gm, gmn = require_columns(path, frame, "provinciecode", "provincienaam", "gemeentecode", "gemeentenaam")
    current = (
        frame["einddatum"].str.strip() == "" if "einddatum" in frame.columns else pd.Series(True, index=frame.index)
    )
    codes = frame[gm].str.strip()
    codes = codes.where(codes.str.startswith("GM"), "GM" + codes.str.zfill(4))
    provinces = frame[pv].str.strip()
    provinces = provinces.where(provinces.str.startswith("PV"), "PV" + provinces.str.zfill(2))
    out = pd.DataFrame(
        {
            "municipality_code": codes,
            "municipality_name": frame[gmn].str.strip(),
            "province_code": provinces,
            "province_name": frame[pvn].str.strip(),
        }
    )[current.to_numpy()]
    check_unique(path, out["municipality_code"].reset_index(drop=True), field=gm, label="data row")
    skipped = int((~current).sum())
    return Prepared(
        "municipality-provinces",
        MunicipalityProvince,
        out.reset_index(drop=True),
        year if year is not None else _year_of_dates(frame),
        0,
        skipped,
        [f"kept {len(out)} rows in force, skipped {skipped} ended ones"],
        geometry_columns=(),
    )


def _year_of_dates(frame: pd.DataFrame) -> int | None:
    if "begindatum" not in frame.columns:
        return None
    years = pd.to_datetime(frame["begindatum"], errors="coerce").dt.year.dropna()
    return int(years.max()) if len(years) else None


PROXIMITY_COLUMNS = {
    "afstand_huisarts": "gp",
    "afstand_apotheek": "pharmacy",
    "afstand_supermarkt": "supermarket",
    "afstand_basisonderwijs": "primary_school",
    "afstand_ziekenhuis": "hospital",
    "afstand_treinstation": "train_station",
    "afstand_bibliotheek": "library",
    "afstand_kdv": "childcare",
    # PDOK field names
    "afstandTotHuisartsenpraktijk": "gp",
    "afstandTotGroteSupermarkt": "supermarket",
    "afstandTotSchool": "primary_school",
}


def load_proximity(path: Path, *, year=None) -> Prepared:
    """CBS nabijheid per area: mean distance in km to the nearest facility, per category."""
    frame = read_table(path)
    (code_col,) = require_columns(path, frame, ("gemeentecode", "wijkcode", "buurtcode", "statcode", "code"))
    columns = [c for c in frame.columns if c in PROXIMITY_COLUMNS]
    if not columns:
        raise DataError(
            path, f"no known distance column (e.g. {', '.join(list(PROXIMITY_COLUMNS)[:4])})", field="afstand_*"
        )
    check_unique(path, frame[code_col], field=code_col, label="data row")
    level = {"GM": "municipality", "WK": "district", "BU": "neighbourhood"}
    records = []
    for i, row in frame.iterrows():
        code = row[code_col].strip()
        for col in columns:
            text = row[col].strip().replace(",", ".")
            if not text:
                continue
            try:
                value = float(text)
            except ValueError as exc:
                raise DataError(path, f"not a distance: {text!r}", row=f"data row {i + 1}", field=col) from exc
            if value < 0:
                if is_no_data(pd.Series([value])).iloc[0]:
                    continue
                raise DataError(path, f"negative distance {value}", row=f"data row {i + 1}", field=col)
            records.append((code, PROXIMITY_COLUMNS[col], level.get(code[:2], "area"), value))
    out = pd.DataFrame(records, columns=["area_code", "category", "level", "distance_km"])
    return Prepared(
        "proximity", AreaProximity, out, year if year is not None else year_from_name(path), geometry_columns=()
    )
