"""Raw measures for many locations at once: nearest service per category, counts, areas.

The fast path (:func:`measure`) is vectorised (KD-tree per category, STRtree point-in-polygon);
:mod:`geo.score.reference` computes the same measures in plain PostGIS SQL.
"""

from __future__ import annotations

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
    tree = shapely.STRtree(points) if len(points) >= FEW_POINTS else None
    area_index = {level: layer.locate(points, tree) for level, layer in data.areas.items()}
    distance, nearest, within = {}, {}, {}
    for category in categories if categories is not None else sorted(data.services):
        layer = data.services.get(category)
        if layer is None or layer.tree is None:
            distance[category] = np.full(len(xy), np.inf)
            nearest[category] = np.full(len(xy), -1)
            for radius in RADII:
                within[(category, radius)] = np.zeros(len(xy), dtype=np.int64)
            continue
        dist, idx = layer.tree.query(xy, k=1, workers=_workers(len(xy)))
        distance[category], nearest[category] = dist, idx
        for radius in RADII:
            within[(category, radius)] = _count_within(layer.tree, xy, radius, dist)
    return Measures(xy, area_index, distance, nearest, within)


def _count_within(tree, xy: np.ndarray, radius: float, nearest: np.ndarray) -> np.ndarray:
    """Points within ``radius`` (inclusive); only locations with a point that close are queried."""
    counts = np.zeros(len(xy), dtype=np.int64)
    close = nearest <= radius
    if close.any():
        counts[close] = tree.query_ball_point(xy[close], r=radius, return_length=True, workers=_workers(len(xy)))
    return counts


def _workers(n: int) -> int:
    """Threads for KD-tree queries: all cores for bulk work, one for a few points (no pool overhead)."""
    return -1 if n >= 10_000 else 1
