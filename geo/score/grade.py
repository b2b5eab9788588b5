"""From raw measures to components, total, flags and an explanation (shared by both measure paths)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.score.data import COVERAGE, ScoringData
from geo.score.measure import RADII, Measures
from geo.score.profile import LEVELS, Profile

EXCLUDING = {"capacity_outside_band", "floor_area_too_small", "outside_municipalities", "not_in_use"}
COMPLETE = COVERAGE.index("complete")
POINT_NOTE = "buildings are measured from a representative point inside the footprint (ST_PointOnSurface)"


class Flags:
    """Named boolean flags for N locations, kept as masks (fast), turned into sorted name lists once."""

    def __init__(self, n: int):
        self.n = n
        self.masks: dict[str, np.ndarray] = {}

    def add(self, name: str, mask: np.ndarray) -> None:
        mask = np.asarray(mask, dtype=bool)
        self.masks[name] = self.masks[name] | mask if name in self.masks else mask.copy()

    def any_of(self, names: set[str]) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for name in names & self.masks.keys():
            out |= self.masks[name]
        return out

    def as_lists(self) -> np.ndarray:
        """An object array of sorted tuples of flag names (rows with the same flags share one tuple)."""
        names = sorted(name for name, mask in self.masks.items() if mask.any())
        if not names:
            patterns, inverse = [()], np.zeros(self.n, dtype=np.int64)
        else:
            # One integer per row (a bit per flag, in chunks of 63 flags), then the distinct patterns.
            keys = np.zeros((self.n, (len(names) + 62) // 63), dtype=np.int64)
            for j, name in enumerate(names):
                keys[:, j // 63] |= self.masks[name].astype(np.int64) << (j % 63)
            if keys.shape[1] == 1:  # hashing (factorize) beats sorting (unique) for a few patterns
                inverse, unique = pd.factorize(keys[:, 0], sort=True)
                unique = unique[:, None]
            else:
                unique, inverse = np.unique(keys, axis=0, return_inverse=True)
            patterns = [tuple(name for j, name in enumerate(names) if (row[j // 63] >> (j % 63)) & 1) for row in unique]
        table = np.empty(len(patterns), dtype=object)
        for k, pattern in enumerate(patterns):
            table[k] = pattern
        return table[np.asarray(inverse).ravel()]


def take(values: np.ndarray, index: np.ndarray, missing) -> np.ndarray:
    """``values[index]``, with ``missing`` where ``index`` is -1."""
    return np.append(values, np.array([missing], dtype=values.dtype if missing is not None else object))[index]


def ramp(value: np.ndarray, full: float, zero: float) -> np.ndarray:
    """1 up to ``full``, 0 from ``zero``, linear between (``full`` < ``zero``); NaN stays NaN."""
    out = np.subtract(zero, value)
    out /= zero - full
    return np.clip(out, 0.0, 1.0, out=out)


@dataclass
class Graded:
    """Columnar scores for N locations: ``columns`` (numpy arrays), ``frame`` (a DataFrame, made on demand)."""

    columns: dict[str, np.ndarray]
    measures: Measures
    profile: Profile
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = pd.DataFrame(self.columns)
        return self._frame

    def row(self, i: int) -> dict:
        """Location ``i`` as a plain dict (cheap, unlike a pandas row of a wide frame)."""
        return {name: values[i] for name, values in self.columns.items()}


def grade(
    data: ScoringData,
    measures: Measures,
    capacity: np.ndarray,
    profile: Profile,
    floor_area: np.ndarray | None = None,
    extra_flags: dict[str, np.ndarray] | None = None,
) -> Graded:
    """Components, total and flags of N measured locations.

    ``floor_area`` is a floor area given beside the capacity (a proposal, ``POST /score``): ``floor_area_too_small``
    fires when it holds fewer than capacity x m2 per place. Candidate buildings, whose capacity is derived from
    their floor area, pass none (their flags come from :func:`geo.score.candidates.capacity_flags`)."""
    n = len(measures)
    capacity = np.asarray(capacity, dtype="float64")
    flags = Flags(n)
    for name, mask in (extra_flags or {}).items():
        flags.add(name, mask)
    columns: dict[str, np.ndarray] = {"capacity": capacity}

    # --- where: municipality and province ------------------------------------------------------------------------
    mun_idx = measures.area_index["municipality"]
    found = mun_idx >= 0
    by_municipality = data.per_municipality()

    def per_point(values: np.ndarray, missing):
        """A per-municipality array read at each location's municipality (``missing`` outside)."""
        return take(values, mun_idx, missing)

    columns["municipality_code"] = per_point(data.areas["municipality"].codes, None)

    columns["province_code"] = per_point(by_municipality["province_code"], None)
    flags.add("outside_municipalities", ~found)

    # --- proportional fit --------------------------------------------------------------------------------------
    f = data.reference_share
    level_fits = []
    for level in LEVELS:
        layer, idx = data.areas[level], measures.area_index[level]
        found = idx >= 0
        population = take(layer.population, idx, np.nan)
        existing = take(layer.existing, idx, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = (existing + capacity) / population
        usable = found & np.isfinite(population) & (population >= max(profile.min_population, 1))
        rule = profile.levels[level]
        fit = np.where(usable, ramp(share, rule.good * f, rule.too_much * f), np.nan)
        columns[f"{level}_code"] = take(layer.codes, idx, None)
        columns[f"{level}_population"] = population
        columns[f"{level}_existing"] = existing
        columns[f"{level}_share"] = np.where(usable, share, np.nan)
        columns[f"{level}_allowed"] = np.broadcast_to(rule.good * f, n)  # one value for all
        columns[f"{level}_fit"] = fit
        level_fits.append(fit)
        flags.add(f"no_{level}_data", ~found)
        flags.add(f"no_population_{level}", found & ~usable)
    stacked = np.vstack(level_fits)
    has_fit = np.isfinite(stacked).any(axis=0)
    prop = np.where(has_fit, np.nanmin(np.where(np.isfinite(stacked), stacked, np.inf), axis=0), 0.0)
    flags.add("no_population_data", ~has_fit)
    columns["proportional_fit"] = prop

    # --- proximity ---------------------------------------------------------------------------------------------
    weighted, weights = np.zeros(n), np.zeros(n)
    for category, rule in profile.categories.items():
        distance = measures.distance.get(category, np.full(n, np.inf))
        layer = data.services.get(category)
        # Coverage decides what a distance means: where the layer is complete, the nearest point is a measurement;
        # elsewhere it is an upper bound, used when it beats the CBS estimate (or, with none, when it says
        # anything: below too_far), never a far "measurement" beside a near estimate.
        complete = per_point(data.coverage(category), 0) == COMPLETE
        found = np.isfinite(distance)
        if profile.use_cbs_estimate:
            estimate_all = per_point(data.cbs_estimate_m(category), np.nan)
        else:
            estimate_all = np.full(n, np.nan)
        measured = complete & found
        with np.errstate(invalid="ignore"):
            bound = (
                ~complete
                & found
                & ((distance < estimate_all) | (~np.isfinite(estimate_all) & (distance < rule.too_far)))
            )
        known = measured | bound
        estimate = np.where(known, np.nan, estimate_all)
        used = np.where(known, distance, estimate)  # finite or NaN
        available = np.isfinite(used)
        score = ramp(used, rule.good, rule.too_far)  # NaN where not available
        columns[f"{category}_distance"] = np.where(known, distance, np.nan)
        columns[f"{category}_bound"] = bound
        columns[f"{category}_estimate"] = estimate
        columns[f"{category}_score"] = score
        nearest = np.where(known, measures.nearest.get(category, -1), -1)
        names, ids = (layer.names, layer.ids) if layer is not None else (np.array([], object), np.array([], np.int64))
        columns[f"{category}_nearest"] = take(names, nearest, None)
        columns[f"{category}_nearest_id"] = take(ids, nearest, -1)
        for radius in RADII:
            counts = measures.within.get((category, radius))
            columns[f"{category}_n{radius}"] = counts if counts is not None else np.zeros(n, dtype=np.int64)
        if rule.weight > 0:
            np.add(weighted, score * rule.weight, out=weighted, where=available)
            np.add(weights, rule.weight, out=weights, where=available)
            flags.add(f"missing_{category}", ~available)
            flags.add(f"estimated_{category}", ~known & available)
            flags.add(f"upper_bound_{category}", bound)
    proximity = np.where(weights > 0, weighted / np.where(weights > 0, weights, 1), 0.0)
    flags.add("no_service_data", weights == 0)
    columns["proximity"] = proximity

    # --- task contribution -------------------------------------------------------------------------------------
    for level in ("municipality", "province"):
        columns[f"{level}_gap"] = per_point(by_municipality[f"{level}_gap"].astype(float), np.nan)
        columns[f"{level}_required"] = per_point(by_municipality[f"{level}_required"].astype(float), np.nan)
        columns[f"{level}_task_basis"] = per_point(by_municipality[f"{level}_required_basis"], None)
    gap = columns["municipality_gap"]
    closes = np.where(np.isfinite(gap), np.minimum(capacity, np.maximum(gap, 0.0)), np.nan)
    columns["closes_places"] = closes
    task = np.where(np.isfinite(closes) & (capacity > 0), closes / np.where(capacity > 0, capacity, 1), 0.0)
    flags.add("no_task_data", ~np.isfinite(gap))
    columns["task_contribution"] = task

    # --- rules ---------------------------------------------------------------------------------------------------
    outside_band = (capacity < profile.min_places) | (capacity > profile.max_places)
    flags.add("capacity_outside_band", outside_band)
    if floor_area is not None:
        floor_area = np.asarray(floor_area, dtype="float64")
        too_small = np.isfinite(floor_area) & (floor_area < capacity * profile.m2_per_place)
        flags.add("floor_area_too_small", too_small)
        columns["floor_area"] = floor_area

    # --- distance kinds (network measurement, geo.score.network) -------------------------------------------------
    columns.update(measures.extra)
    for name, mask in measures.flags.items():
        flags.add(name, mask)

    # --- total ---------------------------------------------------------------------------------------------------
    w = profile.weights
    total = (w["proportional_fit"] * prop + w["proximity"] * proximity + w["task_contribution"] * task) / sum(
        w.values()
    )
    columns["total"] = total
    columns["excluded"] = flags.any_of(EXCLUDING)
    columns["flags"] = flags.as_lists()
    return Graded(columns, measures, profile)


def rank(frame: pd.DataFrame, ids: pd.Series) -> np.ndarray:
    """Rank 1..k by total (descending) among locations not excluded; ties broken by id. Excluded: 0."""
    order = pd.DataFrame(
        {"total": -frame["total"].to_numpy(), "id": ids.to_numpy(), "excluded": frame["excluded"].to_numpy()}
    )
    order = order[~order["excluded"]].sort_values(["total", "id"], kind="mergesort")
    ranks = np.zeros(len(frame), dtype=np.int64)
    ranks[order.index.to_numpy()] = np.arange(1, len(order) + 1)
    return ranks
