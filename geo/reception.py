"""Which reception sites count as existing places: the one rule the fit, the task, the maps and the API use.

A row of ``reception_location`` counts on a reference date when it is

* **open**: its kind does not say closed, planned, summary or 'no location' (:data:`NOT_REALISED_KINDS`);
* **with a capacity**: a number of places is known;
* **valid on the date**: ``valid_from <= date`` and (``date <= valid_until`` or the source states no end,
  ``open_ended``).

Rows that are open and have a capacity but whose validity on the date cannot be told (no start date, or no end
date and no stated open end) are **undated**: they are not counted, and their places are reported apart (the
task's ``undated`` column, the CLI, the API, the maps), so a reader sees them next to the realised figure.

Examples
--------
>>> sites = counting_sites(engine, date(2024, 2, 1))  # doctest: +SKIP
>>> sites[sites.status == "counted"].groupby("municipality_code").capacity.sum()  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa

NOT_REALISED_KINDS = ("gesloten", "voorgenomen", "samenvatting", "geen locatie")
"""Words in ``reception_location.kind`` that mean the row holds no existing places: closed sites, planned sites
(not yet realised), summaries of other rows, and 'no location'."""

COUNTED, UNDATED = "counted", "undated"
STATUSES = (COUNTED, UNDATED, "expired", "not_yet_open", "not_open", "no_capacity")
"""Every status :func:`site_status` gives; only ``counted`` rows are existing places."""

SITES_QUERY = """
    SELECT r.id, r.name, r.municipality_name, r.municipality_code,
           r.kind, r.capacity, r.capacity_text, r.period, r.valid_from, r.valid_until, r.open_ended, r.source,
           ST_X(r.geom) AS x, ST_Y(r.geom) AS y,
           ST_X(ST_Transform(r.geom, 4326)) AS lon, ST_Y(ST_Transform(r.geom, 4326)) AS lat
    FROM reception_location r
    ORDER BY r.id"""


def read_sites(conn: sa.Connection) -> pd.DataFrame:
    """Every reception row with its municipality code (:func:`geo.names.match_municipalities`: its own code, else
    the CBS name, else a unique alias such as 'Rijswijk' for 'Rijswijk (ZH.)'; ``match_note`` says which alias was
    used or why nothing matched), validity and coordinates (RD ``x, y`` and WGS84 ``lon, lat``, NaN where unknown)."""
    from geo.names import match_municipalities

    frame = pd.read_sql(sa.text(SITES_QUERY), conn)
    names = dict(conn.execute(sa.text("SELECT code, name FROM municipality")).all())
    matched = match_municipalities(frame, names)
    frame["municipality_code"] = matched.code
    frame["match_note"] = matched.match_note
    for column in ("valid_from", "valid_until"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["open_ended"] = frame["open_ended"].fillna(False).astype(bool)
    return frame


def site_status(sites: pd.DataFrame, on: date) -> pd.DataFrame:
    """``sites`` with ``status`` (one of :data:`STATUSES`) and ``reason`` (readable) for the date ``on``."""
    kind = sites["kind"].fillna("").str.lower()
    closed_word = kind.map(lambda k: next((w for w in NOT_REALISED_KINDS if w in k), None))
    start = pd.to_datetime(sites["valid_from"])
    end = pd.to_datetime(sites["valid_until"])
    day = pd.Timestamp(on)
    expired = end.notna() & (end < day)
    not_yet = start.notna() & (start > day)
    valid = start.notna() & (start <= day) & ((end.notna() & (end >= day)) | sites["open_ended"].astype(bool))
    status = np.select(
        [
            closed_word.notna().to_numpy(),
            sites["capacity"].isna().to_numpy(),
            expired.to_numpy(),
            not_yet.to_numpy(),
            valid.to_numpy(),
        ],
        ["not_open", "no_capacity", "expired", "not_yet_open", COUNTED],
        default=UNDATED,
    )
    reason = np.select(
        [status == "not_open", status == "no_capacity", status == "expired", status == "not_yet_open"],
        [
            "kind '" + sites["kind"].fillna("") + "' holds no existing places",
            "no capacity figure",
            "valid until " + sites["valid_until"].astype(str) + ", before " + on.isoformat(),
            "valid from " + sites["valid_from"].astype(str) + ", after " + on.isoformat(),
        ],
        default="",
    ).astype(object)
    undated = status == UNDATED
    no_start = sites["valid_from"].isna().to_numpy()
    reason[undated & no_start] = f"undated: no start date, so not known to be open on {on.isoformat()}"
    reason[undated & ~no_start] = f"undated: no end date, so not known to be open on {on.isoformat()}"
    reason[status == COUNTED] = None
    return sites.assign(status=status, reason=reason)


def counting_sites(engine_or_conn, on: date) -> pd.DataFrame:
    """Every reception row with its status on ``on`` (:func:`read_sites` + :func:`site_status`)."""
    if isinstance(engine_or_conn, sa.Connection):
        return site_status(read_sites(engine_or_conn), on)
    with engine_or_conn.connect() as conn:
        return site_status(read_sites(conn), on)


def places_by_municipality(sites: pd.DataFrame, status: str = COUNTED) -> pd.Series:
    """Places of the rows with ``status`` per municipality code (rows without a matched code left out)."""
    rows = sites[(sites["status"] == status) & sites["municipality_code"].notna()]
    return rows.groupby("municipality_code")["capacity"].sum().astype(np.int64)
