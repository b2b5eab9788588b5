"""Honest ties: score bands, the documented order inside a band, and shortlists spread over buurten or wijken.

Totals closer than the profile's ``ranking.band_width`` are within the model's noise. :func:`bands` groups them
(a band starts at the best total not yet in a band and holds every total within ``band_width`` of it), and
:func:`rank` orders candidates by band, then by the profile's secondary criteria (each higher first), then by id.

>>> bands(np.array([0.90, 0.89, 0.85, 0.88]), np.ones(4, bool), 0.02).tolist()
[1, 1, 2, 1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.score.profile import Profile

SPREAD_LEVELS = ("buurt", "wijk")


def bands(total: np.ndarray, eligible: np.ndarray, width: float, order: np.ndarray | None = None) -> np.ndarray:
    """Band number per location (1 = best; 0 = excluded). At most about 1 / ``width`` + 1 bands over totals in 0..1,
    each found with one binary search. ``order`` (all locations by total, descending) saves the sort when given."""
    total = np.asarray(total, dtype=float)
    eligible = np.asarray(eligible, dtype=bool)
    out = np.zeros(len(total), dtype=np.int64)
    if order is None:
        index = np.flatnonzero(eligible)
        order = index[np.argsort(-total[index])]  # equal totals share a band: their order does not matter
    else:
        order = order[eligible[order]]
    descending = total[order]
    ascending_negated = -descending
    start, band = 0, 1
    while start < len(order):
        end = int(np.searchsorted(ascending_negated, -(descending[start] - width), side="right"))
        out[order[start:end]] = band
        start, band = end, band + 1
    return out


def secondary_values(columns: dict[str, np.ndarray], criterion: str) -> np.ndarray:
    """The value a secondary criterion orders by (higher first; unknown counts lowest)."""
    if criterion == "availability":
        return columns["availability_signal"].astype(float)
    if criterion == "use":
        return columns["use_order"].astype(float)
    values = np.asarray(columns[criterion], dtype=float)
    return np.where(np.isfinite(values), values, -np.inf)


def rank(columns: dict[str, np.ndarray], ids: pd.Series, profile: Profile) -> np.ndarray:
    """Rank 1..k of the locations not excluded: by band, then the profile's secondary criteria, then id. Excluded: 0."""
    excluded = np.asarray(columns["excluded"], dtype=bool)
    keys = {"band": np.asarray(columns["band"])}
    for criterion in profile.ranking.secondary:
        keys[criterion] = -secondary_values(columns, criterion)
    keys["id"] = ids.to_numpy()
    order = pd.DataFrame(keys)[~excluded].sort_values(list(keys), kind="mergesort")
    ranks = np.zeros(len(excluded), dtype=np.int64)
    ranks[order.index.to_numpy()] = np.arange(1, len(order) + 1)
    return ranks


def spread(frame: pd.DataFrame, per: str, most: int) -> pd.DataFrame:
    """The ranked candidates (``rank`` > 0, in rank order) keeping at most ``most`` per buurt or wijk (``per``).
    Candidates whose area is unknown are kept (each is its own area) and counted in ``frame.attrs["unspread"]``."""
    if per not in SPREAD_LEVELS:
        raise InputError(f"spread per {per!r}: choose one of {', '.join(SPREAD_LEVELS)}")
    if isinstance(most, bool) or not isinstance(most, int | np.integer) or most < 1:
        raise InputError(f"at most {most!r} per {per}: give a whole number of at least 1")
    ranked = frame[frame["rank"] > 0].sort_values("rank")
    code = ranked[f"{per}_code"]
    known = code.notna().to_numpy()
    within = ranked.groupby(code.where(code.notna(), ranked["id"]), sort=False).cumcount().to_numpy()
    out = ranked[within < most]
    out.attrs["unspread"] = int((~known).sum())
    out.attrs["spread"] = {"per": per, "most": int(most)}
    return out
