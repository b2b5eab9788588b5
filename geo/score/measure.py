"""Raw measures for many locations at once: nearest service per category, counts, areas.

The fast path (:func:`measure`) is vectorised (KD-tree per category, STRtree point-in-polygon);
:mod:`geo.score.reference` computes the same measures in plain PostGIS SQL.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from geo.score.data import FEW_POINTS, ScoringData, in_netherlands
from geo.score.zorder import z_order

RADII = (500, 1000)
# From this many locations on, they are measured in spatial order (see :func:`measure`).
SORT_FROM = 10_000


@dataclass
class Measures:
    """Columnar raw measures for N locations (all arrays of length N)."""

    xy: np.ndarray
    area_index: dict[str, np.ndarray]  # level -> index into data.areas[level] (-1 = none)
    distance: dict[str, np.ndarray]  # category -> metres to the nearest point (inf = no points at all)
    nearest: dict[str, np.ndarray]  # category -> index into the layer (-1 = none)
    within: dict[tuple[str, int], np.ndarray]  # (category, radius) -> count
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # further columns (network kinds, snaps)
    flags: dict[str, np.ndarray] = field(default_factory=dict)  # flag name -> mask

    def __len__(self) -> int:
        return len(self.xy)

    def subset(self, keep: np.ndarray) -> Measures:
        return Measures(
            self.xy[keep],
            {k: v[keep] for k, v in self.area_index.items()},
            {k: v[keep] for k, v in self.distance.items()},
            {k: v[keep] for k, v in self.nearest.items()},
            {k: v[keep] for k, v in self.within.items()},
            {k: v[keep] for k, v in self.extra.items()},
            {k: v[keep] for k, v in self.flags.items()},
        )


def measure(
    data: ScoringData, xy: np.ndarray, categories: list[str] | None = None, timings: dict[str, float] | None = None
) -> Measures:
    """Measure every location in ``xy`` (N x 2, EPSG:28992 metres) by straight line; walking distances are laid
    over these by :func:`geo.score.network.measure_with_network`.

    Many locations are measured in spatial (Z-curve) order, so that neighbouring queries touch the same
    tree nodes and polygons, and the results are put back in the order given. ``timings``, if given, receives
    the seconds of each step (for benchmarks): ``z_order``, ``areas_and_services`` (areas located and service
    trees queried side by side), ``in_netherlands``, ``unsort``."""
    timings = {} if timings is None else timings
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    if len(xy) < SORT_FROM:
        return _measure(data, xy, categories, timings=timings)
    started = time.perf_counter()
    order = z_order(xy)
    ordered = np.ascontiguousarray(xy[order])
    timings["z_order"] = time.perf_counter() - started
    measures = _measure(data, ordered, categories, in_spatial_order=True, timings=timings)
    started = time.perf_counter()
    measures = _unsort(measures, order, xy)
    timings["unsort"] = time.perf_counter() - started
    return measures


def _unsort(measures: Measures, order: np.ndarray, xy: np.ndarray) -> Measures:
    """``measures`` taken in ``order``, put back in the original order."""

    def back(values: np.ndarray) -> np.ndarray:
        out = np.empty_like(values)
        out[order] = values
        return out

    return Measures(
        xy,
        {k: back(v) for k, v in measures.area_index.items()},
        {k: back(v) for k, v in measures.distance.items()},
        {k: back(v) for k, v in measures.nearest.items()},
        {k: back(v) for k, v in measures.within.items()},
        {k: back(v) for k, v in measures.extra.items()},
        {k: back(v) for k, v in measures.flags.items()},
    )


def _measure(
    data: ScoringData,
    xy: np.ndarray,
    categories: list[str] | None,
    in_spatial_order: bool = False,
    timings: dict[str, float] | None = None,
) -> Measures:
    started = time.perf_counter()
    categories = categories if categories is not None else sorted(data.services)
    layers = {c: data.services.get(c) for c in categories}
    searchable = [c for c, layer in layers.items() if layer is not None and layer.tree is not None]
    if len(xy) < FEW_POINTS:
        area_index = {level: layer.locate(xy) for level, layer in data.areas.items()}
        searched = {c: _nearest_and_counts(layers[c].tree, xy) for c in searchable}
    else:  # shapely and the KD-tree release the GIL: areas and categories are measured side by side
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            located = {
                level: pool.submit(layer.locate, xy, in_spatial_order=in_spatial_order)
                for level, layer in data.areas.items()
            }
            queued = {c: pool.submit(_nearest_and_counts, layers[c].tree, xy, workers=1) for c in searchable}
            area_index = {level: job.result() for level, job in located.items()}
            searched = {c: job.result() for c, job in queued.items()}
    between = time.perf_counter()
    in_netherlands(area_index, xy, data.abroad)
    if timings is not None:
        timings["areas_and_services"] = between - started
        timings["in_netherlands"] = time.perf_counter() - between
    distance, nearest, within = {}, {}, {}
    for category in categories:
        if category in searched:
            distance[category], nearest[category], counts = searched[category]
        else:
            distance[category], nearest[category] = np.full(len(xy), np.inf), np.full(len(xy), -1)
            counts = {radius: np.zeros(len(xy), dtype=np.int64) for radius in RADII}
        for radius in RADII:
            within[(category, radius)] = counts[radius]
    return Measures(xy, area_index, distance, nearest, within)


def _nearest_and_counts(
    tree, xy: np.ndarray, k: int = 4, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Nearest point (distance, index) and counts within every radius of :data:`RADII`, in one pass.

    One k-nearest query bounded by the largest radius answers most locations; those with nothing that
    close get an unbounded nearest query, and those with all ``k`` neighbours inside a radius are
    counted exactly with a ball query.
    """
    largest = max(RADII)
    k = min(k, tree.n)
    workers = _workers(len(xy), workers)
    dist, idx = tree.query(xy, k=k, distance_upper_bound=largest, workers=workers)
    dist, idx = dist.reshape(len(xy), k), idx.reshape(len(xy), k)
    nearest_distance, nearest_index = dist[:, 0].copy(), idx[:, 0].copy()
    far = np.flatnonzero(~np.isfinite(nearest_distance))
    if len(far):
        nearest_distance[far], nearest_index[far] = tree.query(xy[far], k=1, workers=_workers(len(far), workers))
    counts = {}
    for radius in RADII:
        counts[radius] = (dist <= radius).sum(axis=1).astype(np.int64)
        crowded = np.flatnonzero(dist[:, -1] <= radius)
        if len(crowded):
            counts[radius][crowded] = tree.query_ball_point(
                xy[crowded], r=radius, return_length=True, workers=_workers(len(crowded), workers)
            )
    return nearest_distance, nearest_index, counts


def _workers(n: int, most: int | None = None) -> int:
    """Threads for KD-tree queries: all cores (or ``most``) for bulk work, one for a few points."""
    if n < 10_000:
        return 1
    return most if most is not None and most > 0 else -1
