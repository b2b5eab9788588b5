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
    tree nodes and polygons; each job puts its results back in the order given. ``timings``, if given, receives
    the seconds of each step (for benchmarks): ``z_order``, ``areas_and_services`` (areas located and service
    trees queried side by side, results put back in order), ``in_netherlands``."""
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    started = time.perf_counter()
    order = z_order(xy) if len(xy) >= SORT_FROM else None
    if timings is not None and order is not None:
        timings["z_order"] = time.perf_counter() - started
    return _measure(data, xy, categories, order, timings)


def _measure(
    data: ScoringData,
    xy: np.ndarray,
    categories: list[str] | None,
    order: np.ndarray | None = None,
    timings: dict[str, float] | None = None,
) -> Measures:
    """The measures of ``xy``; with ``order`` (a spatial order of ``xy``) the work is done in that order."""
    started = time.perf_counter()
    categories = categories if categories is not None else sorted(data.services)
    layers = {c: data.services.get(c) for c in categories}
    searchable = [c for c, layer in layers.items() if layer is not None and layer.tree is not None]
    if len(xy) < FEW_POINTS:
        area_index = {level: layer.locate(xy) for level, layer in data.areas.items()}
        searched = {c: _nearest_and_counts(layers[c].tree, xy) for c in searchable}
    else:  # shapely, the KD-tree and numpy's scatter release the GIL: areas and categories are measured side by side
        ordered = xy if order is None else np.ascontiguousarray(xy[order])

        def back(values: np.ndarray) -> np.ndarray:
            """Values of the points in ``order``, put back in the order given."""
            if order is None:
                return values
            out = np.empty_like(values)
            out[order] = values
            return out

        def locate(layer) -> np.ndarray:
            return back(layer.locate(ordered, in_spatial_order=order is not None))

        def search(tree) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
            distance, nearest, counts = _nearest_and_counts(tree, ordered, workers=1)
            return back(distance), back(nearest), {radius: back(c) for radius, c in counts.items()}

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            located = {level: pool.submit(locate, layer) for level, layer in data.areas.items()}
            queued = {c: pool.submit(search, layers[c].tree) for c in searchable}
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
        counts[radius] = (dist[:, 0] <= radius).astype(np.int64)
        for j in range(1, k):  # column by column: several times faster than a sum along the short axis
            counts[radius] += dist[:, j] <= radius
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
