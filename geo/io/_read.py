"""Reading and validating input files: one place for the checks every loader needs."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.domain import NL_BOUNDS_RD, RD, SRID_RD
from geo.errors import DataError

# CBS no-data codes ("geheim", "niet beschikbaar", "onvoldoende betrouwbaar"...): a family, not a list.
# Older kerncijfers files use -99999999 ... -99999990 (-99999999 throughout the real buurten 2023 file in
# data/drechtsteden); the recent wijk- en buurtkaart services use -99999 ... -99990 (-99997 and -99995
# seen in public clients of the 2024 PDOK/CBS services). Any other negative count is an error.
NO_DATA_RANGES = ((-99999999, -99999990), (-99999, -99990))


def is_no_data(numbers: pd.Series) -> pd.Series:
    """Mask of CBS no-data codes (see :data:`NO_DATA_RANGES`) in a numeric series."""
    mask = pd.Series(False, index=numbers.index)
    for low, high in NO_DATA_RANGES:
        mask |= (numbers >= low) & (numbers <= high) & (numbers == numbers.round())
    return mask.fillna(False).astype(bool)


def read_vector(path: Path, *, layer: str | None = None, where: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage, LV-BAG XML or zip...) with pyogrio."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        if path.suffix.lower() == ".zip":
            return _read_zip(path, layer=layer, where=where)
        return gpd.read_file(path, layer=layer, where=where, engine="pyogrio")
    except DataError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise many kinds; the user needs the message
        raise DataError(path, f"cannot read as a vector file: {_first_line(exc)}") from exc


def _read_zip(path: Path, *, layer: str | None, where: str | None) -> gpd.GeoDataFrame:
    """Read every data file in a zip (an LV-BAG extract holds several XML parts) into one frame."""
    try:
        names = sorted(
            n for n in zipfile.ZipFile(path).namelist() if n.lower().endswith((".xml", ".gpkg", ".geojson", ".json"))
        )
    except zipfile.BadZipFile as exc:
        raise DataError(path, "not a valid zip file") from exc
    if not names:
        raise DataError(path, "the zip holds no XML, GeoPackage or GeoJSON file")
    frames = [gpd.read_file(f"/vsizip/{path}/{name}", layer=layer, where=where, engine="pyogrio") for name in names]
    crs = frames[0].crs
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def read_table(path: Path, *, sep: str | None = None, encoding: str = "utf-8", header: bool = True) -> pd.DataFrame:
    """Read a CSV/TXT table as strings, sniffing the separator when not given."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    try:
        with open(path, encoding=encoding, newline="") as handle:
            sample = handle.read(4096)
        if not sample.strip():
            raise DataError(path, "the file is empty")
        if sep is None:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        return pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding, header=0 if header else None
        )
    except DataError:
        raise
    except (UnicodeDecodeError, csv.Error, pd.errors.ParserError, ValueError) as exc:
        raise DataError(path, f"cannot read as a {encoding} table: {_first_line(exc)}") from exc


def require_columns(path: Path, frame: pd.DataFrame, *alternatives: Iterable[str] | str) -> list[str]:
    """For each wanted column (or tuple of accepted names), the name present in ``frame``."""
    found = []
    for wanted in alternatives:
        names = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        match = next((n for n in names if n in frame.columns), None)
        if match is None:
            shown = ", ".join(c for c in frame.columns if c != "geometry")[:300]
            raise DataError(
                path, f"missing column {' or '.join(repr(n) for n in names)}; the file has: {shown}", field=names[0]
            )
        found.append(match)
    return found


def to_rd(path: Path, frame: gpd.GeoDataFrame, *, assume_crs: str | None = None) -> gpd.GeoDataFrame:
    """Reproject to EPSG:28992; a file without CRS is refused unless the caller states one."""
    if frame.crs is None:
        if assume_crs is None:
            raise DataError(
                path, "the file has no coordinate reference system (CRS); pass --crs to state it", field="crs"
            )
        frame = frame.set_crs(assume_crs)
    return frame.to_crs(RD) if frame.crs.to_epsg() != SRID_RD else frame


def feature_label(kind: str, index: int, ident: object = None) -> str:
    label = f"{kind} {index}"
    return f"{label} (id {ident})" if ident not in (None, "") and not _isnan(ident) else label


def _isnan(value: object) -> bool:
    return isinstance(value, float) and np.isnan(value)


