"""From raw measures to components, total and flags (shared by both measure paths: numpy and the SQL reference).

:func:`grade` runs one step per component; :func:`rank` orders the eligible locations.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.domain import LEVELS
from geo.score.data import COVERAGE, ScoringData
from geo.score.measure import RADII, Measures
from geo.score.profile import Profile
from geo.score.ranking import bands
from geo.score.size import size_fit, task_credit, task_reference
from geo.score.use import accepted_share

EXCLUDING = {
    "capacity_outside_band",
    "floor_area_too_small",
    "floor_area_outside_band",
    "use_not_accepted",
    "outside_municipalities",
    "not_in_use",
}
USE_STATES = ("not_accepted", "unknown", "suitable")
"""A location's use state; its index is the order inside the ranking (suitable first, then unknown)."""
AVAILABILITY_FLAGS = ("building_out_of_use", "under_conversion", "units_out_of_use")
"""BAG signals of vacancy or conversion: shown, and a secondary criterion that can raise a candidate in its band."""
COMPLETE = COVERAGE.index("complete")
PARALLEL_FROM = 10_000
"""From this many locations on, the service categories are scored side by side (threads)."""
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
    return np.take(np.append(values, np.array([missing], dtype=values.dtype if missing is not None else object)), index)


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


@dataclass
class _Grading:
    """What every component step reads (the data, the measures, capacity and profile) and writes (columns, flags)."""

    data: ScoringData
    measures: Measures
    capacity: np.ndarray
    profile: Profile
    columns: dict[str, np.ndarray]
    flags: Flags
    building: pd.DataFrame | None = None
    floor_area: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.measures)

    def per_point(self, values: np.ndarray, missing) -> np.ndarray:
        """A per-municipality array read at each location's municipality (``missing`` outside)."""
        return take(values, self.measures.area_index["municipality"], missing)


def grade(
    data: ScoringData,
    measures: Measures,
    capacity: np.ndarray,
    profile: Profile,
    floor_area: np.ndarray | None = None,
    extra_flags: dict[str, np.ndarray] | None = None,
    building: pd.DataFrame | None = None,
    timings: dict[str, float] | None = None,
) -> Graded:
    """Score N measured locations with ``profile``: each component, the rules, the total and the flags.

    Parameters
    ----------
    data : the scoring data the locations were measured against (areas, services, task figures).
    measures : what :func:`geo.score.measure.measure` (or the SQL reference) found for each location.
    capacity : places per location (N).
    profile : weights and thresholds of a target group.
    floor_area : a floor area given beside the capacity (a proposal, ``POST /score``): ``floor_area_too_small``
        fires when it holds fewer than capacity x m2 per place. Candidate buildings, whose capacity is derived from
        their floor area, pass none (their flags come from :func:`geo.score.candidates.capacity_flags`).
    extra_flags : further named masks (N) added to the flags (e.g. ``not_in_use``).
    building : what BAG says of each candidate building (N rows): ``floor_area`` (usable, or footprint x storeys),
        ``units``, the use shares of :func:`geo.score.use.building_use`, ``units_out_of_use`` and the pand
        ``status``. Without it (a proposal) the use is unknown and no availability signal is read.
    timings : if given, the seconds each step took are written into it (by step name; for benchmarks).

    The steps, in order: where each location lies (:func:`_where`), :func:`_proportional_fit`,
    :func:`_proximity`, :func:`_task_contribution`, :func:`_size_fit`, :func:`_use`, :func:`_availability`, the
    exclusion :func:`_rules`, the network measurement's columns (:func:`_distance_kinds`), then the weighted
    :func:`_total`, the score bands (:func:`_bands`) and the flag lists (:data:`STEPS`).
    Each adds its columns (raw measures beside scores, so every number can be explained) and its flags.
    """
    capacity = np.asarray(capacity, dtype="float64")
    flags = Flags(len(measures))
    for name, mask in (extra_flags or {}).items():
        flags.add(name, mask)
    g = _Grading(data, measures, capacity, profile, {"capacity": capacity}, flags, building, floor_area)
    for step in STEPS:
        started = time.perf_counter()
        step(g)
        if timings is not None:
            timings[step.__name__.lstrip("_")] = time.perf_counter() - started
    return Graded(g.columns, measures, profile)


