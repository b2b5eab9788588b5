"""Raw measures for many locations at once: nearest service per category, counts, areas.

The fast path (:func:`measure`) is vectorised (KD-tree per category, STRtree point-in-polygon);
:mod:`geo.score.reference` computes the same measures in plain PostGIS SQL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

from geo.score.data import FEW_POINTS, ScoringData

RADII = (500, 1000)


@dataclass
class Measures:
    """Columnar raw measures for N locations (all arrays of length N)."""

    xy: np.ndarray
    area_index: dict[str, np.ndarray]  # level -> index into data.areas[level] (-1 = none)
    distance: dict[str, np.ndarray]  # category -> metres to the nearest point (inf = no points at all)
    nearest: dict[str, np.ndarray]  # category -> index into the layer (-1 = none)
    within: dict[tuple[str, int], np.ndarray]  # (category, radius) -> count

    def __len__(self) -> int:
        return len(self.xy)

    def subset(self, keep: np.ndarray) -> Measures:
        return Measures(
            self.xy[keep],
            {k: v[keep] for k, v in self.area_index.items()},
            {k: v[keep] for k, v in self.distance.items()},
            {k: v[keep] for k, v in self.nearest.items()},
            {k: v[keep] for k, v in self.within.items()},
        )


def measure(data: ScoringData, xy: np.ndarray, categories: list[str] | None = None) -> Measures:
    """Measure every location in ``xy`` (N x 2, EPSG:28992 metres)."""
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    points = shapely.points(xy)
    if len(points) < FEW_POINTS:
        area_index = {level: layer.locate(points) for level, layer in data.areas.items()}
    else:  # shapely releases the GIL: the levels run side by side
        with ThreadPoolExecutor(max_workers=len(data.areas)) as pool:
            located = {level: pool.submit(layer.locate, points) for level, layer in data.areas.items()}
            area_index = {level: job.result() for level, job in located.items()}
    distance, nearest, within = {}, {}, {}
    for category in categories if categories is not None else sorted(data.services):
        layer = data.services.get(category)
        if layer is None or layer.tree is None:
            distance[category] = np.full(len(xy), np.inf)
            nearest[category] = np.full(len(xy), -1)
            for radius in RADII:
                within[(category, radius)] = np.zeros(len(xy), dtype=np.int64)
            continue
        dist, idx, counts = _nearest_and_counts(layer.tree, xy)
        distance[category], nearest[category] = dist, idx
        for radius in RADII:
            within[(category, radius)] = counts[radius]
    return Measures(xy, area_index, distance, nearest, within)


def _nearest_and_counts(tree, xy: np.ndarray, k: int = 4) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Nearest point (distance, index) and counts within every radius of :data:`RADII`, in one pass.

    One k-nearest query bounded by the largest radius answers most locations; those with nothing that
    close get an unbounded nearest query, and those with all ``k`` neighbours inside a radius are
    counted exactly with a ball query.
    """
    largest = max(RADII)
    k = min(k, tree.n)
    workers = _workers(len(xy))
    dist, idx = tree.query(xy, k=k, distance_upper_bound=largest, workers=workers)
    dist, idx = dist.reshape(len(xy), k), idx.reshape(len(xy), k)
    nearest_distance, nearest_index = dist[:, 0].copy(), idx[:, 0].copy()
    far = np.flatnonzero(~np.isfinite(nearest_distance))
    if len(far):
        nearest_distance[far], nearest_index[far] = tree.query(xy[far], k=1, workers=_workers(len(far)))
    counts = {}
    for radius in RADII:
        counts[radius] = (dist <= radius).sum(axis=1).astype(np.int64)
        crowded = np.flatnonzero(dist[:, -1] <= radius)
        if len(crowded):
            counts[radius][crowded] = tree.query_ball_point(
                xy[crowded], r=radius, return_length=True, workers=_workers(len(crowded))
            )
    return nearest_distance, nearest_index, counts


def _workers(n: int) -> int:
    """Threads for KD-tree queries: all cores for bulk work, one for a few points (no pool overhead)."""
    return -1 if n >= 10_000 else 1