def clean_geometries(
    path: Path, frame: gpd.GeoDataFrame, *, kind: str, ids: pd.Series | None = None, label: str = "feature"
) -> tuple[np.ndarray, int]:
    """Validate and repair geometries of one kind ('polygon' or 'point'); returns (geoms, repairs).

    Polygons are made valid with ``make_valid`` while keeping a polygonal result (promoted to
    MultiPolygon). Empty, missing or unrepairable geometries and coordinates outside the
    Netherlands stop the load with the feature named.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    ids = ids if ids is not None else pd.Series([None] * len(geoms))
    if len(geoms) == 0:
        raise DataError(path, "the file holds no features")
    geoms = shapely.force_2d(geoms)
    repairs = 0

    def refuse_first(bad: np.ndarray, problem) -> None:
        """Stop at the first feature where ``bad`` holds, naming it; ``problem(i)`` says what is wrong."""
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(path, problem(i), row=feature_label(label, i + 1, ids.iloc[i]), field="geometry")

    refuse_first(shapely.is_missing(geoms) | shapely.is_empty(geoms), lambda i: "empty or missing geometry")
    types = shapely.get_type_id(geoms)
    if kind == "point":
        refuse_first(types != 0, lambda i: f"expected a Point, got {geoms[i].geom_type}")
    else:
        refuse_first(
            ~np.isin(types, [3, 6, 7]), lambda i: f"expected a Polygon or MultiPolygon, got {geoms[i].geom_type}"
        )
        invalid = ~shapely.is_valid(geoms) | (types == 7)
        for i in np.flatnonzero(invalid):
            fixed = _polygonal(shapely.make_valid(geoms[i]))
            if fixed is None:
                raise DataError(
                    path,
                    f"invalid geometry that cannot be repaired ({shapely.is_valid_reason(geoms[i])})",
                    row=feature_label(label, i + 1, ids.iloc[i]),
                    field="geometry",
                )
            geoms[i] = fixed
            repairs += 1
        single = shapely.get_type_id(geoms) == 3
        geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    bounds = shapely.bounds(geoms)
    xmin, ymin, xmax, ymax = NL_BOUNDS_RD
    outside = (bounds[:, 0] < xmin) | (bounds[:, 1] < ymin) | (bounds[:, 2] > xmax) | (bounds[:, 3] > ymax)
    refuse_first(
        outside,
        lambda i: f"coordinates outside the Netherlands (RD bounds {np.round(bounds[i]).tolist()}); is the CRS right?",
    )
    return geoms, repairs


def outside_nl(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Mask of features (in RD) that lie, even partly, outside the Netherlands' RD extent."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bounds = shapely.bounds(np.where(present, geoms, shapely.Point(150_000, 450_000)))
    xmin, ymin, xmax, ymax = NL_BOUNDS_RD
    return present & ((bounds[:, 0] < xmin) | (bounds[:, 1] < ymin) | (bounds[:, 2] > xmax) | (bounds[:, 3] > ymax))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of a geometry, as a MultiPolygon, or None if there is none."""
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [poly for g in geom.geoms if (sub := _polygonal(g)) is not None for poly in sub.geoms]
        return shapely.MultiPolygon(parts) if parts else None
    return None


def check_unique(path: Path, values: pd.Series, *, field: str, label: str = "feature") -> None:
    dup = values.duplicated(keep="first") & values.notna() & (values != "")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        first = int(np.flatnonzero((values == values.iloc[i]).to_numpy())[0])
        raise DataError(
            path,
            f"duplicate id {values.iloc[i]!r} (first at {label} {first + 1})",
            row=feature_label(label, i + 1),
            field=field,
        )


def to_count(path: Path, values: pd.Series, *, field: str, ids: pd.Series, label: str = "feature") -> pd.Series:
    """Parse a population/household count: CBS no-data codes become missing; negatives stop the load."""
    numbers = pd.to_numeric(values.replace("", np.nan), errors="coerce")
    unparsable = (numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")).fillna(False).astype(bool)
    if unparsable.any():
        i = int(np.flatnonzero(unparsable.to_numpy())[0])
        raise DataError(
            path, f"not a number: {values.iloc[i]!r}", row=feature_label(label, i + 1, ids.iloc[i]), field=field
        )
    numbers = numbers.mask(is_no_data(numbers))
    negative = (numbers < 0).fillna(False).astype(bool)
    if negative.any():
        i = int(np.flatnonzero(negative.to_numpy())[0])
        raise DataError(
            path, f"negative count {numbers.iloc[i]:g}", row=feature_label(label, i + 1, ids.iloc[i]), field=field
        )
    return numbers.round().astype("Int64")


def year_from_name(path: Path) -> int | None:
    match = re.search(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)", Path(path).name)
    if match:
        return int(match.group(1))
    match = re.search(r"\d{4}(20\d\d)(?!\d)", Path(path).name)  # LV-BAG extracts: 0221PND15092020
    return int(match.group(1)) if match else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
