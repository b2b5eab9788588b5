"""Tables without geometry of their own: reception locations and placement-task figures (CSV)."""

from __future__ import annotations

import calendar
import re
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.domain import DEFAULT_TASK_PERIOD
from geo.errors import DataError
from geo.io._read import clean_geometries, read_table, require_columns, year_from_name
from geo.io.write import Prepared
from geo.models import PlacementTask, ReceptionLocation, ReportedFigure


def _int_or_none(text: str) -> int | None:
    """A capacity as written in a source ('170', 'minstens 500', '200-400' -> lower bound)."""
    digits = re.findall(r"\d[\d.]*", text or "")
    if not digits:
        return None
    return int(digits[0].replace(".", ""))


OPEN_END = ("open", "onbepaald")
"""Values of ``valid_until`` that mean the source states the site has no end (permanent, indefinite)."""


def partial_date(text: str, *, end: bool) -> date | None:
    """A date written ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (empty: None). A year or month stands for its first day
    as a start (``end=False``) and its last day as an end (``end=True``): the period the source states, inclusive.

    >>> partial_date("2021-11", end=True), partial_date("2020", end=False)
    (datetime.date(2021, 11, 30), datetime.date(2020, 1, 1))
    """
    text = (text or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
    if not match:
        raise ValueError(f"{text!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = int(match[1]), match[2], match[3]
    if day:
        return date(year, int(month), int(day))
    if month:
        m = int(month)
        return date(year, m, calendar.monthrange(year, m)[1] if end else 1)
    return date(year, 12, 31) if end else date(year, 1, 1)


def _validity(path: Path, table: pd.DataFrame) -> tuple[list, list, list]:
    """``valid_from``, ``valid_until`` and ``open_ended`` per row (checked: a start after its end is an error)."""
    starts, ends, open_end = [], [], []
    for i in range(len(table)):
        line = f"line {i + 2}"
        values = {}
        for column in ("valid_from", "valid_until"):
            text = table[column].iloc[i].strip() if column in table else ""
            if column == "valid_until" and text.lower() in OPEN_END:
                values[column], text = None, ""
                open_end.append(True)
            elif column == "valid_until":
                open_end.append(False)
            try:
                values[column] = partial_date(text, end=column == "valid_until") if text else values.get(column)
            except ValueError as exc:
                raise DataError(path, str(exc), row=line, field=column) from exc
        if values["valid_from"] and values["valid_until"] and values["valid_from"] > values["valid_until"]:
            raise DataError(path, "valid_from is after valid_until", row=line, field="valid_from")
        starts.append(values["valid_from"])
        ends.append(values["valid_until"])
    return starts, ends, open_end


def _places(path: Path, table: pd.DataFrame, text: pd.Series) -> pd.Series:
    """Places per row: the ``places`` column where the file has one (a whole number, or empty), else the first
    number in the capacity text (the lower bound of '200-400', 'minstens 500')."""
    if "places" not in table:
        return text.map(_int_or_none).astype("Int64")
    values = []
    for i, value in enumerate(table["places"].str.strip()):
        if value and not value.isdigit():
            raise DataError(path, f"places must be a whole number, got {value!r}", row=f"line {i + 2}", field="places")
        values.append(int(value) if value else None)
    return pd.Series(values, index=table.index, dtype="Int64")


def load_reception(path: Path, *, year=None) -> Prepared:
    """Existing reception locations.

    Columns: ``gemeente`` (or ``municipality``), a name/location (``locatie_zoals_in_bron`` or
    ``name``), optional ``soort``/``kind``, capacity (``capaciteit_zoals_in_bron`` or ``capacity``),
    period, ``source_url``, ``gemeentecode``, and coordinates ``lon``/``lat`` (WGS84) when known.
    Optional: ``places`` (the current number of places per the source; else the first number of the capacity
    text), ``valid_from`` and ``valid_until`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ``valid_until`` = ``open``
    when the source states no end). Rows without dates stay undated (see :mod:`geo.reception`).
    """
    table = read_table(path)
    (mun, name) = require_columns(
        path, table, ("gemeente", "municipality", "gemeentenaam"), ("locatie_zoals_in_bron", "name", "naam", "locatie")
    )
    col = {c: c for c in table.columns}
    get = lambda *names: next((table[n] for n in names if n in col), pd.Series("", index=table.index))  # noqa: E731
    capacity_text = get("capaciteit_zoals_in_bron", "capacity", "capaciteit")
    capacity = _places(path, table, capacity_text)
    valid_from, valid_until, open_ended = _validity(path, table)
    lon, lat = get("lon", "longitude"), get("lat", "latitude")
    geoms = np.array([None] * len(table), dtype=object)
    has_xy = (lon.str.strip() != "") & (lat.str.strip() != "")
    if has_xy.any():
        try:
            pts = shapely.points(lon[has_xy].astype(float), lat[has_xy].astype(float))
        except ValueError as exc:
            raise DataError(path, f"lon/lat not numeric: {exc}", field="lon") from exc
        frame = gpd.GeoDataFrame(geometry=pts, crs="EPSG:4326").to_crs("EPSG:28992")
        geoms[has_xy.to_numpy()], _ = clean_geometries(path, frame, kind="point", label="data row")
    for i, value in enumerate(table[mun]):
        if not value.strip():
            raise DataError(path, "empty municipality", row=f"line {i + 2}", field=mun)
    out = pd.DataFrame(
        {
            "name": table[name].str.strip(),
            "municipality_name": table[mun].str.strip(),
            "municipality_code": get("gemeentecode", "municipality_code").replace("", None),
            "kind": get("soort", "kind").replace("", None),
            "capacity": capacity,
            "capacity_text": capacity_text.replace("", None),
            "period": get("periode_status_zoals_in_bron", "period").replace("", None),
            "valid_from": valid_from,
            "valid_until": valid_until,
            "open_ended": open_ended,
            "source_url": get("source_url").replace("", None),
            "notes": get("notes").replace("", None),
            "geom": geoms,
        }
    )
    notes = [
        f"{int(has_xy.sum())} with coordinates, {int((~has_xy).sum())} by municipality name only",
        f"{int(capacity.notna().sum())} with a capacity figure"
        + (" (from the places column)" if "places" in table else " (lower bound of ranges / 'at least')"),
        f"{sum(v is not None for v in valid_from)} with a start date, "
        f"{sum(v is not None for v in valid_until) + sum(open_ended)} with an end date or a stated open end",
    ]
    return Prepared(
        "reception", ReceptionLocation, out, year if year is not None else year_from_name(path), notes=notes
    )


def load_task(path: Path, *, year=None, period: str | None = None) -> Prepared:
    """Placement-task figures: the shipped Spreidingswet CSVs, or a generic CSV with
    ``region_code,places[,region_name,level,period,source_url,notes]``."""
    table = read_table(path)
    code_col, places_col = require_columns(
        path,
        table,
        ("region_code", "provincie_code", "gemeentecode_joined_by_name", "gemeentecode"),
        ("places", "opgave_opvangplekken_2024", "opvangplekken"),
    )
    codes = table[code_col].str.strip()
    names = next((table[c] for c in ("region_name", "provincie", "gemeente") if c in table), None)
    records = []
    for i, code in enumerate(codes):
        line = f"line {i + 2}"
        if not code:
            raise DataError(path, "empty region code", row=line, field=code_col)
        level = {"PV": "province", "GM": "municipality", "NL": "national"}.get(code[:2])
        if level is None:
            raise DataError(path, f"region code {code!r} is not PVxx, GMxxxx or NL", row=line, field=code_col)
        text = table[places_col].iloc[i].strip().replace(".", "")
        if not text.isdigit():
            raise DataError(
                path,
                f"places must be a whole non-negative number, got {table[places_col].iloc[i]!r}",
                row=line,
                field=places_col,
            )
        row_period = (table["period"].iloc[i].strip() if "period" in table else "") or period or DEFAULT_TASK_PERIOD
        records.append(
            {
                "region_code": code,
                "region_name": names.iloc[i].strip() if names is not None else None,
                "level": level,
                "period": row_period,
                "places": int(text),
                "basis": "official",
                "source_url": table["source_url"].iloc[i].strip() if "source_url" in table else None,
                "notes": (table["notes"].iloc[i].strip() or None) if "notes" in table else None,
            }
        )
    out = pd.DataFrame.from_records(records)
    dup = out.duplicated(["region_code", "period"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            path, f"two figures for {out.region_code[i]} in period {out.period[i]}", row=f"line {i + 2}", field=code_col
        )
    return Prepared(
        "task",
        PlacementTask,
        out,
        year if year is not None else year_from_name(path),
        notes=[f"period {', '.join(sorted(out.period.unique()))}"],
        geometry_columns=(),
    )


def load_reported(path: Path, *, year=None) -> Prepared:
    """Published counts of reception places for the country or a province (the shipped
    ``capaciteitsraming_2026.csv`` and ``realisatie_provinciale_plannen_2024_2025.csv``).

    Columns: the region (``scope`` or ``provincie``: 'Nederland' or a province name), ``indicator``, ``waarde``,
    the date (``source_date`` or ``peildatum_of_bericht``), ``source_url`` and optional ``notes``. A value that is
    not an exact whole number ('>4000') is kept as text with no number.
    """
    from geo.names import region_code_of

    table = read_table(path)
    region_col, indicator_col, value_col = require_columns(
        path, table, ("scope", "provincie", "region"), ("indicator",), ("waarde", "value", "places")
    )
    date_col = next((c for c in ("source_date", "peildatum_of_bericht", "reference_date") if c in table), None)
    records = []
    for i in range(len(table)):
        line = f"line {i + 2}"
        region = table[region_col].iloc[i].strip()
        code = region_code_of(region)
        if code is None:
            raise DataError(
                path, f"region {region!r} is neither 'Nederland' nor a province", row=line, field=region_col
            )
        indicator = table[indicator_col].iloc[i].strip()
        if not indicator:
            raise DataError(path, "empty indicator", row=line, field=indicator_col)
        text = table[value_col].iloc[i].strip()
        if not text:
            raise DataError(path, "empty value", row=line, field=value_col)
        digits = text.replace(".", "").replace(",", "")
        records.append(
            {
                "region_code": code,
                "region_name": region,
                "indicator": indicator,
                "places": int(digits) if digits.isdigit() else None,
                "value_text": text,
                "reference_date": (table[date_col].iloc[i].strip() or None) if date_col else None,
                "source_url": (table["source_url"].iloc[i].strip() or None) if "source_url" in table else None,
                "notes": (table["notes"].iloc[i].strip() or None) if "notes" in table else None,
            }
        )
    out = pd.DataFrame.from_records(records)
    out["places"] = out.places.astype("Int64")
    inexact = int(out.places.isna().sum())
    return Prepared(
        "reported",
        ReportedFigure,
        out,
        year if year is not None else year_from_name(path),
        notes=[f"{len(out)} figures" + (f", {inexact} without an exact number" if inexact else "")],
        geometry_columns=(),
    )
