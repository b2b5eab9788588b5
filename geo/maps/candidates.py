"""Scored locations as compact popup rows (one layout for candidates and proposals) plus their shared tables.

A row holds only numbers and indices; names and flags sit once in the shared tables, HTML-escaped here.
``opvangmatch.candidatePopup`` (static/opvangmatch/maps.js) turns a row into the popup when it is opened.
The values are the ones :func:`geo.score.explain` reports (same columns, same rounding of distances).

Row layout: ``[lat, lon, id, total, excluded, rank, capacity, [proportional_fit, proximity, task_contribution],
[buurt share, wijk share, municipality share], [[distance m, estimate m, nearest, score(, n500, n1000)], ...],
closes places, municipality gap, flag set, title]``.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from geo.maps.colours import EXCLUDED, SCORE_COLOURS, classes_from_breaks, quantile_breaks
from geo.maps.geodata import lat_lon
from geo.maps.labels import category, flag, text
from geo.score import CandidateScores, Profile, ScoringData

COMPONENTS = ("proportional_fit", "proximity", "task_contribution")
LEVELS = ("buurt", "wijk", "municipality")
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


LOCALES = {"nl": "nl-NL", "en": "en-GB"}


class Tables:
    """Shared, escaped tables that rows point into: nearest-service names and flag sets."""

    def __init__(self, lang: str):
        self.lang = lang
        self.names: list[str] = []
        self._name_index: dict[str, int] = {}
        self.flagsets: list[list[str]] = []
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
            self.flagsets.append([html.escape(flag(f, self.lang)) for f in key])
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
        "categories": [[c, html.escape(category(c, lang)), rule.weight] for c, rule in profile.categories.items()],
        "names": tables.names,
        "flagsets": tables.flagsets,
        "profile": html.escape(f"{profile.name} {profile.version} ({profile.target_group})"),
        "vintage": html.escape(str(data.vintage["id"])),
        "classes": classes or score_classes([], lang),
    }


def candidate_rows(scores: CandidateScores, tables: Tables) -> list[list]:
    """One popup row per scored candidate (vectorised over ``scores.frame``)."""
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
        per_category.append(list(zip(distance, estimate, nearest, score, strict=True)))
    measures = [[list(c[i]) for c in per_category] for i in range(n)]
    closes, gap = _clean(f["closes_places"], 0), _clean(f["municipality_gap"], 0)
    flagsets = [tables.flags(v) for v in f["flags"]]
    totals = _clean(f["total"], 4)
    return [
        [
            float(lat[i]),
            float(lon[i]),
            html.escape(str(f["id"].iat[i])),
            totals[i],
            int(bool(f["excluded"].iat[i])),
            int(f["rank"].iat[i]),
            int(f["capacity"].iat[i]),
            list(components[i]),
            list(shares[i]),
            measures[i],
            closes[i],
            gap[i],
            flagsets[i],
            None,
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
        measures.append([distance, v["estimate_m"], nearest, v["score"], v["within_500m"], v["within_1000m"]])
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
    ]
