"""Scored locations as compact popup rows (one layout for candidates and proposals) plus their shared tables.

A row holds only numbers and indices; names and flags sit once in the shared tables, HTML-escaped here.
``opvangmatch.candidatePopup`` (static/opvangmatch/maps.js) turns a row into the popup when it is opened.
The values are the ones :func:`geo.score.explain` reports (same columns, same rounding of distances).

Row layout: ``[lat, lon, id, total, excluded, rank, capacity, [proportional_fit, proximity, task_contribution],
[buurt share, wijk share, municipality share], [[distance m, estimate m, nearest, score, upper bound 0/1
(, n500, n1000)], ...], closes places, municipality gap, flag set, title, [address, use, floor area m2, build year]]``.

In a flag set the flags that exclude a building (:data:`geo.score.grade.EXCLUDING`) come first (``deciding`` says
how many), so a popup can say why before anything else.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from geo.domain import COMPONENTS, LEVELS
from geo.maps.colours import EXCLUDED, SCORE_COLOURS, classes_from_breaks, quantile_breaks
from geo.maps.geodata import lat_lon
from geo.maps.labels import LOCALES, category, flag, text
from geo.score import CandidateScores, Profile, ScoringData
from geo.score.grade import EXCLUDING

FIXED_SCORE_BREAKS = [0.5, 0.7, 0.85, 0.95]


def score_classes(totals, lang: str) -> dict:
    """Score classes of one map: the quintiles of the scores of the candidates not excluded (2 or 3 decimals), so the
    classes split what is on the map; the documented fixed breaks 0.50/0.70/0.85/0.95 where fewer than 5 distinct
    scores exist. Excluded buildings are grey (``nodata``), never a score class."""
    totals = np.asarray(totals, dtype=float)
    totals = totals[np.isfinite(totals)]
    breaks = FIXED_SCORE_BREAKS
    if np.unique(np.round(totals, 2)).size >= 5:
        breaks = quantile_breaks(totals, 5, 2)
        digits = 2 if len(breaks) == 4 else 3  # close scores: a third decimal keeps five classes
        breaks = quantile_breaks(totals, 5, digits)
        return classes_from_breaks(breaks, SCORE_COLOURS, digits=digits, lang=lang, low=None, nodata=EXCLUDED)
    return classes_from_breaks(breaks, SCORE_COLOURS, digits=2, lang=lang, low=None, nodata=EXCLUDED)


class Tables:
    """Shared, escaped tables that rows point into: nearest-service names and flag sets."""

    def __init__(self, lang: str):
        self.lang = lang
        self.names: list[str] = []
        self._name_index: dict[str, int] = {}
        self.flagsets: list[list[str]] = []
        self.deciding: list[int] = []  # per flag set: how many of its first flags exclude a building
        self._flag_index: dict[tuple[str, ...], int] = {}

    def name(self, value) -> int | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        key = str(value)
        if key not in self._name_index:
            self._name_index[key] = len(self.names)
            self.names.append(html.escape(key))
        return self._name_index[key]

    def flags(self, values) -> int:
        key = tuple(values)
        if key not in self._flag_index:
            self._flag_index[key] = len(self.flagsets)
            ordered = [f for f in key if f in EXCLUDING] + [f for f in key if f not in EXCLUDING]
            self.flagsets.append([html.escape(flag(f, self.lang)) for f in ordered])
            self.deciding.append(sum(f in EXCLUDING for f in key))
        return self._flag_index[key]


def _clean(values, digits: int) -> list:
    arr = np.asarray(values, dtype=float)
    rounded = np.round(arr, digits)
    return [None if not np.isfinite(v) else (int(v) if digits == 0 else float(v)) for v in rounded]


def meta(profile: Profile, data: ScoringData, tables: Tables, lang: str, classes: dict | None = None) -> dict:
    """What every popup row of one map shares: labels, weights, allowed shares, profile and data vintage."""
    return {
        "text": text(lang),
        "locale": LOCALES[lang],
        "components": [[c, profile.weights[c]] for c in COMPONENTS],
        "levels": list(LEVELS),
        "good_share": [round(profile.levels[level].good * data.reference_share, 6) for level in LEVELS],
        "categories": [
            [c, html.escape(category(c, lang)), rule.weight, rule.good, rule.too_far]
            for c, rule in profile.categories.items()
        ],
        "names": tables.names,
        "flagsets": tables.flagsets,
        "deciding": tables.deciding,
        "profile": html.escape(f"{profile.name} {profile.version} ({profile.target_group})"),
        "vintage": html.escape(str(data.vintage["id"])),
        "classes": classes or score_classes([], lang),
    }


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) or value == "" else str(value)


def building_facts(f: pd.DataFrame, facts: pd.DataFrame | None) -> list[list]:
    """``[address, use, floor area m2, build year]`` per candidate (escaped; None where unknown). ``facts`` (by
    building id: address, build_year) come from the building table; use and floor area from the scored frame
    (BAG verblijfsobjecten where loaded)."""
    facts = facts if facts is not None else pd.DataFrame(columns=["address", "build_year"])
    address = f["id"].map(facts["address"]) if len(facts) else pd.Series([None] * len(f))
    year = f["id"].map(facts["build_year"]) if len(facts) else pd.Series([None] * len(f))
    use = f["use"] if "use" in f else pd.Series([None] * len(f))
    area = _clean(f["floor_area_bag"], 0) if "floor_area_bag" in f else [None] * len(f)
    out = []
    for a, u, m2, y in zip(address, use, area, year, strict=True):
        a, u = _text(a), _text(u)
        year_value = None if y is None or (isinstance(y, float) and np.isnan(y)) else int(y)
        out.append([a and html.escape(a), u and html.escape(u.replace(",", ", ")), m2, year_value])
    return out


def candidate_rows(scores: CandidateScores, tables: Tables, facts: pd.DataFrame | None = None) -> list[list]:
    """One popup row per scored candidate (vectorised over ``scores.frame``); ``facts``: address and build year
    by building id (:func:`geo.maps.geodata.read_building_facts`)."""
    f: pd.DataFrame = scores.frame
    n = len(f)
    if n == 0:
        return []
    lat, lon = lat_lon(f["x"].to_numpy(), f["y"].to_numpy())
    components = list(zip(*(_clean(f[c], 3) for c in COMPONENTS), strict=True))
    shares = list(zip(*(_clean(f[f"{level}_share"], 6) for level in LEVELS), strict=True))
    per_category = []
    for cat in scores.profile.categories:
        distance = _clean(np.round(f[f"{cat}_distance"].to_numpy(dtype=float), 1), 0)  # as explain(), then metres
        estimate = _clean(f[f"{cat}_estimate"], 0)
        nearest = [
            tables.name(v) if d is not None else None for v, d in zip(f[f"{cat}_nearest"], distance, strict=True)
        ]
        score = _clean(f[f"{cat}_score"], 3)
        bound = f[f"{cat}_bound"].astype(bool).astype(int).tolist() if f"{cat}_bound" in f else [0] * n
        per_category.append(list(zip(distance, estimate, nearest, score, bound, strict=True)))
    measures = [[list(c[i]) for c in per_category] for i in range(n)]
    closes, gap = _clean(f["closes_places"], 0), _clean(f["municipality_gap"], 0)
    flagsets = [tables.flags(v) for v in f["flags"]]
    totals = _clean(f["total"], 4)
    about = building_facts(f, facts)
    measured = _clean(f["measured_share"], 3)
    use_code = f["use_order"].to_numpy()
    bands = f["band"].to_numpy()
    ids, excluded, rank, capacity = (f[c].to_numpy() for c in ("id", "excluded", "rank", "capacity"))
    return [
        [
            float(lat[i]),
            float(lon[i]),
            html.escape(str(ids[i])),
            totals[i],
            int(bool(excluded[i])),
            int(rank[i]),
            int(capacity[i]),
            list(components[i]),
            list(shares[i]),
            measures[i],
            closes[i],
            gap[i],
            flagsets[i],
            None,
            [int(bands[i]) or None, measured[i], int(use_code[i])],
            about[i],
        ]
        for i in range(n)
    ]


def explanation_row(explanation: dict, lat: float, lon: float, ident: str, title: str, tables: Tables) -> list:
    """The popup row of one explanation (``score_location``), with counts within 500 m and 1 km."""
    levels = explanation["proportional_fit"]["levels"]
    measures = []
    for v in explanation["proximity"].values():
        distance = None if v["distance_m"] is None else int(np.round(v["distance_m"]))
        nearest = tables.name(v["nearest"]) if distance is not None else None
        bound = int(v["status"] == "upper_bound")
        measures.append([distance, v["estimate_m"], nearest, v["score"], bound, v["within_500m"], v["within_1000m"]])
    task = explanation["task"]
    return [
        round(lat, 5),
        round(lon, 5),
        html.escape(ident),
        explanation["total"],
        int(explanation["excluded"]),
        0,
        explanation["capacity"],
        [explanation["components"][c]["value"] for c in COMPONENTS],
        [levels[level]["share"] for level in LEVELS],
        measures,
        task["closes_places"],
        task["municipality_gap"],
        tables.flags(explanation["flags"]),
        html.escape(title),
        [
            None,
            explanation["proximity_weight"]["measured_share"],
            ["not_accepted", "unknown", "suitable"].index(explanation["use"]["state"]),
        ],
        None,
    ]