def _total(g: _Grading) -> None:
    """The weighted total of the four components, and whether an excluding flag fired."""
    columns, w = g.columns, g.profile.weights
    columns["total"] = (
        w["proportional_fit"] * columns["proportional_fit"]
        + w["proximity"] * columns["proximity"]
        + w["task_contribution"] * columns["task_contribution"]
        + w["size_fit"] * columns["size_fit"]
    ) / sum(w.values())
    columns["excluded"] = g.flags.any_of(EXCLUDING)


def _flag_lists(g: _Grading) -> None:
    """Every location's flags as a sorted tuple of names."""
    g.columns["flags"] = g.flags.as_lists()


def _where(g: _Grading) -> None:
    """The municipality and province of each location; a location in no municipality is flagged (and excluded)."""
    by_municipality = g.data.per_municipality()
    g.columns["municipality_code"] = g.per_point(g.data.areas["municipality"].codes, None)
    g.columns["province_code"] = g.per_point(by_municipality["province_code"], None)
    g.flags.add("outside_municipalities", ~(g.measures.area_index["municipality"] >= 0))


def _proportional_fit(g: _Grading) -> None:
    """Per level, the share of reception places (existing + this capacity) in the population, against the
    profile's good / too-much multiples of the national reference share; the component is the weakest level."""
    data, profile, capacity, columns, n = g.data, g.profile, g.capacity, g.columns, g.n
    f = data.reference_share
    level_fits = []
    for level in LEVELS:
        layer, idx = data.areas[level], g.measures.area_index[level]
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
        g.flags.add(f"no_{level}_data", ~found)
        g.flags.add(f"no_population_{level}", found & ~usable)
    weakest = np.full(n, np.inf)
    for fit in level_fits:  # fits are NaN (no data) or in 0..1; fmin skips NaN
        np.fmin(weakest, fit, out=weakest)
    has_fit = weakest <= 1.0
    g.flags.add("no_population_data", ~has_fit)
    columns["proportional_fit"] = np.where(has_fit, weakest, 0.0)


def _proximity(g: _Grading) -> None:
    """Per service category, the distance to the nearest point scored good .. too far: a measurement where the
    layer is complete, an upper bound (flagged) where it is partial and beats the CBS estimate, else the CBS
    estimate (flagged); the component is the weighted mean over the categories that have a value.

    The categories are scored side by side (:func:`_category_proximity`, numpy releases the GIL) for many locations,
    then summed in the profile's order, so that the totals are the same to the last bit."""
    profile, columns, n = g.profile, g.columns, g.n
    items = list(profile.categories.items())
    if n >= PARALLEL_FROM and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1)) as pool:
            results = list(pool.map(lambda item: _category_proximity(g, *item), items))
    else:
        results = [_category_proximity(g, *item) for item in items]
    weighted, weights = np.zeros(n), np.zeros(n)
    on_measured, on_bound = np.zeros(n), np.zeros(n)
    for (category, rule), (category_columns, known, bound, available, score) in zip(items, results, strict=True):
        columns.update(category_columns)
        if rule.weight > 0:
            # An estimate weighs less than a measurement: its weight times the profile's estimate_weight.
            weight = np.where(known, rule.weight, rule.weight * profile.estimate_weight)
            np.add(weighted, score * weight, out=weighted, where=available)
            np.add(weights, weight, out=weights, where=available)
            np.add(on_measured, rule.weight, out=on_measured, where=known)  # the weight where known
            np.add(on_bound, rule.weight, out=on_bound, where=bound)
            g.flags.add(f"missing_{category}", ~available)
            g.flags.add(f"estimated_{category}", ~known & available)
            g.flags.add(f"upper_bound_{category}", bound)
    g.flags.add("no_service_data", weights == 0)
    columns["proximity"] = np.where(weights > 0, weighted / np.where(weights > 0, weights, 1), 0.0)
    # The share of the (effective) proximity weight resting on measurements: distances to loaded points (where the
    # layer is complete, or upper bounds where it is not; the latter also given apart); the rest on CBS estimates.
    with np.errstate(invalid="ignore", divide="ignore"):
        has = weights > 0
        denominator = np.where(has, weights, 1.0)
        columns["measured_share"] = np.where(has, on_measured / denominator, np.nan)
        columns["upper_bound_share"] = np.where(has, on_bound / denominator, np.nan)
        columns["estimated_share"] = np.where(has, 1.0 - on_measured / denominator, np.nan)


def _category_proximity(g: _Grading, category: str, rule) -> tuple[dict[str, np.ndarray], ...]:
    """One category's columns (distance, bound, estimate, score, nearest, counts) and its masks ``known`` (measured
    or bound), ``bound``, ``available`` (known or estimated) and its ``score`` (reads ``g``, changes nothing)."""
    data, profile, measures, n = g.data, g.profile, g.measures, g.n
    distance = measures.distance.get(category)
    distance = np.full(n, np.inf) if distance is None else distance
    layer = data.services.get(category)
    # Coverage decides what a distance means: where the layer is complete, the nearest point is a measurement;
    # elsewhere it is an upper bound, used when it beats the CBS estimate (or, with none, when it says
    # anything: below too_far), never a far "measurement" beside a near estimate.
    complete = g.per_point(data.coverage(category), 0) == COMPLETE
    found = np.isfinite(distance)
    if profile.use_cbs_estimate:
        estimate_all = g.per_point(data.cbs_estimate_m(category), np.nan)
    else:
        estimate_all = np.full(n, np.nan)
    measured = complete & found
    has_estimate = np.isfinite(estimate_all)
    with np.errstate(invalid="ignore"):
        bound = ~complete & found & ((distance < estimate_all) | (~has_estimate & (distance < rule.too_far)))
    known = measured | bound  # known distances are finite
    used = np.where(known, distance, estimate_all)  # finite or NaN
    score = ramp(used, rule.good, rule.too_far)  # NaN where not available
    columns = {
        f"{category}_distance": np.where(known, distance, np.nan),
        f"{category}_bound": bound,
        f"{category}_estimate": np.where(known, np.nan, estimate_all),
        f"{category}_score": score,
    }
    nearest = np.where(known, measures.nearest.get(category, -1), -1)
    names, ids = (layer.names, layer.ids) if layer is not None else (np.array([], object), np.array([], np.int64))
    columns[f"{category}_nearest"] = take(names, nearest, None)
    columns[f"{category}_nearest_id"] = take(ids, nearest, -1)
    for radius in RADII:
        counts = measures.within.get((category, radius))
        columns[f"{category}_n{radius}"] = counts if counts is not None else np.zeros(n, dtype=np.int64)
    return columns, known, bound, known | has_estimate, score


def _task_contribution(g: _Grading) -> None:
    """The absolute places of the municipality's open task (its gap) the capacity closes, relative to the gap or,
    where the gap is larger, to the profile's preferred size (:func:`geo.score.size.task_credit`); 0 without gap."""
    by_municipality, columns, capacity = g.data.per_municipality(), g.columns, g.capacity
    for level in ("municipality", "province"):
        columns[f"{level}_gap"] = g.per_point(by_municipality[f"{level}_gap"].astype(float), np.nan)
        columns[f"{level}_required"] = g.per_point(by_municipality[f"{level}_required"].astype(float), np.nan)
        columns[f"{level}_task_basis"] = g.per_point(by_municipality[f"{level}_required_basis"], None)
    gap = columns["municipality_gap"]
    closes = np.where(np.isfinite(gap), np.minimum(capacity, np.maximum(gap, 0.0)), np.nan)
    columns["closes_places"] = closes
    g.flags.add("no_task_data", ~np.isfinite(gap))
    columns["task_reference"] = task_reference(gap, g.profile)
    columns["task_contribution"] = task_credit(capacity, gap, g.profile)


def _size_fit(g: _Grading) -> None:
    """The profile's preference curve over capacity (:func:`geo.score.size.size_fit`): 1 inside the preferred band,
    lower for a location too small to staff well or large for small-scale; outside the band is flagged."""
    rule = g.profile.size
    g.columns["size_fit"] = size_fit(g.capacity, g.profile)
    g.flags.add("below_preferred_size", g.capacity < rule.low)
    g.flags.add("above_preferred_size", g.capacity > rule.high)


def _use(g: _Grading) -> None:
    """The use state from BAG verblijfsobjecten: ``suitable`` (at least the profile's share of floor area in uses it
    accepts), ``not_accepted`` (excluded) or ``unknown`` (no unit linked, or no building: shown, flagged, ranked after
    the suitable ones, never silently suitable)."""
    n, columns = g.n, g.columns
    if g.building is None or "units" not in g.building:
        share = np.full(n, np.nan)
    else:
        share = accepted_share(g.building, g.profile.use.accepted)
    known = np.isfinite(share)
    suitable = known & (share >= g.profile.use.min_share - 1e-12)
    state = np.where(suitable, 2, np.where(known, 0, 1))
    columns["accepted_use_share"] = share
    columns["use_order"] = state
    columns["use_state"] = np.asarray(USE_STATES, dtype=object)[state]
    g.flags.add("use_unknown", ~known)
    g.flags.add("use_not_accepted", known & ~suitable)


def _availability(g: _Grading) -> None:
    """BAG signals that a building may be free: pand out of use or being converted, units out of use (flags, and
    the secondary criterion ``availability``); a demolition permit is a flag of its own."""
    n = g.n
    if g.building is None:
        g.columns["availability_signal"] = np.zeros(n, dtype=bool)
        return
    from geo.score.candidates import AVAILABILITY, DEMOLITION

    # Plain objects: comparing them is several times faster than comparing a pandas string column (missing: False).
    status = np.full(n, None, object)
    if "status" in g.building:
        status = g.building["status"].to_numpy(object, na_value=None)
    units_out = g.building["units_out_of_use"].to_numpy() if "units_out_of_use" in g.building else np.zeros(n)
    for flag, value in AVAILABILITY.items():
        g.flags.add(flag, status == value)
    g.flags.add("units_out_of_use", np.nan_to_num(units_out.astype(float)) > 0)
    g.flags.add("demolition_permit", status == DEMOLITION)
    g.columns["availability_signal"] = g.flags.any_of(set(AVAILABILITY_FLAGS))


def _rules(g: _Grading) -> None:
    """The profile's small-scale limits (min..max places), m2 per place and floor-area band: a location that breaks
    one is flagged and excluded."""
    capacity, profile, floor_area = g.capacity, g.profile, g.floor_area
    g.flags.add("capacity_outside_band", (capacity < profile.min_places) | (capacity > profile.max_places))
    if g.building is not None and "floor_area" in g.building:
        area = g.building["floor_area"].to_numpy(dtype=float)
        band = profile.use
        with np.errstate(invalid="ignore"):
            g.flags.add("floor_area_outside_band", (area < band.floor_area_min) | (area > band.floor_area_max))
    if floor_area is not None:
        floor_area = np.asarray(floor_area, dtype="float64")
        g.flags.add("floor_area_too_small", np.isfinite(floor_area) & (floor_area < capacity * profile.m2_per_place))
        g.columns["floor_area"] = floor_area


def _distance_kinds(g: _Grading) -> None:
    """The network measurement's columns (kinds, snap distances) and flags (:mod:`geo.score.network`)."""
    g.columns.update(g.measures.extra)
    for name, mask in g.measures.flags.items():
        g.flags.add(name, mask)


def _bands(g: _Grading) -> None:
    """Score bands (:func:`geo.score.ranking.bands`) of the eligible locations, suitable uses first: bands of the
    candidates whose use is unknown follow those of the suitable ones."""
    eligible = ~g.columns["excluded"]
    total, order = g.columns["total"], g.columns["use_order"]
    band = np.zeros(g.n, dtype=np.int64)
    offset = 0
    index = np.flatnonzero(eligible)
    # Sorted once for both use states. Bands depend on the totals only, not on the order of equal totals, so the
    # faster unstable sort gives the same bands.
    by_total = index[np.argsort(-total[index])]
    for state in (2, 1):
        found = bands(total, eligible & (order == state), g.profile.ranking.band_width, by_total)
        band = np.where(found > 0, found + offset, band)
        offset = int(band.max(initial=0))  # no candidates (a municipality without BAG buildings): no bands
    g.columns["band"] = band


STEPS = (
    _where,
    _proportional_fit,
    _proximity,
    _task_contribution,
    _size_fit,
    _use,
    _availability,
    _rules,
    _distance_kinds,
    _total,
    _bands,
    _flag_lists,
)
"""The steps of :func:`grade`, in order; each reads what the earlier ones wrote."""


def rank(frame: pd.DataFrame, ids: pd.Series, profile: Profile | None = None) -> np.ndarray:
    """Rank 1..k among locations not excluded: by score band, then the profile's secondary criteria
    (:func:`geo.score.ranking.rank`), then id; without a profile or bands by total (descending), then id. Excluded: 0.
    """
    from geo.score.ranking import rank as rank_in_bands

    if profile is not None and "band" in frame:
        return rank_in_bands({c: frame[c].to_numpy() for c in frame.columns}, ids, profile)
    order = pd.DataFrame(
        {"total": -frame["total"].to_numpy(), "id": ids.to_numpy(), "excluded": frame["excluded"].to_numpy()}
    )
    order = order[~order["excluded"]].sort_values(["total", "id"], kind="mergesort")
    ranks = np.zeros(len(frame), dtype=np.int64)
    ranks[order.index.to_numpy()] = np.arange(1, len(order) + 1)
    return ranks
